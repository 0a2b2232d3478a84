"""The scale the lessons run at: the lesson networks on a CPU, the paper's network on a CUDA GPU.

One place decides it. `current()` is "lesson" on a CPU (128×128 images, the narrow lesson networks, as the
lessons have always run) and "paper" where a CUDA GPU is at hand (the paper's own network); the environment
variable ``DIP_EDU_SCALE=lesson|paper`` overrides either. `dip_edu.lessons` turns the scale into each lesson's
image side, iterations and networks, and the panel's default network follows it (`network_for`).

At paper scale a lesson keeps its iterations and gets the largest image side at which its runs should still
finish within the minutes its header promises, on a common teaching GPU rather than on the H100 the project
measured. Those minutes are **estimates to confirm on a GPU**, made from the measurements below:

- the paper network's time per iteration on an H100 (docs/performance.md, "Speed" and "A CUDA graph on the
  GPU"): 14.7 ms at 512×512 and 5.29 ms at 256×256, each step replayed from a CUDA graph;
- the network's floating-point work per iteration (forward and backward), counted on the CPU by `count_gflop`:
  28.75 GFLOP at 128×128, growing with the pixels (460 at 512×512);
- the teaching GPU, an NVIDIA T4 (the card of free hosted notebooks), against the H100 SXM: 8.1 against
  67 TFLOP/s in float32 (8.3 times fewer) and 320 against 3350 GB/s of memory bandwidth (10.5 times less).
  The estimate divides the H100's measured rate by the larger of the two, 10.5, so it errs on the long side.
"""

from __future__ import annotations

import os

import numpy as np

from .errors import DipError
from .nets import lesson_for

ENV = "DIP_EDU_SCALE"
SCALES = ("lesson", "paper")

# Measured: the paper network's milliseconds per iteration on an H100 (CUDA graph, TF32), by image side.
H100_MS = {512: 14.7, 256: 5.29}
# The lesson network at 128×128 on the same H100: 2.1 ms, about 0.1 GFLOP of work, so a step's time there is its
# few hundred kernel launches. The paper network has as many layers, so no step of it on any side is estimated
# below this.
LAUNCH_FLOOR_MS = 2.1
# Counted: the paper network's GFLOP per iteration (forward and backward) at 128×128; `count_gflop` recounts it.
PAPER_GFLOP_128 = 28.75
TEACHING_GPU = "an NVIDIA T4"
T4_SLOWDOWN = max(67.0 / 8.1, 3350.0 / 320.0)  # the larger of the float32 FLOP-rate and memory-bandwidth ratios
SIDES = tuple(range(64, 513, 32))  # the paper network needs sides that divide by 2**5, and 64 at the least


def current() -> str:
    """The scale the lessons run at now: ``DIP_EDU_SCALE`` if set, else "paper" on a CUDA GPU and "lesson" elsewhere.

    Returns
    -------
    str
        "lesson" or "paper".

    Raises
    ------
    DipError
        For a value of ``DIP_EDU_SCALE`` that is neither, in one line.
    """
    chosen = os.environ.get(ENV, "").strip()
    if chosen:
        if chosen not in SCALES:
            raise DipError(f"{ENV}={chosen!r}: choose {' or '.join(SCALES)} (or unset it)")
        return chosen
    import torch

    return "paper" if torch.cuda.is_available() else "lesson"


def network_for(task: str, scale: str | None = None) -> str:
    """The network preset a lesson fits `task` with at `scale` (the current one when not given)."""
    return "paper" if (scale or current()) == "paper" else lesson_for(task)


def gflop(side: int) -> float:
    """The paper network's GFLOP per iteration (forward and backward) on a side×side image: the counted 128×128
    value, scaled by the pixels (every layer's work is proportional to its map's area)."""
    return PAPER_GFLOP_128 * (side / 128) ** 2


def teaching_gpu_seconds(side: int) -> float:
    """Estimated seconds per iteration of the paper network on the teaching GPU at `side` (an estimate to confirm
    on one).

    The H100's measured rate (GFLOP per millisecond: the larger map keeps the card busier) interpolated between the
    measured sides and held at the nearest one outside them (256's for anything smaller: a small map fills a smaller
    card better, so this errs long), divided by `T4_SLOWDOWN`; never below the launch floor.
    """
    sides = sorted(H100_MS)
    rates = [gflop(s) / H100_MS[s] for s in sides]
    rate = float(np.interp(side, sides, rates)) / T4_SLOWDOWN  # GFLOP per millisecond on the teaching GPU
    return max(gflop(side) / rate, LAUNCH_FLOOR_MS) / 1000


def paper_side(iterations: int, minutes: float, least: int) -> int:
    """The largest side in `SIDES` at which `iterations` iterations of the paper network should take at most
    `minutes` on the teaching GPU; `least` (the lesson's own side) when even that would take longer."""
    fits = [s for s in SIDES if iterations * teaching_gpu_seconds(s) / 60 <= minutes]
    return max([least, *fits]) if fits else least


def count_gflop(preset: str = "paper", side: int = 128) -> float:
    """GFLOP of one iteration (forward and backward) of a preset's network on a side×side image, counted on the
    CPU by PyTorch's FLOP counter (convolutions and matrix products; the elementwise layers are not counted)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .nets import build, spec

    net = build(preset)
    z = torch.rand(1, spec(preset).input_depth, side, side)
    with FlopCounterMode(display=False) as counter:
        net(z).mean().backward()
    return counter.get_total_flops() / 1e9
