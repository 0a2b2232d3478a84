"""A fit's peak memory, estimated before it starts, so a run that cannot fit is refused with a size that would.

Activations grow with the pixel count: the bytes autograd saves for one fit step are measured once per
network on a small probe image and scaled to the real size; weights, gradients and Adam's two moments,
the input, its noise, the target, the mask and the output average are added on top, with some headroom
(`benchmarks/memory.py` compares the estimate with measured peaks).
"""

from __future__ import annotations

import functools
import os
import resource

import torch

from . import nets
from .errors import DipError

PROBE = 64  # side of the probe image (pixels)
HEADROOM = 1.15  # allocator slack and temporaries the count above does not see
FIXED = 32 * 2**20  # workspaces and buffers that do not grow with the image
CPU_SHARE = 0.8  # of the memory the system says is available


@functools.lru_cache(maxsize=32)
def _saved_per_pixel(net_spec: nets.NetSpec, channels: int) -> float:
    """Bytes autograd keeps per output pixel for one forward pass (measured on a probe image)."""
    side = max(PROBE, net_spec.min_side)
    net = nets.build(net_spec, out_channels=channels)
    z = torch.rand(1, net_spec.input_depth, side, side)
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = net(z)
    seen[out.untyped_storage().data_ptr()] = out.untyped_storage().nbytes()
    return sum(seen.values()) / (side * side)


@functools.lru_cache(maxsize=32)
def _params(net_spec: nets.NetSpec, channels: int) -> int:
    return nets.count_params(nets.build(net_spec, out_channels=channels))


def estimate(preset: str | nets.NetSpec, shape: tuple[int, int, int]) -> int:
    """Peak bytes of a fit of `preset` to an image of `shape` (H, W, C), on any device."""
    net_spec = nets.spec(preset)
    h, w, c = shape
    state = 4 * _params(net_spec, c) * 4  # weights, gradients, Adam's two moments (float32)
    images = 4 * h * w * (2 * net_spec.input_depth + 6 * c)  # z and its noise; target, mask, clean, outputs
    activations = _saved_per_pixel(net_spec, c) * h * w  # gradients reuse them as backward frees them
    return int(HEADROOM * (state + images + activations) + FIXED)


def available(device: torch.device) -> int | None:
    """Bytes a fit may use on `device` now; None where that cannot be known."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo") as f:
                info = dict(line.split(":", 1) for line in f)
            return int(CPU_SHARE * int(info["MemAvailable"].split()[0]) * 1024)
        except (OSError, KeyError, ValueError):
            pass
        try:
            return int(CPU_SHARE * os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return None


def in_use(device: torch.device) -> int:
    """Bytes this process holds now: torch's allocations on a GPU (whose peak count restarts here), else the
    resident set; the baseline for `peak_since`, which the benchmarks use to measure a fit's own peak."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        return int(torch.cuda.memory_allocated(device))
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS"))
    except (OSError, StopIteration, ValueError):
        return _max_resident()


def peak_since(device: torch.device, base: int) -> int:
    """How far the peak rose above `base` (from `in_use`): the most the work since then needed."""
    if device.type == "cuda":
        return max(0, int(torch.cuda.max_memory_allocated(device)) - base)
    return max(0, _max_resident() - base)


def _max_resident() -> int:
    """The process's peak resident set in bytes (Linux reports kibibytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def largest_side(preset: str | nets.NetSpec, channels: int, budget: int) -> int:
    """The largest square side (a multiple the network accepts) whose fit needs at most `budget` bytes."""
    net_spec = nets.spec(preset)
    side = net_spec.multiple
    while estimate(net_spec, (side * 2, side * 2, channels)) <= budget:
        side *= 2
    step = net_spec.multiple
    while estimate(net_spec, (side + step, side + step, channels)) <= budget:
        side += step
    return side


def check(preset: str | nets.NetSpec, shape: tuple[int, int, int], device: torch.device) -> None:
    """Refuse (DipError) a fit that would not fit in `device`'s free memory, naming a size that would."""
    free = available(device)
    if free is None:
        return
    need = estimate(preset, shape)
    if need <= free:
        return
    h, w, c = shape
    side = largest_side(preset, c, free)
    fits = nets.spec(preset).min_side <= side
    advice = f"use a side of at most {side} (size={side}) or a smaller preset" if fits else "use a smaller preset"
    raise DipError(
        f"image {w}x{h} on {device.type}: this fit needs about {need / 2**30:.1f} GiB and "
        f"{free / 2**30:.1f} GiB is free; {advice}"
    )
