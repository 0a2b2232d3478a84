"""The run record: what a fit produced (history, snapshots), saved as npz + json so it can be replayed."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import metrics
from .errors import DipError

HISTORY_KEYS = ("iter", "loss", "psnr", "psnr_ema", "psnr_obs", "seconds")
FORMAT = 1


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
    """History of every iteration, snapshots at checkpoints and at the end, and what was fitted.

    `status` is "finished", "stopped" (stop flag or callback), "interrupted" (Ctrl-C, kernel interrupt),
    "early-stopped" (ES-WMV) or "diverged". `history["psnr"]` is against the clean image (NaN without one).
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

    # ---- saving and loading: two files, written atomically, no pickle ----

    def save(self, directory: str | Path) -> Path:
        """Write `run.npz` (arrays) and `run.json` (the rest) into `directory`; each appears whole or not at all."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {f"history_{k}": np.asarray(v) for k, v in self.history.items()}
        arrays["observation"] = self.observation
        if self.clean is not None:
            arrays["clean"] = self.clean
        if self.mask is not None:
            arrays["mask"] = self.mask
        if self.early_image is not None:
            arrays["early_image"] = self.early_image
        for i, s in enumerate(self.snapshots):
            arrays[f"snap{i}_out"], arrays[f"snap{i}_ema"] = s.out, s.ema
        meta = {
            "format": FORMAT,
            "task": self.task,
            "config": self.config,
            "status": self.status,
            "early_stop": self.early_stop,
            "events": self.events,
            "seconds": self.seconds,
            "snapshots": [{"iter": s.iter, "psnr": s.psnr, "psnr_ema": s.psnr_ema} for s in self.snapshots],
        }
        _atomic_write(directory / "run.npz", lambda f: np.savez_compressed(f, **arrays))
        _atomic_write(directory / "run.json", lambda f: f.write(json.dumps(meta, indent=1).encode()))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Run:
        """Read a run saved by `save`, without refitting."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / "run.json").read_text())
            with np.load(directory / "run.npz", allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, KeyError) as exc:
            raise DipError(f"run record in {str(directory)!r}: cannot be read ({exc.__class__.__name__})") from None
        if meta.get("format") != FORMAT:
            raise DipError(f"run record in {str(directory)!r}: format {meta.get('format')}, expected {FORMAT}")
        snaps = [
            Snapshot(m["iter"], arrays[f"snap{i}_out"], arrays[f"snap{i}_ema"], m["psnr"], m["psnr_ema"])
            for i, m in enumerate(meta["snapshots"])
        ]
        return cls(
            task=meta["task"],
            config=meta["config"],
            history={k: arrays[f"history_{k}"] for k in HISTORY_KEYS},
            snapshots=snaps,
            observation=arrays["observation"],
            clean=arrays.get("clean"),
            mask=arrays.get("mask"),
            status=meta["status"],
            early_stop=meta["early_stop"],
            events=meta["events"],
            seconds=meta["seconds"],
            early_image=arrays.get("early_image"),
        )


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
