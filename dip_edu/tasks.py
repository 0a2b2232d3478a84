"""The tasks, each defined once: its name, its label, how its Problem is made, the paper's settings, how it is
scored, the network the lessons give it and the classical methods to compare with.

The command line, the panel, the replays, the classical baselines and `problem.default_settings` all read
this registry, so a task added here is a task everywhere:

    task = tasks.get("denoise")
    problem = task.build(img, sigma=25)  # degrade.noisy(img, sigma=25)
    task.paper_settings()                # {"lr": 0.01, "reg_noise_std": 1 / 30, "iters": 3000}
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from . import degrade, metrics
from .errors import DipError, require
from .problem import Problem

PSNR = "PSNR"  # on every channel, the whole image
PSNR_Y = "PSNR on Y, border = factor"  # super-resolution's protocol: the luma channel, a border of `factor` cropped
PROTOCOLS = (PSNR, PSNR_Y)


@dataclass(frozen=True)
class Settings:
    """Optimisation settings: Adam's learning rate, the std of the noise added to the input z, the iterations."""

    lr: float
    reg_noise_std: float
    iters: int


@dataclass(frozen=True)
class Task:
    """One restoration task and everything the package needs to know about it.

    Attributes
    ----------
    name : str
        The task's name, as the command line, the panel and the run records write it (e.g. ``"denoise"``).
    label : str
        The panel's wording for it (e.g. ``"inpainting: text"``).
    make : callable
        The degradation that turns a clean (H, W, C) image into the task's `Problem`: a function of `degrade`,
        called with the image and its own keyword settings (e.g. ``degrade.noisy(img, sigma=25, seed=0)``).
    paper : Settings
        The paper's optimisation settings for the task (Ulyanov et al. 2018, supplementary material).
    network : str
        The preset (`nets.PRESETS`) the lessons fit the task with.
    classics : tuple of str
        The classical methods (`baselines.METHODS`) to compare with, in the order they are offered.
    protocol : str
        How a restoration is scored against the clean image: `PSNR`, or `PSNR_Y` for super-resolution.
    paper_x8 : Settings or None
        The paper's settings for a super-resolution factor of 8 or more, where they differ from `paper`.
    """

    name: str
    label: str
    make: Callable[..., Problem]
    paper: Settings
    network: str = "lesson"
    classics: tuple[str, ...] = ()
    protocol: str = PSNR
    paper_x8: Settings | None = None

    def __post_init__(self) -> None:
        require(self.protocol in PROTOCOLS, f"task {self.name}: protocol {self.protocol!r}, not one of {PROTOCOLS}")

    @property
    def inputs(self) -> tuple[str, ...]:
        """The keyword settings `make` takes, read from its signature (all its parameters after the image)."""
        return tuple(inspect.signature(self.make).parameters)[1:]

    def build(self, img: np.ndarray, **settings: object) -> Problem:
        """The task's Problem for a clean image.

        Parameters
        ----------
        img : np.ndarray
            The clean (H, W, C) image, float32 in [0, 1].
        **settings
            Keyword settings for `make` (``sigma``, ``seed``, ``text``, ``font_size``, ``fraction``, ``boxes``,
            ``mask``, ``factor``, ...). Those the task does not take are left out, so that the command line and
            the panel can hand every task all their settings at once.

        Returns
        -------
        Problem
            What `make` returns; its `task` is this task's name.

        Raises
        ------
        DipError
            For a setting out of its range (from the degradation).
        """
        return self.make(img, **{key: value for key, value in settings.items() if key in self.inputs})

    def paper_settings(self, factor: int = 1) -> dict:
        """The paper's settings as the fit takes them: ``{"lr": ..., "reg_noise_std": ..., "iters": ...}``.

        Parameters
        ----------
        factor : int
            The super-resolution factor (1 for the other tasks); from 8 up `paper_x8` applies where it is set.

        Returns
        -------
        dict
            A new dict each call, so a caller may change it.
        """
        chosen = self.paper_x8 if self.paper_x8 is not None and factor >= 8 else self.paper
        return asdict(chosen)

    def score(self, img: np.ndarray, clean: np.ndarray, factor: int = 1) -> float:
        """PSNR (dB) of a restoration against the clean image by the task's protocol.

        Parameters
        ----------
        img, clean : np.ndarray
            The restoration and the ground truth, (H, W, C) float in [0, 1].
        factor : int
            The super-resolution factor: the border `PSNR_Y` crops.

        Returns
        -------
        float
        """
        if self.protocol == PSNR_Y:
            return metrics.psnr_y(img, clean, border=factor)
        return metrics.psnr(img, clean)


# In the order the command line lists them and the panel offers them.
TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        # Not in the paper: fitting the image itself shows how fast the network draws (lesson 01).
        Task("reconstruct", "fit the image itself", degrade.reconstruct, Settings(0.01, 0.0, 3000)),
        Task(
            "denoise",
            "denoising",
            degrade.noisy,
            Settings(0.01, 1 / 30, 3000),
            classics=("TV (Chambolle)", "non-local means", "wavelet", "BM3D"),
        ),
        # The wider lesson networks for text and dropped pixels: the narrow one stays well below the paper's there
        # (nets.PRESETS says by how much).
        Task(
            "inpaint-text",
            "inpainting: text",
            degrade.text_over,
            Settings(0.01, 0.03, 6000),
            network="lesson-text",
            classics=("biharmonic", "nearest pixel"),
        ),
        Task(
            "inpaint-pixels",
            "inpainting: random pixels",
            degrade.drop_pixels,
            Settings(0.001, 0.03, 11000),  # a tenth of the others' learning rate
            network="lesson-pixels",
            classics=("biharmonic", "nearest pixel"),
        ),
        Task(
            "inpaint-region",
            "inpainting: region",
            degrade.region,
            Settings(0.01, 0.03, 6000),
            classics=("biharmonic", "nearest pixel"),
        ),
        Task(
            "sr",
            "super-resolution",
            degrade.downsample,
            Settings(0.01, 0.03, 2000),  # ×2 and ×4
            classics=("bicubic", "Lanczos"),
            protocol=PSNR_Y,
            paper_x8=Settings(0.01, 0.05, 4000),
        ),
    )
}


def get(name: str) -> Task:
    """The task called `name`.

    Parameters
    ----------
    name : str
        One of the keys of `TASKS`.

    Returns
    -------
    Task

    Raises
    ------
    DipError
        For any other name, in one line listing the valid ones.
    """
    if not isinstance(name, str) or name not in TASKS:
        raise DipError(f"task {name!r}: choose one of {', '.join(TASKS)}")
    return TASKS[name]
