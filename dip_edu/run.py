"""The run record: what a fit produced (history, snapshots), saved as json + npz (+ PNGs) so it can be replayed.

A shipped replay is a saved run with 8-bit PNG images; `Run.load` reads both.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import metrics
from .errors import DipError, require
from .images import read_png, save_png

if TYPE_CHECKING:
    from .problem import Problem

HISTORY_KEYS = ("iter", "loss", "psnr", "psnr_ema", "psnr_obs", "seconds")
OPTIONAL_HISTORY = ("variance",)  # ES-WMV's windowed variance, when the fit watched for early stopping
FORMAT = 2  # 1: run.npz + run.json, and replays in their own meta.json layout


@dataclass
class Snapshot:
    """The output (from the clean input z) and the running average of outputs after `iter` iterations."""

    iter: int
    out: np.ndarray
    ema: np.ndarray
    psnr: float | None = None
    psnr_ema: float | None = None


@dataclass
class Run:
    """What a fit produced: every iteration's numbers, snapshots at checkpoints and at the end, and what was fitted.

    Parameters
    ----------
    task : str
        The problem's task.
    config : dict
        How it was fitted: network, learning rate, input noise, seed, device, precision, the degradation.
    history : dict of np.ndarray
        One value per iteration: "iter", "loss", "psnr" and "psnr_ema" (against the clean image, NaN without one),
        "psnr_obs" (against the observation, where it is known), "seconds" since the loop started, and with early
        stopping "variance" (ES-WMV's windowed variance of the outputs, NaN until its window has filled).
    snapshots : list of Snapshot
        The output and the average at each checkpoint, and at the last iteration.
    observation, clean, mask : np.ndarray
        The problem's images (clean and mask may be None).
    status : str
        "finished", "stopped" (stop flag or callback), "interrupted" (Ctrl-C, kernel interrupt), "early-stopped"
        (ES-WMV), "diverged" or "out-of-memory".
    early_stop : dict, optional
        Where ES-WMV stopped or would have: {"iter", "psnr", "triggered"}.
    events : list of str
        What happened on the way (a restore after divergence, running out of memory).
    seconds : float
        Wall-clock time of the loop.
    early_image : np.ndarray, optional
        ES-WMV's pick: the output where the variance was lowest.
    """

    task: str
    config: dict
    history: dict[str, np.ndarray]
    snapshots: list[Snapshot]
    observation: np.ndarray
    clean: np.ndarray | None = None
    mask: np.ndarray | None = None
    status: str = "finished"
    early_stop: dict | None = None
    events: list[str] = field(default_factory=list)
    seconds: float = 0.0
    early_image: np.ndarray | None = None  # ES-WMV's pick: the output where the variance was lowest

    @property
    def iters(self) -> int:
        """Iterations completed."""
        return int(self.history["iter"][-1]) if len(self.history["iter"]) else 0

    @property
    def final(self) -> Snapshot:
        """The last snapshot: the restoration at the end of the run."""
        return self.snapshots[-1]

    @property
    def has_truth(self) -> bool:
        return self.clean is not None

    def snapshot(self, iteration: int) -> Snapshot:
        """The snapshot nearest to `iteration`."""
        return min(self.snapshots, key=lambda s: abs(s.iter - iteration))

    def peak(self, series: str = "psnr") -> tuple[int, float] | None:
        """(iteration, dB) of the best PSNR against the clean image; None without one."""
        values = self.history[series]
        if not self.has_truth or not len(values) or np.all(np.isnan(values)):
            return None
        i = int(np.nanargmax(values))
        return int(self.history["iter"][i]), float(values[i])

    def sec_per_iter(self) -> float:
        return self.seconds / max(self.iters, 1)

    def problem(self) -> Problem:
        """The problem this run was fitted to, rebuilt from its stored images: a replay's damage, for example, to
        restore with the classical methods."""
        from .problem import Problem

        factor = int(self.config.get("factor") or 1)
        return Problem(self.task, self.observation, clean=self.clean, mask=self.mask, factor=factor)

    def summary(self) -> dict:
        """The JSON-able summary the CLI writes (everything but the images)."""
        peak = self.peak()
        final = self.final
        ssim = metrics.ssim(final.out, self.clean) if self.has_truth else None
        return {
            "task": self.task,
            "image": self.config.get("image"),
            "size": self.config.get("size"),
            "preset": self.config.get("preset"),
            "params": self.config.get("params"),
            "device": self.config.get("device"),
            "precision": self.config.get("precision", "float32"),
            "iters": self.iters,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "sec_per_iter": round(self.sec_per_iter(), 5),
            "psnr_input": _finite(self.config.get("psnr_input")),
            "history": {
                "iter": [int(i) for i in self.history["iter"]],
                **{k: _json_list(self.history[k]) for k in ("loss", "psnr", "psnr_ema")},
            },
            "checkpoints": [{"iter": s.iter, "psnr": s.psnr, "psnr_ema": s.psnr_ema} for s in self.snapshots],
            "peak": None if peak is None else {"iter": peak[0], "psnr": round(peak[1], 4)},
            "final": {"psnr": final.psnr, "psnr_ema": final.psnr_ema, "ssim": ssim},
            "early_stop": self.early_stop,
            "events": self.events,
        }

    # ---- saving and loading: one format for a saved run and a shipped replay, no pickle ----

    def save(self, directory: str | Path, *, images: str = "npz", extra: dict | None = None) -> Path:
        """Write the run into `directory`, to be read back by `Run.load` without refitting.

        Parameters
        ----------
        directory : str or Path
            Created if missing. The run's files are `run.json` (everything but arrays), `history.npz` (every
            iteration) and its images; other files there are left alone.
        images : {"npz", "png"}
            "npz": every image as float32 in `images.npz`, exactly as the fit made it. "png": each image an 8-bit
            PNG, a fraction of the size, every value within 0.5/255 of the fit's (the shipped replays).
        extra : dict, optional
            More keys for `run.json` (a replay's lesson, image and where it was made).

        Returns
        -------
        Path
            The directory. Each file appears whole or not at all, `run.json` last.
        """
        require(images in ("npz", "png"), f"images {images!r}: choose npz or png")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        named = {"observation": self.observation, "clean": self.clean, "mask": self.mask}
        named["early_image"] = self.early_image
        named = {k: v for k, v in named.items() if v is not None}
        snaps = []
        for s in self.snapshots:
            out, avg = f"out-{s.iter:05d}", f"avg-{s.iter:05d}"
            named[out], named[avg] = s.out, s.ema
            snaps.append({"iter": s.iter, "psnr": s.psnr, "psnr_ema": s.psnr_ema, "out": out, "avg": avg})
        if images == "png":
            for name, img in named.items():
                _atomic_write(directory / f"{name}.png", lambda f, img=img: save_png(img, f, optimize=True))
        else:
            arrays = {k: np.asarray(v, dtype=np.float32) for k, v in named.items()}
            _atomic_write(directory / "images.npz", lambda f: np.savez_compressed(f, **arrays))
        compact = images == "png"  # 8-bit images: the history in float32 too
        history = {k: np.asarray(v, dtype=_history_dtype(k, compact)) for k, v in self.history.items()}
        _atomic_write(directory / "history.npz", lambda f: np.savez_compressed(f, **history))
        peak = self.peak()
        meta = {
            "format": FORMAT,
            "task": self.task,
            "status": self.status,
            "iters": self.iters,
            "seconds": self.seconds,
            "config": self.config,
            "early_stop": self.early_stop,
            "events": self.events,
            "images": images,
            "files": {k: k for k in ("observation", "clean", "mask", "early_image") if k in named},
            "snapshots": snaps,
            "peak": None if peak is None else {"iter": peak[0], "psnr": round(peak[1], 4)},
            "end": {"psnr": self.final.psnr, "psnr_ema": self.final.psnr_ema},
            **(extra or {}),
        }
        _atomic_write(directory / "run.json", lambda f: f.write(json.dumps(meta, indent=1).encode()))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Run:
        """Read a run written by `save` (a saved run or a replay), without refitting."""
        directory = Path(directory)
        meta = read_meta(directory)
        try:
            with np.load(directory / "history.npz", allow_pickle=False) as data:
                kept = [k for k in (*HISTORY_KEYS, *OPTIONAL_HISTORY) if k in data.files or k in HISTORY_KEYS]
                history = {k: data[k].astype(np.int64 if k == "iter" else np.float64) for k in kept}
            image = _image_reader(directory, meta["images"])
            snaps = [
                Snapshot(s["iter"], image(s["out"]), image(s["avg"]), s["psnr"], s["psnr_ema"])
                for s in meta["snapshots"]
            ]
            files = meta["files"]
            clean, mask, early = (image(files[k]) if k in files else None for k in ("clean", "mask", "early_image"))
            observation = image(files["observation"])
        except (OSError, KeyError, ValueError) as exc:
            raise DipError(f"run record in {directory.name!r}: files unreadable ({exc.__class__.__name__})") from None
        return cls(
            task=meta["task"],
            config=meta["config"],
            history=history,
            snapshots=snaps,
            observation=observation,
            clean=clean,
            mask=mask,
            status=meta["status"],
            early_stop=meta.get("early_stop"),
            events=meta.get("events", []),
            seconds=float(meta["seconds"]),
            early_image=early,
        )


def read_meta(directory: str | Path) -> dict:
    """A saved run's `run.json`, with a one-line error if it is missing, unreadable or of another format."""
    directory = Path(directory)
    try:
        meta = json.loads((directory / "run.json").read_text())
    except (OSError, ValueError) as exc:
        raise DipError(
            f"run record in {directory.name!r}: run.json cannot be read ({exc.__class__.__name__})"
        ) from None
    if meta.get("format") != FORMAT:
        raise DipError(f"run record in {directory.name!r}: format {meta.get('format')}, expected {FORMAT}")
    return meta


def _image_reader(directory: Path, kind: str):
    """name -> float32 (H, W, C) image, from `images.npz` or from `name.png`."""
    if kind == "png":
        return lambda name: read_png(directory / f"{name}.png")
    with np.load(directory / "images.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return lambda name: arrays[name]


def _history_dtype(key: str, compact: bool):
    if key == "iter":
        return np.int32 if compact else np.int64
    return np.float32 if compact else np.float64


def _finite(value: float | None) -> float | None:
    """JSON has no infinity: an exact reconstruction's PSNR is reported as null."""
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def _json_list(values: np.ndarray) -> list:
    return [None if not np.isfinite(v) else round(float(v), 6) for v in np.asarray(values, dtype=np.float64)]


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
