"""Classical restorations to compare Deep Image Prior with, from scikit-image, SciPy, Pillow and (optionally) bm3d.

Each method takes a `Problem` and returns an image at the output size; `for_task` names the methods that suit
a task (each task lists its own in the registry, `tasks.Task.classics`), and `compare` runs them and scores
each by the task's protocol (Y-channel PSNR for super-resolution).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import restoration

from . import tasks as registry
from .errors import DipError, require
from .problem import Problem


def _apply(fn: Callable[..., np.ndarray], img: np.ndarray, **kwargs) -> np.ndarray:
    """Run a scikit-image filter on an (H, W, C) image: colour with channel_axis, grey as a 2-D array."""
    if img.shape[2] == 1:
        out = np.asarray(fn(img[..., 0], **kwargs))[..., None]
    else:
        out = np.asarray(fn(img, channel_axis=-1, **kwargs))
    return np.clip(out, 0, 1).astype(np.float32)


def noise_sigma(img: np.ndarray) -> float:
    """scikit-image's wavelet estimate of the Gaussian noise level (0-1 scale), channels averaged."""
    if img.shape[2] == 1:
        return float(restoration.estimate_sigma(img[..., 0]))
    return float(restoration.estimate_sigma(img, average_sigmas=True, channel_axis=-1))


def tv(problem: Problem) -> np.ndarray:
    """Total-variation denoising (Chambolle), its weight set from the estimated noise level."""
    x = problem.observation
    return _apply(restoration.denoise_tv_chambolle, x, weight=noise_sigma(x))


def nl_means(problem: Problem) -> np.ndarray:
    """Non-local means with scikit-image's noise estimate (h = 0.8 σ̂, as its documentation suggests)."""
    x = problem.observation
    sigma = noise_sigma(x)
    return _apply(
        restoration.denoise_nl_means, x, h=0.8 * sigma, sigma=sigma, fast_mode=True, patch_size=5, patch_distance=6
    )


def wavelet(problem: Problem) -> np.ndarray:
    """Wavelet shrinkage (BayesShrink, soft thresholds; in YCbCr for colour)."""
    x = problem.observation
    colour = {"convert2ycbcr": True} if x.shape[2] == 3 else {}
    return _apply(restoration.denoise_wavelet, x, method="BayesShrink", mode="soft", rescale_sigma=True, **colour)


def bm3d(problem: Problem) -> np.ndarray:
    """BM3D (CBM3D for colour) from the `bm3d` package, given the true σ when known, else the estimate."""
    try:
        import bm3d as lib
    except ImportError as exc:
        raise DipError("BM3D needs the optional bm3d package: pip install 'dip-edu[classics]'") from exc
    x = problem.observation
    sigma = problem.params.get("sigma")
    sigma = sigma / 255 if sigma else noise_sigma(x)
    out = lib.bm3d_rgb(x, sigma) if x.shape[2] == 3 else lib.bm3d(x[..., 0], sigma)
    return np.clip(np.asarray(out).reshape(x.shape), 0, 1).astype(np.float32)


def biharmonic(problem: Problem) -> np.ndarray:
    """Fill the missing pixels by solving the biharmonic equation from the known ones (scikit-image)."""
    x, missing = problem.observation, problem.mask[..., 0] < 0.5
    return _apply(restoration.inpaint_biharmonic, x, mask=missing)


def nearest(problem: Problem) -> np.ndarray:
    """Fill each missing pixel with the nearest known one (SciPy's distance transform)."""
    x, missing = problem.observation, problem.mask[..., 0] < 0.5
    _, (rows, cols) = ndimage.distance_transform_edt(missing, return_indices=True)
    return x[rows, cols]


def _upsample(problem: Problem, method: int) -> np.ndarray:
    x = problem.observation
    h, w, c = problem.shape
    planes = [
        np.asarray(Image.fromarray(x[..., k].astype(np.float32), mode="F").resize((w, h), method)) for k in range(c)
    ]
    return np.clip(np.stack(planes, axis=2), 0, 1).astype(np.float32)


def bicubic(problem: Problem) -> np.ndarray:
    """Bicubic upsampling of the low-resolution observation (Pillow)."""
    return _upsample(problem, Image.Resampling.BICUBIC)


def lanczos(problem: Problem) -> np.ndarray:
    """Lanczos upsampling of the low-resolution observation (Pillow)."""
    return _upsample(problem, Image.Resampling.LANCZOS)


@dataclass(frozen=True)
class Method:
    """A classical method and whether it needs an optional package; the tasks name the methods they use."""

    name: str
    restore: Callable[[Problem], np.ndarray]
    optional: bool = False

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks this method applies to: those that list it among their classical methods."""
        return tuple(task.name for task in registry.TASKS.values() if self.name in task.classics)


METHODS = {
    m.name: m
    for m in (
        Method("TV (Chambolle)", tv),
        Method("non-local means", nl_means),
        Method("wavelet", wavelet),
        Method("BM3D", bm3d, optional=True),
        Method("biharmonic", biharmonic),
        Method("nearest pixel", nearest),
        Method("bicubic", bicubic),
        Method("Lanczos", lanczos),
    )
}


def available(method: Method) -> bool:
    """Whether a method can run here (an optional one needs its package)."""
    if not method.optional:
        return True
    try:
        import bm3d  # noqa: F401
    except ImportError:
        return False
    return True


def for_task(task: str) -> list[str]:
    """The names of the methods that suit `task` and can run here, in the task's order (DipError for a name that
    is not a task)."""
    return [name for name in registry.get(task).classics if available(METHODS[name])]


def restore(problem: Problem, name: str) -> np.ndarray:
    """Restore `problem` with the classical method `name`."""
    require(name in METHODS, f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    method = METHODS[name]
    require(
        problem.task in method.tasks, f"{name} does not apply to {problem.task}; use one of {for_task(problem.task)}"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return method.restore(problem)
        except ImportError as exc:  # a dependency missing from this install: say which, in one line
            raise DipError(f"{name} needs the {exc.name or 'missing'} package, which is not installed") from exc


@dataclass
class Result:
    """One classical restoration with its score and time."""

    name: str
    image: np.ndarray
    psnr: float | None
    ssim: float | None
    seconds: float


def compare(problem: Problem, names: list[str] | None = None) -> list[Result]:
    """Run the classical methods that suit the problem (or `names`) and score each against the clean image."""
    from . import metrics

    results = []
    for name in names or for_task(problem.task):
        start = time.perf_counter()
        img = restore(problem, name)
        seconds = time.perf_counter() - start
        ssim = None if problem.clean is None else metrics.ssim(img, problem.clean)
        results.append(Result(name, img, problem.score(img), ssim, seconds))
    return results
