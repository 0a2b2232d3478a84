"""Replays: full 8000-iteration runs computed once by `dip-edu precompute` and shipped, to scrub instantly.

A replay is a saved `Run` (`Run.save(..., images="png")`) in `assets/replays/<lesson>-<task>/` (lesson scale:
128×128, the task's lesson network, made on a CPU) or `assets/replays/paper/<lesson>-<task>/` (paper scale:
512×512, the paper's network and settings for the task, made on a GPU): its `run.json` also says which lesson
it belongs to and who made it, where and how long it took. `load` reads it back with `Run.load`, so every view of
a live run (progression strip, curves, the panel's scrubber) shows it unchanged.

`precompute` resumes: a replay already there and complete (finished, of the iterations, side and network asked
for) is kept, and each one is written the moment its fit ends, so an interrupted batch loses only the fit in
progress.
"""

from __future__ import annotations

import copy
import functools
import json
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from . import images, tasks
from .errors import DipError, require
from .fit import DEFAULT_CHECKPOINTS, fit, pick_device
from .lessons import ASSETS, environment, prior_targets
from .nets import PRESETS, NetSpec
from .problem import Problem
from .run import Run, Snapshot
from .run import read_meta as read_run_meta

ROOT = ASSETS / "replays"
ITERS = 8000
SNAPSHOT_EVERY = 250
LIMIT_BYTES = 40 * 2**20  # every replay of both scales together, as the repository ships them
SCALES = {"lesson": (128, "lesson"), "paper": (512, "paper")}  # scale -> (image side, network preset)
# At lesson scale "lesson" stands for each task's lesson network (tasks.Task.network).
PAPER = "paper"  # the paper-scale replays' folder, inside the lesson-scale ones' (their keys are the same)
# At paper scale a replay keeps full-size snapshots only at the paper's figure marks and its last iteration: a
# 512×512 PNG is 250-670 kB, so 33 snapshots of output and average (every 250) would be ~20 MB for one replay.
PAPER_MARKS = DEFAULT_CHECKPOINTS
# The public reference code's text-inpainting network (its `kate` example): the paper network with skips as wide
# as the scales and nearest upsampling. Every other paper-scale task uses the paper network itself.
PAPER_NETWORKS: dict[str, tuple[str, NetSpec]] = {
    "inpaint-text": ("paper-text", NetSpec(skip=(128,) * 5, upsample="nearest")),
}


@dataclass(frozen=True)
class Recipe:
    """What one replay fits: the lesson it belongs to, the task and image, the task's degradation settings, the
    optimiser settings."""

    lesson: str
    task: str  # a task of the registry (tasks.TASKS), whose degradation makes the Problem
    image: str
    degradation: dict = field(default_factory=dict)  # keyword settings for the task's degradation, e.g. sigma=25
    settings: dict = field(default_factory=dict)  # lr, reg_noise_std: the lesson's own choices
    about: str = ""
    target: Callable[[np.ndarray], np.ndarray] | None = None  # what is fitted instead of the image (lesson 01)

    def __post_init__(self) -> None:
        tasks.get(self.task)  # a recipe names a registry task, or the module fails to import

    def corrupt(self, img: np.ndarray) -> Problem:
        """The Problem this replay fits, made from the clean image by the task's degradation."""
        return tasks.get(self.task).make(img if self.target is None else self.target(img), **self.degradation)


def _uniform_noise(img: np.ndarray) -> np.ndarray:
    return prior_targets(img)["uniform noise"]


RECIPES: dict[str, Recipe] = {
    "01-reconstruct": Recipe(
        "01", "reconstruct", "astronaut", settings={"reg_noise_std": 0.0}, about="fit the image itself"
    ),
    "01-noise": Recipe(
        "01",
        "reconstruct",
        "astronaut",
        settings={"reg_noise_std": 0.0},
        about="fit uniform noise",
        target=_uniform_noise,
    ),
    "02-denoise": Recipe("02", "denoise", "astronaut", {"sigma": 25}, about="Gaussian noise σ=25"),
    "03-inpaint-text": Recipe("03", "inpaint-text", "astronaut", settings={"lr": 0.01}, about="text over it"),
    # The paper's LR 0.001 for dropped pixels: at 0.01 this fit diverged after about 4800 iterations.
    "03-inpaint-pixels": Recipe("03", "inpaint-pixels", "astronaut", {"fraction": 0.5}, about="50 % pixels dropped"),
    "03-inpaint-region": Recipe(
        "03", "inpaint-region", "astronaut", settings={"lr": 0.01}, about="a missing rectangle"
    ),
    "04-sr4": Recipe("04", "sr", "astronaut", {"factor": 4}, about="super-resolution ×4"),
}


# The tasks the paper shows at its own scale, one replay each: denoising, the three inpaintings, super-resolution.
PAPER_KEYS = ("02-denoise", "03-inpaint-text", "03-inpaint-pixels", "03-inpaint-region", "04-sr4")


def checkpoints(iters: int) -> list[int]:
    """Snapshot iterations: every 250, the paper's 500 / 1500 / 2500 / 8000, and the last."""
    marks = set(range(SNAPSHOT_EVERY, iters + 1, SNAPSHOT_EVERY)) | {k for k in DEFAULT_CHECKPOINTS if k <= iters}
    return sorted(marks | {iters})


def paper_checkpoints(iters: int) -> list[int]:
    """Snapshot iterations at paper scale: the paper's 500 / 1500 / 2500 / 8000 up to `iters`, and the last."""
    return sorted({k for k in PAPER_MARKS if k <= iters} | {iters})


def folder(scale: str = "lesson", root: Path | None = None) -> Path:
    """Where the replays of a scale live: `root` (lesson scale) or its `paper/` folder."""
    root = Path(root or ROOT)
    return root / PAPER if scale == "paper" else root


def available(root: Path | None = None, scale: str = "lesson") -> list[str]:
    """Keys of the replays of `scale` present under `root`."""
    return sorted(p.parent.name for p in folder(scale, root).glob("*/run.json"))


def scales_of(key: str, root: Path | None = None) -> list[str]:
    """The scales at which the replay `key` is present: "lesson", "paper", both or none."""
    return [scale for scale in SCALES if key in available(root, scale)]


def for_task(task: str, root: Path | None = None, scale: str = "lesson") -> str | None:
    """The first shipped replay of a task at `scale` (its lesson's own when several lessons share the task)."""
    shipped = set(available(root, scale))  # in the recipes' order: a lesson's main replay before its contrasts
    return next((key for key, recipe in RECIPES.items() if key in shipped and recipe.task == task), None)


def network_at(key: str, scale: str) -> tuple[str, str | NetSpec]:
    """(name, network) a replay fits at `scale`: the task's lesson network, the paper network, or for text at paper
    scale the reference code's text network (`PAPER_NETWORKS`)."""
    task = RECIPES[key].task
    if scale == "paper":
        return PAPER_NETWORKS.get(task, ("paper", "paper"))
    name = tasks.get(task).network
    return name, name


def settings_at(key: str, scale: str) -> dict:
    """The optimiser settings a replay fits with: the lesson's own at lesson scale; the paper's for the task at
    paper scale (its learning rate and input noise, `tasks.Task.paper`; the iterations are the replays' own)."""
    recipe = RECIPES[key]
    if scale != "paper":
        return dict(recipe.settings)
    paper = tasks.get(recipe.task).paper_settings(int(recipe.degradation.get("factor", 1)))
    return {"lr": paper["lr"], "reg_noise_std": paper["reg_noise_std"]}


def is_complete(key: str, scale: str, iters: int, side: int, network: str | NetSpec, root: Path | None = None) -> bool:
    """Whether the replay `key` at `scale` is there whole: finished after `iters` iterations at `side` with this
    network as it is now (a replay goes stale when its preset changes), every image file present."""
    directory = folder(scale, root) / key
    try:
        meta = read_run_meta(directory)
    except DipError:
        return False
    spec = PRESETS[network] if isinstance(network, str) else network
    names = [*meta["files"].values(), *(s[k] for s in meta["snapshots"] for k in ("out", "avg"))]
    return (
        meta["status"] == "finished"
        and meta["iters"] == iters
        and meta.get("made", {}).get("scale") == scale
        and meta.get("made", {}).get("side") == side
        and meta["config"].get("net") == json.loads(json.dumps(spec.describe()))
        and all((directory / f"{name}.png").is_file() for name in names)
    )


def precompute(
    keys: Iterable[str] | None = None,
    scale: str = "lesson",
    *,
    root: Path | None = None,
    iters: int = ITERS,
    size: int | None = None,
    preset: str | None = None,
    device: str = "auto",
    progress: bool = True,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Fit each replay's recipe and write its folder under `root` (replacing an older one whole).

    Parameters
    ----------
    keys : iterable of str, optional
        Replays to make; all of the scale's when not given (`RECIPES`, or `PAPER_KEYS` at paper scale).
    scale : {"lesson", "paper"}
        "lesson": 128² and the task's lesson network, for a CPU; "paper": 512², the paper's network and settings
        for the task, for a GPU, written under `paper/`.
    root : Path, optional
        The replays' folder (the shipped one when not given).
    iters, size, preset
        Override the iterations, the image side and the network (tests use a tiny one).
    device : str
        Where to fit.
    progress : bool
        Show a progress bar per fit.
    force : bool
        Refit a replay that is already there and complete; by default it is kept, so a batch resumes.
    log : callable
        Gets one markdown table row per replay as it is written or kept.

    Returns
    -------
    list of dict
        One summary per replay: device, seconds, peak PSNR and its iteration, PSNR at the end, bytes, and
        `skipped` for one kept as it was; or `failed` with the reason for a fit that did not finish (nothing is
        written for it, the others go on).
    """
    root = Path(root or ROOT)
    require(scale in SCALES, f"scale {scale!r}: choose {' or '.join(SCALES)}")
    offered = list(PAPER_KEYS if scale == "paper" else RECIPES)
    keys = list(keys) if keys else offered
    unknown = [k for k in keys if k not in offered]
    require(not unknown, f"replay {unknown[0]!r} at {scale} scale: choose from {', '.join(offered)}" if unknown else "")
    side = size or SCALES[scale][0]
    dev = pick_device(device)
    versions = environment()
    summaries = []
    for key in keys:
        recipe = RECIPES[key]
        name, network = (preset, preset) if preset else network_at(key, scale)
        if not force and is_complete(key, scale, iters, side, network, root):
            summary = {**summarize(key, folder(scale, root) / key), "skipped": True}
            summaries.append(summary)
            log(_line(summary) + " kept: already complete")
            continue
        img = images.load(f"builtin:{recipe.image}", size=side, resize=True)
        problem = recipe.corrupt(img)
        settings = settings_at(key, scale)
        marks = paper_checkpoints(iters) if scale == "paper" else checkpoints(iters)
        start = time.time()
        # float32 everywhere: the shipped replays, and the numbers the lessons quote from them, stay reproducible
        run = fit(
            problem, network, iters=iters, device=device, checkpoints=marks, progress=progress, precision="float32",
            **settings,
        )  # fmt: skip
        run.config["preset"] = name  # a spec of its own (the text network at paper scale) is named, not "custom"
        if run.status != "finished":  # the others still run; the caller learns from the summary
            failure = {"key": key, "failed": f"the fit ended {run.status} after {run.iters} iterations"}
            summaries.append(failure)
            log(f"| {key} | {scale} | {_device_name(dev)} | {run.seconds:.0f} | failed: {failure['failed']}; "
                "nothing written | | |")  # fmt: skip
            continue
        made = {
            "scale": scale,
            "scale_note": _scale_note(scale, side, name, dev.type),
            "settings": _settings_note(key, scale, name, run.config),
            "package": versions["dip-edu"],
            "torch": versions["torch"],
            "device": _device_name(dev),
            "machine": platform.machine(),
            "side": side,
            "seconds": round(run.seconds, 1),
            "date": str(date.fromtimestamp(start)),
            "command": f"dip-edu precompute --scale {scale} --only {key}",
        }
        written = write(run, key, recipe, made, folder(scale, root))
        summary = summarize(key, written)
        summaries.append(summary)
        log(_line(summary))
    return summaries


def write(run: Run, key: str, recipe: Recipe, made: dict, root: Path | None = None) -> Path:
    """Save a run as the replay `key` (PNG images): built in a temporary folder beside it, then moved into place."""
    root = Path(root or ROOT)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{key}."))
    try:
        tmp.chmod(0o755)  # readable by everyone, like the rest of the checkout
        extra = {"key": key, "lesson": recipe.lesson, "image": recipe.image, "about": recipe.about, "made": made}
        run.save(tmp, images="png", extra=extra)
        final = root / key
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_meta(key: str, root: Path | None = None) -> dict:
    """A replay's `run.json`, with a one-line error if it is missing or unreadable."""
    root = Path(root or ROOT)
    paper = root.name == PAPER
    require(
        (root / key / "run.json").is_file(),
        f"replay {key!r}{' at paper scale' if paper else ''}: not found under {root.name}/; make it with dip-edu "
        f"precompute{' --scale paper' if paper else ''}",
    )
    try:
        return read_run_meta(root / key)
    except DipError as exc:
        raise DipError(f"replay {key!r}: {str(exc).split(': ', 1)[-1]}") from None


def load(key: str, root: Path | None = None, scale: str = "lesson") -> Run:
    """A replay as a `Run` (no fitting): history, snapshots, observation, clean image and mask.

    Parameters
    ----------
    key : str
        The replay, e.g. "02-denoise".
    root : Path, optional
        The replays' folder (the shipped one when not given).
    scale : {"lesson", "paper", "auto"}
        Which run of it: lesson scale (128×128, made on a CPU), paper scale (512×512, the paper's network, made
        on a GPU), or "auto": the paper-scale one where it exists, else the lesson-scale one.
        `describe(run)` and `run.config["made"]["scale"]` say which is shown.

    Decoding its PNGs takes about a second, so each replay is read once per process (while its files stay
    unchanged) and every call gets its own copy.
    """
    require(scale in (*SCALES, "auto"), f"scale {scale!r}: choose lesson, paper or auto")
    if scale == "auto":
        scale = "paper" if "paper" in scales_of(key, root) else "lesson"
    where = folder(scale, root)
    meta_file = where / key / "run.json"
    stamp = meta_file.stat().st_mtime_ns if meta_file.is_file() else None
    return copy.deepcopy(_load(key, where, stamp))


@functools.lru_cache(maxsize=16)
def _load(key: str, root: Path, stamp: int | None) -> Run:
    meta = read_meta(key, root)
    try:
        run = Run.load(root / key)
    except DipError as exc:
        raise DipError(f"replay {key!r}: {str(exc).split(': ', 1)[-1]}") from None
    run.config = {**run.config, "replay": key, "made": meta["made"]}
    return run


def describe(run_or_meta: Run | dict) -> str:
    """Where and how a replay was made, in one line a lesson can show."""
    if isinstance(run_or_meta, Run):
        config, made, key = run_or_meta.config, run_or_meta.config["made"], run_or_meta.config["replay"]
        iters = run_or_meta.iters
    else:
        config, made, key, iters = run_or_meta["config"], run_or_meta["made"], run_or_meta["key"], run_or_meta["iters"]
    return (
        f"replay {key}: {made['scale_note']}, {iters} iterations in {made['seconds']:.0f} s on {made['device']}, "
        f"{made['date']}, dip-edu {made['package']} (lr {config['lr']}, input noise {config['reg_noise_std']:.3g})"
    )


def summarize(key: str, folder: Path) -> dict:
    """The numbers a closing report needs for one replay."""
    meta = read_meta(key, folder.parent)
    size = sum(p.stat().st_size for p in folder.iterdir())
    return {
        "key": key,
        "device": meta["made"]["device"],
        "seconds": meta["made"]["seconds"],
        "peak": meta["peak"],
        "end": meta["end"],
        "bytes": size,
        "scale": meta["made"]["scale"],
    }


def total_bytes(root: Path | None = None, scale: str | None = None) -> int:
    """Size on disk of every replay together (of one scale, if given)."""
    return sum(
        p.stat().st_size
        for s in ([scale] if scale else SCALES)
        for key in available(root, s)
        for p in (folder(s, root) / key).iterdir()
    )


def rms_tolerance(factor: int) -> float:
    """The most that 8-bit storage of both images can move the RMS error a snapshot's PSNR is made of.

    Each stored value is within half a step (0.5/255) of the true one, so by the triangle inequality the RMS
    error moves by at most 1/255 on the 0..1 scale; on the Y scale of super-resolution (Y = 16 + 219·luma,
    luma weights summing to one) by at most 219/255.
    """
    return 219.0 / 255 if factor > 1 else 1.0 / 255


def rms_of(psnr: float, factor: int) -> float:
    """The RMS error a PSNR stands for, on the scale the task measures (0..1, or 0..255 for Y)."""
    peak = 255.0 if factor > 1 else 1.0
    return peak * 10 ** (-psnr / 20)


def problem_of(run: Run) -> Problem:
    """The problem a replay was fitted to, rebuilt from what it stores (for scores and classical methods)."""
    return Problem(run.task, run.observation, run.clean, run.mask, factor=int(run.config.get("factor", 1)))


def rescore(run: Run, snapshot: Snapshot) -> float:
    """A snapshot's PSNR recomputed from its stored 8-bit image, by the task's protocol."""
    return problem_of(run).score(snapshot.out)


def _scale_note(scale: str, side: int, preset: str, device: str) -> str:
    where = {"cpu": "the CPU", "cuda": "a GPU", "mps": "an Apple GPU"}.get(device, device)
    if scale == "paper":
        return f"paper scale on {where} ({side}×{side}, network '{preset}')"
    return (
        f"lesson scale on {where} ({side}×{side}, network '{preset}'), standing in for the paper-scale run "
        "(512×512, the paper network), which needs a GPU"
    )


def _settings_note(key: str, scale: str, network: str, settings: dict) -> str:
    """How a replay's network and settings (the run's config: lr, reg_noise_std) were chosen, in a sentence for its
    run.json."""
    fitted = f"lr {settings['lr']}, input noise {settings['reg_noise_std']:.3g}"
    if scale == "paper":
        why = (
            "the public reference code's text-inpainting network (skips 128 channels wide, nearest upsampling)"
            if network == "paper-text"
            else f"network '{network}'"
        )
        return f"the paper's settings for {RECIPES[key].task} ({fitted}), {why}, float32"
    return f"the lesson's settings ({fitted}), network '{network}', float32"


def _device_name(dev) -> str:
    import torch

    if dev.type == "cuda":
        return torch.cuda.get_device_name(0)
    threads = torch.get_num_threads()
    return f"{dev.type} ({platform.processor() or platform.machine()}, {threads} thread{'s' * (threads != 1)})"


def _line(s: dict) -> str:
    peak = "—" if s["peak"] is None else f"{s['peak']['psnr']:.2f} dB at {s['peak']['iter']}"
    end = "—" if s["end"]["psnr"] is None else f"{s['end']['psnr']:.2f} dB"
    return (
        f"| {s['key']} | {s['scale']} | {s['device']} | {s['seconds']:.0f} | {peak} | {end} "
        f"| {s['bytes'] / 2**20:.2f} MiB |"
    )
