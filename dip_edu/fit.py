"""The one fit loop for every task: θ* = argmin_θ ‖(A(f_θ(z)) − x̂)·m‖², with the paper's tricks.

Adam on the full image; a fixed uniform input z in [0, 0.1) perturbed by fresh Gaussian noise each step;
an exponential average of the outputs; snapshots taken from the clean z; recovery from divergence that
restores the weights *and* the optimiser state, and halves the learning rate so the same jump does not recur.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from . import cpu, memory, metrics, nets
from .errors import number, require
from .images import to_image, to_tensor
from .problem import Problem, masked_psnr
from .run import HISTORY_KEYS, Run, Snapshot
from .step import Step
from .stopping import EsWmv

DEFAULT_CHECKPOINTS = (500, 1500, 2500, 8000)
DIVERGENCE_DB = 5.0  # a drop of the PSNR against the observation larger than this is divergence
CHECK_EVERY = 10  # iterations between divergence checks (and saved good states)
MAX_RESTORES = 5  # consecutive restores before the run is declared diverged
RESTORE_LR_FACTOR = 0.5  # each restore also halves the learning rate for the rest of the run


@dataclass
class Progress:
    """What a live view gets every few iterations."""

    iter: int
    iters: int
    out: np.ndarray
    ema: np.ndarray
    history: dict[str, np.ndarray]
    seconds: float

    @property
    def eta(self) -> float:
        """Seconds left at the pace so far."""
        return self.seconds / max(self.iter, 1) * (self.iters - self.iter)


def pick_device(device: str = "auto") -> torch.device:
    """CUDA, then Apple's MPS, then the CPU; or exactly what is asked."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    require(device in ("cpu", "cuda", "mps"), f"device {device!r}: choose auto, cpu, cuda or mps")
    require(device != "cuda" or torch.cuda.is_available(), "device cuda: no CUDA GPU is available; use auto or cpu")
    return torch.device(device)


def fit(
    problem: Problem,
    preset: str | nets.NetSpec = "lesson",
    *,
    iters: int | None = None,
    lr: float | None = None,
    reg_noise_std: float | None = None,
    seed: int = 0,
    device: str = "auto",
    checkpoints: Iterable[int] = DEFAULT_CHECKPOINTS,
    ema: float = 0.99,
    early_stop: bool | EsWmv = False,
    stop_on_early: bool = False,
    callback: Callable[[Progress], bool | None] | None = None,
    every: int = 50,
    stop=None,
    progress: bool = False,
    cuda_graph: bool = True,
    precision: str = "auto",
) -> Run:
    """Fit a fresh network to `problem` and return the run record.

    `lr`, `reg_noise_std` and `iters` default to the paper's settings for the task. `callback(progress)` is
    called every `every` iterations and may return True to stop; `stop` is anything with `is_set()` (a
    threading.Event), checked every iteration. Stopping, Ctrl-C and a kernel interrupt all return the run
    so far. `early_stop` runs ES-WMV and records where it would stop; with `stop_on_early` it stops there.
    On a CUDA GPU each step is replayed from a CUDA graph (the same arithmetic, several times faster for
    small networks); `cuda_graph=False` launches every kernel from Python instead. `precision="bfloat16"`
    runs the network's convolutions in bf16 (weights, loss and average stay float32); "auto" (the default)
    picks it on a CPU with AMX tiles for networks 32 channels wide or more (the paper's runs 2-3x faster
    there, the text and pixel lesson networks 1.2-1.3x, to the same quality), and float32 everywhere else
    (docs/performance.md).
    """
    settings = problem.settings
    iters = settings.get("iters", 3000) if iters is None else iters
    lr = settings.get("lr", 0.01) if lr is None else lr
    reg_noise_std = settings.get("reg_noise_std", 0.0) if reg_noise_std is None else reg_noise_std
    require(isinstance(iters, (int, np.integer)) and iters > 0, f"iters {iters}: must be a whole number above 0")
    require(np.isfinite(lr) and 0 < lr <= 1, f"learning rate {lr}: must be in (0, 1]")
    require(np.isfinite(reg_noise_std) and 0 <= reg_noise_std <= 1, f"input noise {reg_noise_std}: must be in [0, 1]")
    require(0 <= ema < 1, f"ema {ema}: must be in [0, 1)")
    seed = number(seed, "seed", 0, 2**32 - 1, whole=True)
    require(every > 0, f"every {every}: must be above 0")
    spec = nets.spec(preset)
    h, w, c = problem.shape
    require(
        h % spec.multiple == 0 and w % spec.multiple == 0 and min(h, w) >= spec.min_side,
        f"image {w}x{h}: this network needs sides that divide by {spec.multiple} and are at least {spec.min_side}",
    )
    dev = pick_device(device)
    cast = pick_precision(precision, dev, spec)
    memory.check(spec, problem.shape, dev)
    if dev.type == "cpu":
        cpu.limit_threads()
        cpu.reuse_memory()

    torch.manual_seed(seed)
    net = nets.build(spec, out_channels=c).to(dev)
    gen = torch.Generator(device=dev.type if dev.type in ("cpu", "cuda") else "cpu").manual_seed(seed)
    z = (torch.rand((1, spec.input_depth, h, w), generator=gen, device=gen.device) * 0.1).to(dev)
    operator = problem.operator().to(dev)
    target = to_tensor(problem.observation, dev)
    mask = None if problem.mask is None else to_tensor(problem.mask, dev)
    clean = None if problem.clean is None else to_tensor(problem.clean, dev)
    y_border = problem.factor if problem.factor > 1 else None
    graphed = cuda_graph and dev.type == "cuda"
    layout = torch.channels_last if cast is not None and dev.type == "cpu" else None
    if layout is not None:  # oneDNN's bf16 convolutions run fastest on channels-last maps (docs/performance.md)
        net = net.to(memory_format=layout)
    optimizer = _adam(net, lr, dev, capturable=graphed)
    step = Step(net, optimizer, operator, target, mask, graph=graphed, cast=cast, layout=layout)
    detector = (early_stop if isinstance(early_stop, EsWmv) else EsWmv.for_iters(iters)) if early_stop else None
    marks = sorted({int(k) for k in checkpoints if 0 < int(k) <= iters})

    record = torch.full((iters, 4), float("nan"), device=dev)  # loss, psnr, psnr_ema, psnr_obs: no per-step sync
    seconds = np.zeros(iters)
    snapshots: list[Snapshot] = []
    events: list[str] = []
    status, early = "finished", None
    average: torch.Tensor | None = None
    good = _State(net, optimizer, None, best_obs=-np.inf)
    bar = _progress_bar(iters) if progress else None

    def snapshot(k: int) -> Snapshot:
        with torch.no_grad():
            out = step.forward(z)  # the clean input, never the last perturbed one
        ref_avg = average if average is not None else out
        return Snapshot(k, to_image(out), to_image(ref_avg), *_scores(out, ref_avg, clean, y_border))

    if 0 in {int(k) for k in checkpoints}:  # the untrained network's output, where the paper's figures start
        snapshots.append(snapshot(0))
    start = time.perf_counter()
    done = failures = 0
    try:
        for k in range(1, iters + 1):
            if stop is not None and stop.is_set():
                status = "stopped"
                break
            net_input = z
            if reg_noise_std > 0:
                net_input = z + reg_noise_std * torch.randn(z.shape, generator=gen, device=gen.device).to(dev)
            out, pred, loss = step(net_input)
            with torch.no_grad():
                average = out.clone() if average is None else average.mul_(ema).add_(out, alpha=1 - ema)
                record[k - 1, 0] = loss
                record[k - 1, 3] = masked_psnr(pred, target, mask)
                if clean is not None:
                    record[k - 1, 1] = metrics.psnr_tensor(out, clean, y_border)
                    record[k - 1, 2] = metrics.psnr_tensor(average, clean, y_border)
            seconds[k - 1] = time.perf_counter() - start
            done = k

            if k % CHECK_EVERY == 0 or k == 1 or k in marks:  # a snapshot is never taken from a broken state
                restored = _guard(record, k, good, net, optimizer, average)
                failures = failures + 1 if restored else 0
                if restored:
                    events.append(restored)
                    step.reset()  # the restored state lives in new tensors, at a new learning rate
                    average = None if good.average is None else good.average.clone()
                if failures >= MAX_RESTORES:
                    status = "diverged"
                    break
            if detector is not None and early is None and detector.update(k, out):
                early = _early_record(detector, clean, y_border)
                if stop_on_early:
                    status = "early-stopped"
                    break
            if k in marks:
                snapshots.append(snapshot(k))
            if bar is not None:
                bar.update(1)
            if callback is not None and (k % every == 0 or k == iters):
                view = Progress(
                    k, iters, to_image(out), to_image(average), _history(record, seconds, k), seconds[k - 1]
                )
                if callback(view):
                    status = "stopped"
                    break
    except KeyboardInterrupt:
        status = "interrupted"
    except (torch.cuda.OutOfMemoryError, RuntimeError) as exc:
        if not _out_of_memory(exc):
            raise
        status = "out-of-memory"  # keep what was done; the snapshot below runs without gradients
        events.append(f"iteration {done + 1}: out of memory on {dev.type}; stopped and kept the run so far")
        step.reset()
        optimizer.zero_grad(set_to_none=True)
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    finally:
        if bar is not None:
            bar.close()
        if dev.type == "cpu":
            cpu.give_back_memory()
    elapsed = time.perf_counter() - start
    if step.failure:
        events.append(f"CUDA graph capture failed ({step.failure}); the steps ran without one")

    if done and (not snapshots or snapshots[-1].iter != done):
        snapshots.append(snapshot(done))
    if not snapshots:  # stopped before the first step: the untrained network's output
        snapshots.append(snapshot(0))
    if detector is not None and early is None and detector.best_iter is not None and status == "finished":
        early = {**_early_record(detector, clean, y_border), "triggered": False}
    config = {
        "preset": preset if isinstance(preset, str) else "custom",
        "net": spec.describe(),
        "params": nets.count_params(net),
        "lr": lr,
        "reg_noise_std": reg_noise_std,
        "iters_requested": iters,
        "seed": seed,
        "ema": ema,
        "device": str(dev),
        "cuda_graph": graphed and not step.failure,
        "precision": "float32" if cast is None else "bfloat16",
        "factor": problem.factor,
        "degradation": problem.params,
        "psnr_input": problem.psnr_input,
    }
    result = Run(
        task=problem.task,
        config=config,
        history=_history(record, seconds, done),
        snapshots=snapshots,
        observation=problem.observation,
        clean=problem.clean,
        mask=problem.mask,
        status=status,
        early_stop=early,
        events=events,
        seconds=elapsed,
        early_image=None if early is None else to_image(detector.best_image),
    )
    result.net, result.z = net, z  # kept for inspection; not saved
    return result


PRECISIONS = ("auto", "float32", "bfloat16")
BF16_MIN_WIDTH = 32  # "auto" takes bf16 for networks at least this wide at every scale: on AMX tiles bf16 pays
# for wide convolutions and costs more than it saves on the 16-channel `lesson` (docs/performance.md)


def pick_precision(precision: str, dev: torch.device, spec: nets.NetSpec | None = None) -> torch.dtype | None:
    """The dtype the network's forward is autocast to (None: float32): bf16 on request, or by "auto" on a CPU with
    AMX tiles for a network at least BF16_MIN_WIDTH channels wide (any network when `spec` is None)."""
    require(precision in PRECISIONS, f"precision {precision!r}: choose {', '.join(PRECISIONS)}")
    if precision == "auto":
        wide = spec is None or min(spec.down + spec.up) >= BF16_MIN_WIDTH
        precision = "bfloat16" if dev.type == "cpu" and wide and cpu.has_amx() else "float32"
    require(
        precision == "float32" or dev.type in ("cpu", "cuda"),
        f"precision bfloat16 on {dev.type}: only the CPU and CUDA run it here; use float32",
    )
    return torch.bfloat16 if precision == "bfloat16" else None


def _adam(net: torch.nn.Module, lr: float, dev: torch.device, capturable: bool = False) -> torch.optim.Adam:
    """Adam with the fused kernel where PyTorch has one (CPU and CUDA): one pass over the weights per step
    instead of about ten small operations per tensor, the same update (docs/performance.md). `capturable`
    keeps its step count on the device, as a CUDA graph needs."""
    fused = dev.type in ("cpu", "cuda")
    return torch.optim.Adam(net.parameters(), lr=lr, fused=fused or None, capturable=capturable)


def _out_of_memory(exc: BaseException) -> bool:
    """Whether an error is the device (CUDA) or the host allocator running out of memory."""
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "can't allocate memory" in str(exc)


class _State:
    """A copy of weights, optimiser state and output average at the last good check.

    After the first save the copies are refreshed in place, a few batched copies instead of hundreds of new
    tensors every `CHECK_EVERY` steps (on a GPU that was a fifth of a small network's time)."""

    def __init__(self, net, optimizer, average, best_obs: float) -> None:
        self.best_obs = best_obs
        self.weights: dict | None = None
        self.optim: dict | None = None
        self.save(net, optimizer, average, best_obs)

    def save(self, net, optimizer, average, obs: float) -> None:
        weights, optim = net.state_dict(), optimizer.state_dict()
        live = _tensors(weights) + _tensors(optim["state"])
        kept = None if self.weights is None else _tensors(self.weights) + _tensors(self.optim["state"])
        if kept is not None and _same_layout(kept, live):
            with torch.no_grad():
                _copy_all(kept, live)
            self.optim["param_groups"] = copy.deepcopy(optim["param_groups"])
        else:
            self.weights, self.optim = copy.deepcopy(weights), copy.deepcopy(optim)
        self.average = None if average is None else average.clone()
        self.best_obs = max(self.best_obs, obs)


def _tensors(tree) -> list[torch.Tensor]:
    """The tensors of a (nested) state dict, in its order."""
    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [t for value in tree.values() for t in _tensors(value)]
    return []


def _same_layout(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(
        x.shape == y.shape and x.dtype == y.dtype and x.device == y.device for x, y in zip(a, b, strict=True)
    )


def _copy_all(dst: list[torch.Tensor], src: list[torch.Tensor]) -> None:
    if hasattr(torch, "_foreach_copy_"):  # one batched launch per dtype and device where PyTorch has it
        torch._foreach_copy_(dst, src)
    else:
        for d, t in zip(dst, src, strict=True):
            d.copy_(t)


def _guard(record: torch.Tensor, k: int, good: _State, net, optimizer, average) -> str | None:
    """Restore the last good state if the fit to the observation collapsed (or went NaN); else save this one."""
    obs = float(record[k - 1, 3])
    loss = float(record[k - 1, 0])
    if np.isfinite(obs) and np.isfinite(loss) and obs > good.best_obs - DIVERGENCE_DB:
        good.save(net, optimizer, average, obs)
        return None
    net.load_state_dict(good.weights)  # copied into the network's own tensors
    optimizer.load_state_dict(copy.deepcopy(good.optim))  # the optimiser would keep these tensors: a copy
    for group in optimizer.param_groups:  # the same step from the same state would jump again: take half
        group["lr"] *= RESTORE_LR_FACTOR
    lr = optimizer.param_groups[0]["lr"]
    return (
        f"iteration {k}: PSNR against the observation fell to {obs:.2f} dB; restored weights and optimiser state, "
        f"learning rate now {lr:.3g}"
    )


def _scores(out, average, clean, y_border) -> tuple[float | None, float | None]:
    if clean is None:
        return None, None
    return (
        round(float(metrics.psnr_tensor(out, clean, y_border)), 4),
        round(float(metrics.psnr_tensor(average, clean, y_border)), 4),
    )


def _early_record(detector: EsWmv, clean, y_border) -> dict:
    psnr = None
    if clean is not None and detector.best_image is not None:
        psnr = round(float(metrics.psnr_tensor(detector.best_image, clean, y_border)), 4)
    return {"iter": detector.best_iter, "psnr": psnr, "triggered": detector.triggered}


def _history(record: torch.Tensor, seconds: np.ndarray, n: int) -> dict[str, np.ndarray]:
    values = record[:n].cpu().numpy().astype(np.float64)
    columns = dict(zip(("loss", "psnr", "psnr_ema", "psnr_obs"), values.T, strict=True))
    out = {"iter": np.arange(1, n + 1), **columns, "seconds": seconds[:n].copy()}
    return {key: out[key] for key in HISTORY_KEYS}


def _progress_bar(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="it", desc="fitting", leave=False)
