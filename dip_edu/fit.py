"""The one fit loop for every task: θ* = argmin_θ E(f_θ(z); x̂), with E = mean(((A(f_θ(z)) − x̂)·m)²).

Adam on the full image; a fixed uniform input z in [0, 0.1) perturbed by fresh Gaussian noise each step; an
exponential average of the outputs; snapshots taken from the clean z. Beside the loop: its record (history,
snapshots, progress), recovery from divergence (`guard`), early stopping (`stopping`), and the speed work, all
of it in `fast`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from . import fast, memory, metrics, nets
from .errors import number, require
from .fast import BF16_MIN_WIDTH, PRECISIONS, pick_precision
from .guard import CHECK_EVERY, Guard
from .images import to_image, to_tensor
from .problem import Problem, masked_psnr
from .run import HISTORY_KEYS, Run, Snapshot
from .stopping import EsWmv

DEFAULT_CHECKPOINTS = (500, 1500, 2500, 8000)

__all__ = ["BF16_MIN_WIDTH", "DEFAULT_CHECKPOINTS", "PRECISIONS", "Progress", "fit", "pick_device", "pick_precision"]


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
    precision: str = "auto",
    ema: float = 0.99,
    checkpoints: Iterable[int] = DEFAULT_CHECKPOINTS,
    early_stop: bool | str | EsWmv = False,
    callback: Callable[[Progress], bool | None] | None = None,
    every: int = 50,
    stop=None,
    progress: bool = False,
) -> Run:
    """Fit a freshly initialised network to `problem` and return the run record.

    Parameters
    ----------
    problem : Problem
        The observation x̂, its operator A and mask m, and the clean image when there is one (for PSNR).
    preset : str or NetSpec
        The network: a name in `PRESETS` or a spec.
    iters, lr, reg_noise_std : optional
        Iterations, Adam's learning rate and the input noise's σ; default to the paper's settings for the task.
    seed : int
        Seeds the network's initialisation, the input z and its noise.
    device : {"auto", "cpu", "cuda", "mps"}
        "auto" takes a CUDA GPU, then Apple's GPU, then the CPU.
    precision : {"auto", "float32", "bfloat16"}
        The convolutions' precision (weights, loss and average stay float32); see `fast.pick_precision`.
    ema : float
        Weight of the old average in the exponential average of the outputs.
    checkpoints : iterable of int
        Iterations to keep a snapshot at (0 is the untrained network's output); the last iteration is always kept.
    early_stop : bool, "stop" or EsWmv
        True watches with ES-WMV (scaled to `iters`) and records where it would stop; "stop" also stops there; an
        `EsWmv` watches with its own window and patience, and stops if it was made with `stop=True`.
    callback : callable, optional
        Called with a `Progress` every `every` iterations and at the end; returning True stops the fit.
    stop : optional
        Anything with `is_set()` (a threading.Event), checked every iteration.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    Run
        History of every iteration and the snapshots. Stopping, Ctrl-C, a kernel interrupt, divergence and running
        out of memory all return the run so far, its `status` saying which.
    """
    iters, lr, reg_noise_std = _settings(problem, iters, lr, reg_noise_std, ema, seed, every)
    spec = nets.spec(preset)
    _check_size(spec, problem.shape)
    dev = pick_device(device)
    memory.check(spec, problem.shape, dev)

    torch.manual_seed(seed)
    engine = fast.Engine(nets.build(spec, out_channels=problem.shape[2]).to(dev), spec, dev, precision)
    optimizer = engine.adam(lr)
    noise = torch.Generator(device=dev.type if dev.type in ("cpu", "cuda") else "cpu").manual_seed(seed)
    z = (torch.rand((1, spec.input_depth, *problem.shape[:2]), generator=noise, device=noise.device) * 0.1).to(dev)
    A, x_hat = problem.operator().to(dev), to_tensor(problem.observation, dev)
    m = None if problem.mask is None else to_tensor(problem.mask, dev)

    def iteration(net_input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step of Adam on E: forward, loss, backward, update."""
        optimizer.zero_grad(set_to_none=True)
        x = engine.forward(net_input)  # f_θ(z)
        pred = A(x)
        residual = (pred - x_hat) ** 2
        loss = (residual * m).mean() if m is not None else residual.mean()
        loss.backward()
        optimizer.step()
        return x.detach(), pred.detach(), loss.detach()

    step = engine.step(iteration)  # on a GPU, captured once as a CUDA graph and replayed
    record = _Record(problem, engine, optimizer, step, z, iters, checkpoints, _detector(early_stop, iters))
    record.callback, record.every = callback, every
    average = None
    with engine.session(), record.keeping(progress):
        for k in range(1, iters + 1):
            if stop is not None and stop.is_set():
                record.status = "stopped"
                break
            net_input = z
            if reg_noise_std > 0:  # the paper's input noise: z jittered afresh every step
                net_input = z + reg_noise_std * torch.randn(z.shape, generator=noise, device=noise.device).to(dev)
            out, pred, loss = step(net_input)
            with torch.no_grad():  # the exponential average of the outputs
                average = out.clone() if average is None else average.mul_(ema).add_(out, alpha=1 - ema)
            average = record.after(k, out, pred, loss, average)  # history, divergence, early stop, snapshots
            if record.status != "running":
                break
    config = {"preset": preset if isinstance(preset, str) else "custom", "net": spec.describe(), "lr": lr,
              "reg_noise_std": reg_noise_std, "iters_requested": iters, "seed": seed, "ema": ema}  # fmt: skip
    return record.run(config)


def _settings(problem: Problem, iters, lr, reg_noise_std, ema, seed, every) -> tuple[int, float, float]:
    """The paper's settings for the task where the caller gave none; each checked, with a one-line error."""
    settings = problem.settings
    iters = settings.get("iters", 3000) if iters is None else iters
    lr = settings.get("lr", 0.01) if lr is None else lr
    reg_noise_std = settings.get("reg_noise_std", 0.0) if reg_noise_std is None else reg_noise_std
    require(isinstance(iters, (int, np.integer)) and iters > 0, f"iters {iters}: must be a whole number above 0")
    require(np.isfinite(lr) and 0 < lr <= 1, f"learning rate {lr}: must be in (0, 1]")
    require(np.isfinite(reg_noise_std) and 0 <= reg_noise_std <= 1, f"input noise {reg_noise_std}: must be in [0, 1]")
    require(0 <= ema < 1, f"ema {ema}: must be in [0, 1)")
    number(seed, "seed", 0, 2**32 - 1, whole=True)
    require(every > 0, f"every {every}: must be above 0")
    return int(iters), float(lr), float(reg_noise_std)


def _check_size(spec: nets.NetSpec, shape: tuple[int, int, int]) -> None:
    h, w, _ = shape
    require(
        h % spec.multiple == 0 and w % spec.multiple == 0 and min(h, w) >= spec.min_side,
        f"image {w}x{h}: this network needs sides that divide by {spec.multiple} and are at least {spec.min_side}",
    )


def _detector(early_stop: bool | str | EsWmv, iters: int) -> EsWmv | None:
    if isinstance(early_stop, EsWmv):
        return early_stop
    require(early_stop in (False, True, "stop"), f"early_stop {early_stop!r}: choose False, True or 'stop'")
    return EsWmv.for_iters(iters, stop=early_stop == "stop") if early_stop else None


class _Record:
    """Everything the loop keeps beside the algorithm: every iteration's loss and PSNRs, the seconds, snapshots,
    the divergence guard, early stopping, the progress bar and the live view's callback; then the `Run`."""

    def __init__(self, problem, engine, optimizer, step, z, iters, checkpoints, detector) -> None:
        self.problem, self.engine, self.optimizer, self.step, self.z, self.iters = (
            problem,
            engine,
            optimizer,
            step,
            z,
            iters,
        )
        self.detector, self.callback, self.every = detector, None, 1
        dev = engine.dev
        self.target = to_tensor(problem.observation, dev)
        self.mask = None if problem.mask is None else to_tensor(problem.mask, dev)
        self.clean = None if problem.clean is None else to_tensor(problem.clean, dev)
        self.y_border = problem.factor if problem.factor > 1 else None
        marks = {int(k) for k in checkpoints}
        self.marks = sorted(k for k in marks if 0 < k <= iters)
        self.values = torch.full((iters, 4), float("nan"), device=dev)  # loss, psnr, psnr_ema, psnr_obs: no sync
        self.seconds = np.zeros(iters)
        self.snapshots: list[Snapshot] = []
        self.events: list[str] = []
        self.status, self.early, self.done, self.elapsed = "running", None, 0, 0.0
        self.average: torch.Tensor | None = None
        self.guard = Guard(engine.net, optimizer)
        if 0 in marks:  # the untrained network's output, where the paper's figures start
            self.snapshots.append(self.snapshot(0))

    def snapshot(self, k: int) -> Snapshot:
        """The output from the clean input z (never the last perturbed one) and the average, with their PSNRs."""
        with torch.no_grad():
            out = self.engine.forward(self.z)
        average = self.average if self.average is not None else out
        return Snapshot(k, to_image(out), to_image(average), *self._scores(out, average))

    def _scores(self, out, average) -> tuple[float | None, float | None]:
        if self.clean is None:
            return None, None
        return tuple(round(float(metrics.psnr_tensor(t, self.clean, self.y_border)), 4) for t in (out, average))

    @contextlib.contextmanager
    def keeping(self, progress: bool):
        """Around the loop: the clock and the progress bar; an interrupt or running out of memory ends the loop
        with the run so far kept."""
        bar = _progress_bar(self.iters) if progress else None
        self.bar, start = bar, time.perf_counter()
        self.start = start
        try:
            yield
        except KeyboardInterrupt:
            self.status = "interrupted"
        except (torch.cuda.OutOfMemoryError, RuntimeError) as exc:
            if not _out_of_memory(exc):
                raise
            self.status = "out-of-memory"  # the snapshot taken after this runs without gradients
            self.events.append(
                f"iteration {self.done + 1}: out of memory on {self.engine.dev.type}; stopped and kept the run so far"
            )
            self.step.reset()
            self.optimizer.zero_grad(set_to_none=True)
            if self.engine.dev.type == "cuda":
                torch.cuda.empty_cache()
        finally:
            if bar is not None:
                bar.close()
            self.elapsed = time.perf_counter() - start

    def after(self, k: int, out, pred, loss, average):
        """Record step `k`; check for divergence, early stopping, snapshots and the live view. Returns the average
        to go on with (the restored one after a divergence)."""
        with torch.no_grad():
            self.values[k - 1, 0] = loss
            self.values[k - 1, 3] = masked_psnr(pred, self.target, self.mask)
            if self.clean is not None:
                self.values[k - 1, 1] = metrics.psnr_tensor(out, self.clean, self.y_border)
                self.values[k - 1, 2] = metrics.psnr_tensor(average, self.clean, self.y_border)
        self.seconds[k - 1] = time.perf_counter() - self.start
        self.done, self.average = k, average
        if k % CHECK_EVERY == 0 or k == 1 or k in self.marks:  # a snapshot is never taken from a broken state
            restored = self.guard.check(k, float(self.values[k - 1, 3]), float(self.values[k - 1, 0]), average)
            if restored:
                self.events.append(restored)
                self.step.reset()  # the restored state lives in new tensors, at a new learning rate
                self.average = average = None if self.guard.average is None else self.guard.average.clone()
            if self.guard.gave_up:
                self.status = "diverged"
                return average
        if self.detector is not None and self.early is None and self.detector.update(k, out):
            self.early = self._early()
            if self.detector.stop:
                self.status = "early-stopped"
                return average
        if k in self.marks:
            self.snapshots.append(self.snapshot(k))
        if self.bar is not None:
            self.bar.update(1)
        if self.callback is not None and (k % self.every == 0 or k == self.iters):
            view = Progress(k, self.iters, to_image(out), to_image(average), self.history(), self.seconds[k - 1])
            if self.callback(view):
                self.status = "stopped"
        return average

    def _early(self) -> dict:
        psnr = None
        if self.clean is not None and self.detector.best_image is not None:
            psnr = round(float(metrics.psnr_tensor(self.detector.best_image, self.clean, self.y_border)), 4)
        return {"iter": self.detector.best_iter, "psnr": psnr, "triggered": self.detector.triggered}

    def history(self) -> dict[str, np.ndarray]:
        values = self.values[: self.done].cpu().numpy().astype(np.float64)
        columns = dict(zip(("loss", "psnr", "psnr_ema", "psnr_obs"), values.T, strict=True))
        out = {"iter": np.arange(1, self.done + 1), **columns, "seconds": self.seconds[: self.done].copy()}
        history = {key: out[key] for key in HISTORY_KEYS}
        if self.detector is not None:  # what ES-WMV watched: NaN until its window has filled
            variance = np.full(self.done, np.nan)
            for k, value in self.detector.variances:
                if k <= self.done:
                    variance[k - 1] = value
            history["variance"] = variance
        return history

    def run(self, config: dict) -> Run:
        """The run record: the last snapshot, early stopping's pick and the configuration added."""
        if self.status == "running":
            self.status = "finished"
        if self.step.failure:
            self.events.append(f"CUDA graph capture failed ({self.step.failure}); the steps ran without one")
        if self.done and (not self.snapshots or self.snapshots[-1].iter != self.done):
            self.snapshots.append(self.snapshot(self.done))
        if not self.snapshots:  # stopped before the first step: the untrained network's output
            self.snapshots.append(self.snapshot(0))
        detector, early = self.detector, self.early
        if detector is not None and early is None and detector.best_iter is not None and self.status == "finished":
            early = {**self._early(), "triggered": False}
        problem, engine = self.problem, self.engine
        config = {**config, "params": nets.count_params(engine.net), "device": str(engine.dev),
                  "cuda_graph": self.step.graphed, "precision": engine.precision, "factor": problem.factor,
                  "degradation": problem.params, "psnr_input": problem.psnr_input}  # fmt: skip
        result = Run(
            task=problem.task,
            config=config,
            history=self.history(),
            snapshots=self.snapshots,
            observation=problem.observation,
            clean=problem.clean,
            mask=problem.mask,
            status=self.status,
            early_stop=early,
            events=self.events,
            seconds=self.elapsed,
            early_image=None if early is None else to_image(detector.best_image),
        )
        result.net, result.z = engine.net, self.z  # kept for inspection; not saved
        return result


def _out_of_memory(exc: BaseException) -> bool:
    """Whether an error is the device (CUDA) or the host allocator running out of memory."""
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "can't allocate memory" in str(exc)


def _progress_bar(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="it", desc="fitting", leave=False)
