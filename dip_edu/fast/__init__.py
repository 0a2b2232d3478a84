"""The speed work, all of it behind this one door: what `fit` does to run the paper's algorithm faster.

None of it changes the algorithm; each measure was kept only where it was measured to help
(docs/performance.md has the numbers and `benchmarks/speed.py` reproduces them):

- **Layers** (`layers`): on a CPU the network's plain 1×1 convolutions run as one matrix product, and under bf16
  autocast its reflection pads stay in bf16. `nets` builds the plain layers; `Engine` swaps these in.
- **Precision**: on a CPU with AMX tiles, networks 32 channels wide or more run their convolutions in bf16
  (weights, loss and average stay float32), with the feature maps channels-last, as oneDNN runs them fastest.
- **Adam**: PyTorch's fused kernel, one pass over the weights per step.
- **CUDA graphs** (`step`): on a GPU each step is captured once and replayed with one launch.
- **The process** (`cpu`): a CPU fit lowers PyTorch's thread count to the CPUs this process may use, and has glibc's
  malloc keep freed blocks for the next step. Both outlast the fit and are the only settings of the whole process
  this package changes; `lessons.environment()` lists them and `configure` turns either off.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import torch
from torch import nn

from ..errors import require
from . import cpu
from .layers import swap_layers
from .step import Outputs, Step

PRECISIONS = ("auto", "float32", "bfloat16")
BF16_MIN_WIDTH = 32  # "auto" takes bf16 for networks at least this wide: on AMX tiles bf16 pays for wide
# convolutions and costs more than it saves on the 16-channel `lesson` network (docs/performance.md)

_PROCESS = {"cap_threads": True, "keep_memory": True, "cuda_graphs": True}


def configure(
    *, cap_threads: bool | None = None, keep_memory: bool | None = None, cuda_graphs: bool | None = None
) -> dict[str, bool]:
    """Allow or forbid the process-wide settings a CPU fit makes, and CUDA graphs; returns the choices in force.

    Parameters
    ----------
    cap_threads : bool, optional
        Lower PyTorch's thread count to the CPUs this process may use (its affinity set and the container's CPU
        quota). Setting `OMP_NUM_THREADS` or `MKL_NUM_THREADS` also leaves the count alone.
    keep_memory : bool, optional
        Have glibc's malloc keep freed blocks below 1 GiB for the next step. Setting `MALLOC_MMAP_THRESHOLD_`,
        `MALLOC_TRIM_THRESHOLD_` or a `GLIBC_TUNABLES` threshold also leaves malloc alone. Once made, the setting
        lasts for the process (glibc has no way back to its default); forbidding it stops later fits making it.
    cuda_graphs : bool, optional
        Replay each step from a CUDA graph on a GPU; False launches every kernel from Python (the same arithmetic).
    """
    for key, value in (("cap_threads", cap_threads), ("keep_memory", keep_memory), ("cuda_graphs", cuda_graphs)):
        if value is not None:
            _PROCESS[key] = bool(value)
    return dict(_PROCESS)


def process_settings() -> list[str]:
    """What a CPU fit changes in this process, one line each (empty when nothing), for `lessons.environment()`."""
    lines = []
    allowed = cpu.usable()
    if _PROCESS["cap_threads"] and not cpu.user_set_threads() and torch.get_num_threads() >= allowed:
        lines.append(f"PyTorch threads capped at {allowed}, the CPUs this process may use")
    if _PROCESS["keep_memory"] and cpu.can_keep_memory():
        lines.append("malloc keeps freed blocks below 1 GiB for reuse")
    return lines


def pick_precision(precision: str, dev: torch.device, spec=None) -> torch.dtype | None:
    """The dtype the network's forward is autocast to (None: float32).

    Parameters
    ----------
    precision : {"auto", "float32", "bfloat16"}
        "auto" picks bf16 on a CPU with AMX tiles for a network at least `BF16_MIN_WIDTH` channels wide (any network
        when `spec` is None), float32 elsewhere.
    dev : torch.device
        Where the fit runs; bf16 runs on the CPU and CUDA only.
    spec : nets.NetSpec, optional
        The network, whose narrowest layer decides "auto".
    """
    require(precision in PRECISIONS, f"precision {precision!r}: choose {', '.join(PRECISIONS)}")
    if precision == "auto":
        wide = spec is None or min(spec.down + spec.up) >= BF16_MIN_WIDTH
        precision = "bfloat16" if dev.type == "cpu" and wide and cpu.has_amx() else "float32"
    require(
        precision == "float32" or dev.type in ("cpu", "cuda"),
        f"precision bfloat16 on {dev.type}: only the CPU and CUDA run it here; use float32",
    )
    return torch.bfloat16 if precision == "bfloat16" else None


class Engine:
    """How one fit runs on its device: the layers, precision, memory layout, optimiser and step it uses.

    Parameters
    ----------
    net : nn.Module
        The network, on `dev`; its layers are swapped in place where that is faster.
    spec : nets.NetSpec
        The network's shape, for the precision choice.
    dev : torch.device
        Where the fit runs.
    precision : str
        As `pick_precision` takes it.
    """

    def __init__(self, net: nn.Module, spec, dev: torch.device, precision: str = "auto") -> None:
        self.dev = dev
        self.cast = pick_precision(precision, dev, spec)
        self.graph = _PROCESS["cuda_graphs"] and dev.type == "cuda"
        on_cpu = dev.type == "cpu"
        self.layout = torch.channels_last if self.cast is not None and on_cpu else None
        self.net = swap_layers(net, pointwise=on_cpu, padding=self.cast is not None and on_cpu)
        if self.layout is not None:
            self.net = self.net.to(memory_format=self.layout)

    @property
    def precision(self) -> str:
        return "float32" if self.cast is None else "bfloat16"

    def adam(self, lr: float) -> torch.optim.Adam:
        """Adam with the fused kernel where PyTorch has one (CPU and CUDA): the same update in one pass over the
        weights instead of about ten small operations per tensor; its step count on the GPU when graphed."""
        fused = self.dev.type in ("cpu", "cuda")
        return torch.optim.Adam(self.net.parameters(), lr=lr, fused=fused or None, capturable=self.graph)

    def forward(self, net_input: torch.Tensor) -> torch.Tensor:
        """The network's output in float32, computed at the engine's precision and layout."""
        if self.layout is not None:
            net_input = net_input.contiguous(memory_format=self.layout)
        autocast = contextlib.nullcontext() if self.cast is None else torch.autocast(self.dev.type, dtype=self.cast)
        with autocast:
            return self.net(net_input).float().contiguous()

    def step(self, fn: Callable[[torch.Tensor], Outputs]) -> Step:
        """`fn` (one whole training step) as the engine runs it: replayed from a CUDA graph on a GPU; on a CPU, off
        the main thread (a panel's fit), with the faster of its thread count and one thread (`cpu.ThreadTrial`)."""
        step = Step(fn, graph=self.graph)
        off_main = threading.current_thread() is not threading.main_thread()
        if self.dev.type == "cpu" and off_main and _PROCESS["cap_threads"] and not cpu.user_set_threads():
            return cpu.ThreadTrial(step)
        return step

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Around a fit's loop: on a CPU, the thread cap and malloc setting (as `configure` allows) before it, and
        the heap's free pages handed back to the system after it."""
        if self.dev.type != "cpu":
            yield
            return
        if _PROCESS["cap_threads"]:
            cpu.limit_threads()
        threads = torch.get_num_threads()
        if _PROCESS["keep_memory"]:
            cpu.reuse_memory()
        try:
            yield
        finally:
            cpu.give_back_memory()
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)  # a thread trial's pick holds for its own fit only


__all__ = ["BF16_MIN_WIDTH", "PRECISIONS", "Engine", "Step", "configure", "pick_precision", "process_settings"]
