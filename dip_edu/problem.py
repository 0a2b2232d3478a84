"""A restoration problem: the observation x̂, the forward operator A, the mask m and, when known, the clean image.

Every task is the same fit, argmin_θ ‖(A(f_θ(z)) − x̂)·m‖²; only these four things differ between tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .errors import require


def lanczos_kernel(factor: int, support: int = 2) -> np.ndarray:
    """1-D Lanczos-`support` taps for downsampling by `factor`, centred between pixels, summing to one."""
    n = 2 * support * factor
    t = (np.arange(n) - (n - 1) / 2) / factor
    taps = np.sinc(t) * np.sinc(t / support)
    return (taps / taps.sum()).astype(np.float32)


class Lanczos(torch.nn.Module):
    """The fixed super-resolution operator d: a separable Lanczos-2 filter, then every `factor`-th pixel."""

    def __init__(self, factor: int, channels: int) -> None:
        super().__init__()
        taps = torch.from_numpy(lanczos_kernel(factor))
        kernel = torch.outer(taps, taps).expand(channels, 1, -1, -1).contiguous()
        self.register_buffer("kernel", kernel)
        self.factor = factor
        self.pad = 3 * factor // 2  # keeps output side = input side / factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (self.pad,) * 4, mode="replicate")
        return F.conv2d(x, self.kernel, stride=self.factor, groups=x.shape[1])


def lanczos_downsample(img: np.ndarray, factor: int) -> np.ndarray:
    """The operator d on an (H, W, C) array."""
    with torch.no_grad():
        t = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32))[None]
        return Lanczos(factor, img.shape[2])(t)[0].permute(1, 2, 0).numpy()


@dataclass
class Problem:
    """What the fit needs to know about a task, and what the views need to show it. The degradations make one.

    Parameters
    ----------
    task : str
        A task of the registry (`tasks.TASKS`).
    observation : np.ndarray
        x̂, float (H, W, C) in [0, 1]; low resolution for super-resolution.
    clean : np.ndarray, optional
        The ground truth, for PSNR; None for a user's already-degraded image.
    mask : np.ndarray, optional
        m, (H, W, 1), 1 where x̂ is known; None means every pixel is.
    factor : int
        The operator A: 1 is the identity, 2/4/8 the Lanczos downsampler.
    settings : dict
        The paper's optimisation settings for the task (lr, reg_noise_std, iters), used where a fit is given none.
    params : dict
        The degradation's own settings (σ, the text, the fraction), recorded with the run.
    """

    task: str
    observation: np.ndarray
    clean: np.ndarray | None = None
    mask: np.ndarray | None = None
    factor: int = 1
    settings: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        h, w = self.observation.shape[:2]
        if self.mask is not None:
            require(
                self.mask.shape[:2] == (h, w),
                f"mask {self.mask.shape[1]}x{self.mask.shape[0]}: the image is {w}x{h}; they must match",
            )
        if self.clean is not None:
            require(
                self.clean.shape == self.shape, f"clean image {self.clean.shape} does not match output {self.shape}"
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the image the network produces."""
        h, w, c = self.observation.shape
        return (h * self.factor, w * self.factor, c)

    def operator(self) -> torch.nn.Module:
        """A as a module: identity, or the Lanczos downsampler for super-resolution."""
        return Lanczos(self.factor, self.shape[2]) if self.factor > 1 else torch.nn.Identity()

    def apply(self, img: np.ndarray) -> np.ndarray:
        """A(img) on an (H, W, C) array: what the observation of `img` would be (before the mask)."""
        return lanczos_downsample(img, self.factor) if self.factor > 1 else img

    def preview(self) -> np.ndarray:
        """The observation at output size, for display: bicubic upsampling for super-resolution."""
        if self.factor == 1:
            return self.observation
        from skimage.transform import resize

        return resize(self.observation, self.shape, order=3).clip(0, 1).astype(np.float32)

    @property
    def psnr_input(self) -> float | None:
        """PSNR of the (previewed) observation against the clean image; None without one."""
        return self.score(self.preview())

    def score(self, img: np.ndarray) -> float | None:
        """PSNR of a restoration against the clean image by the task's protocol (Y channel, border cropped, for
        super-resolution: `tasks.Task.protocol`); None without a clean image."""
        if self.clean is None:
            return None
        from .tasks import get  # here, not at the top: the registry builds Problems, so it imports this module

        return get(self.task).score(img, self.clean, self.factor)

    def describe(self) -> str:
        """One line naming the task and its parameters."""
        params = ", ".join(f"{k}={v}" for k, v in self.params.items() if not isinstance(v, (list, np.ndarray)))
        h, w, _ = self.shape
        extra = "" if self.clean is not None else ", no ground truth"
        return f"{self.task} ({params}) at {w}x{h}{extra}"


def default_settings(task: str, factor: int = 1) -> dict:
    """The paper's optimisation settings for a task (Ulyanov et al. 2018, supplementary material), from the task
    registry (`tasks.Task.paper_settings`); DipError for a name that is not a task."""
    from .tasks import get  # here, not at the top: the registry builds Problems, so it imports this module

    return get(task).paper_settings(factor)


def masked_psnr(out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """PSNR (dB, peak 1) over known pixels, on the device, without a host copy."""
    diff = (out - target) ** 2
    if mask is None:
        mse = diff.mean()
    else:
        mse = (diff * mask).sum() / (mask.sum() * diff.shape[1]).clamp_min(1)
    return -10 * torch.log10(mse.clamp_min(1e-12))
