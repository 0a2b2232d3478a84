"""dip-edu: Deep Image Prior (Ulyanov, Vedaldi, Lempitsky, CVPR 2018) for teaching.

import dip_edu as dip
img = dip.load("builtin:astronaut", size=128)
problem = dip.noisy(img, sigma=25)
run = dip.fit(problem, preset="lesson", iters=3000)
"""

from .degrade import downsample, drop_pixels, noisy, observed, read_mask, reconstruct, region, text_over
from .errors import DipError, DipNotice
from .fit import DEFAULT_CHECKPOINTS, Progress, fit, pick_device, pick_precision
from .images import builtin_names, load
from .metrics import psnr, psnr_y, ssim
from .nets import PRESETS, NetSpec, build, count_params, hourglass, lesson_for, spec
from .plots import (
    show_comparison,
    show_curves,
    show_downsampler,
    show_early_stopping,
    show_images,
    show_learning_curves,
    show_network,
    show_progression,
)
from .problem import Problem
from .replay import describe as describe_replay
from .replay import load as load_replay
from .run import Run, Snapshot
from .stopping import EsWmv
from .tasks import Task

__version__ = "0.1.0"


def __getattr__(name: str):
    """`dip.Panel` imports the widgets only when a notebook asks for them (the CLI never does)."""
    if name == "Panel":
        from .widgets import Panel

        return Panel
    raise AttributeError(f"module 'dip_edu' has no attribute {name!r}")


__all__ = [
    "DEFAULT_CHECKPOINTS",
    "PRESETS",
    "DipError",
    "DipNotice",
    "EsWmv",
    "NetSpec",
    "Panel",
    "Problem",
    "Progress",
    "Run",
    "Snapshot",
    "Task",
    "build",
    "builtin_names",
    "count_params",
    "describe_replay",
    "downsample",
    "drop_pixels",
    "fit",
    "hourglass",
    "lesson_for",
    "load",
    "load_replay",
    "noisy",
    "observed",
    "pick_device",
    "pick_precision",
    "psnr",
    "psnr_y",
    "read_mask",
    "reconstruct",
    "region",
    "show_comparison",
    "show_curves",
    "show_downsampler",
    "show_early_stopping",
    "show_images",
    "show_learning_curves",
    "show_network",
    "show_progression",
    "spec",
    "ssim",
    "text_over",
]
