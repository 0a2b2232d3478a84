"""Lesson presets by quality per second: candidate networks against the paper network on the same crops.

    python benchmarks/presets.py                         # every candidate and the paper network
    python benchmarks/presets.py --only n16x5-in8,paper --iters 8000 --json presets.json
    python benchmarks/presets.py --table --json cpu.json --paper-from gpu.json --speed speed.json --minutes 2,4,8

Each network is fitted to denoising (σ=25), text inpainting and 50 % random-pixel inpainting on 128×128 centre
crops of bundled images (--side: another side; one file holds one side's runs). Per network and task it
records the best PSNR against the clean image, the iteration and the seconds to it, the PSNR at the end, and
the PSNR curves of the output and of the output average (--average reads the latter: the image the lessons
compare); prints markdown, writes JSON after every run (an interrupted search keeps what it measured; a run
measured with fewer iterations is redone). Seconds come from each run's own clock, so run nothing else beside
it, or pass --speed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

import dip_edu as dip
from dip_edu.errors import DipNotice
from dip_edu.nets import NetSpec

IMAGES = ("astronaut", "chelsea", "coffee")

# Both kinds of network get the same settings. The paper's 50 %-pixel setting (LR 0.001, 11000 iterations)
# is out of reach of a CPU search, so that task runs at LR 0.01 here, for every network alike.
TASKS = {
    "denoise σ=25": (lambda im: dip.noisy(im, sigma=25, seed=0), {"lr": 0.01, "reg_noise_std": 1 / 30}),
    "inpaint text": (lambda im: dip.text_over(im, seed=0), {"lr": 0.01, "reg_noise_std": 0.03}),
    "inpaint 50% pixels": (lambda im: dip.drop_pixels(im, 0.5, seed=0), {"lr": 0.01, "reg_noise_std": 0.03}),
}

# Five scales throughout (sides divide by 32). Widths finest scale first.
CANDIDATES: dict[str, NetSpec] = {
    # The lessons' first network, before this search; the quick tables in docs/results.md were made with it.
    "lesson-wide": NetSpec(down=(16, 32, 64, 64, 128), up=(16, 32, 64, 64, 128), skip=(4,) * 5),
    "n16x5-in8": NetSpec(down=(16,) * 5, up=(16,) * 5, input_depth=8),
    "n16x5-in8-nearest": NetSpec(down=(16,) * 5, up=(16,) * 5, input_depth=8, upsample="nearest"),
    "n8to128-in8": NetSpec(down=(8, 16, 32, 64, 128), up=(8, 16, 32, 64, 128), input_depth=8),
    # Wider, still nearest, for the task where the narrow network falls short most (50 % pixels).
    "n24x5-in8-nearest": NetSpec(down=(24,) * 5, up=(24,) * 5, input_depth=8, upsample="nearest"),
    "n32x5-in8-nearest": NetSpec(down=(32,) * 5, up=(32,) * 5, input_depth=8, upsample="nearest"),
    "n16to128-in8-nearest": NetSpec(
        down=(16, 32, 64, 64, 128), up=(16, 32, 64, 64, 128), input_depth=8, upsample="nearest"
    ),
    "n32to128-in8-nearest": NetSpec(
        down=(32, 32, 64, 64, 128), up=(32, 32, 64, 64, 128), input_depth=8, upsample="nearest"
    ),
    # 50 % pixels: cheaper than n32to128 where it costs most (the finest scale), or wider skips on the narrow network.
    "n24to128-in8-nearest": NetSpec(
        down=(24, 32, 64, 64, 128), up=(24, 32, 64, 64, 128), input_depth=8, upsample="nearest"
    ),
    "n32to128-up16-in8-nearest": NetSpec(
        down=(32, 32, 64, 64, 128), up=(16, 32, 64, 64, 128), input_depth=8, upsample="nearest"
    ),
    "n16x5-skip16-in8-nearest": NetSpec(
        down=(16,) * 5, up=(16,) * 5, skip=(16,) * 5, input_depth=8, upsample="nearest"
    ),
}
# 50 % pixels: `n32to128-in8-nearest` (`lesson-text`'s widths with 4-channel skips) with the paper's 32-channel input,
# its bilinear upsampling, or both (`n32to128-in32`: `lesson-pixels` with 4-channel skips); nearest won at width 16,
# but with it every network stalled a decibel or more below the paper network on dropped pixels.
_N32TO128 = CANDIDATES["n32to128-in8-nearest"]
CANDIDATES.update(
    {
        "n32to128-in32-nearest": replace(_N32TO128, input_depth=32),
        "n32to128-in8": replace(_N32TO128, upsample="bilinear"),
        "n32to128-in32": replace(_N32TO128, input_depth=32, upsample="bilinear"),
    }
)
# 50 % pixels: the bilinear upsampling and 32-channel input of `n32to128-in32`, on cheaper widths (on text the
# cheaper nearest networks above, and `n32to128-in32`, were fitted too).
CANDIDATES.update(
    {
        "n16x5-in32": replace(CANDIDATES["n16x5-in8"], input_depth=32),
        "n16to128-in32": replace(CANDIDATES["n16to128-in8-nearest"], input_depth=32, upsample="bilinear"),
        "n24to128-in32": replace(CANDIDATES["n24to128-in8-nearest"], input_depth=32, upsample="bilinear"),
        # text, where the paper network's lead is late and the finest scales are what it has more of
        "n64to128-in8-nearest": replace(_N32TO128, down=(64, 64, 64, 64, 128), up=(64, 64, 64, 64, 128)),
    }
)
# Which of the wider text network's scales carry its gain (only the finest at 64, or the coarser ones at 128 too),
# and the same widening for dropped pixels with the bilinear upsampling that restores them best.
_N64TO128 = CANDIDATES["n64to128-in8-nearest"]
CANDIDATES.update(
    {
        "n64-32to128-in8-nearest": replace(_N32TO128, down=(64, 32, 64, 64, 128), up=(64, 32, 64, 64, 128)),
        "n64to128x3-in8-nearest": replace(_N64TO128, down=(64, 64, 128, 128, 128), up=(64, 64, 128, 128, 128)),
        "n64to128-in32": replace(_N64TO128, input_depth=32, upsample="bilinear"),
        # and, on text, the wider network's input and upsampling
        "n64to128-in32-nearest": replace(_N64TO128, input_depth=32),
        "n64to128-in8": replace(_N64TO128, upsample="bilinear"),
    }
)
# Text: between `lesson-text`'s widths (32 channels at the two finest scales) and the 64-channel network, which comes
# closer to the paper network but costs too much for 8000 iterations in 4 minutes.
CANDIDATES.update(
    {
        "n48to128-in8-nearest": replace(_N32TO128, down=(48, 48, 64, 64, 128), up=(48, 48, 64, 64, 128)),
        "n64-48to128-in8-nearest": replace(_N32TO128, down=(64, 48, 64, 64, 128), up=(64, 48, 64, 64, 128)),
        # and skips as wide as the scales, as the reference code's text network has them (`paper-text` below)
        "n32to128-skipw-in8-nearest": replace(_N32TO128, skip=_N32TO128.down),
        "n64to128-skipw-in8-nearest": replace(_N64TO128, skip=_N64TO128.down),
    }
)
# 50 % pixels: the wide skips on `n32to128-in32` too (as `lesson-pixels` has them), though the reference code fills
# dropped pixels with the paper network and its 4-channel skips.
_N32TO128_IN32, _N48TO128, _N64TO128_IN32 = (
    CANDIDATES[n] for n in ("n32to128-in32", "n48to128-in8-nearest", "n64to128-in32")
)
CANDIDATES["n32to128-skipw-in32"] = replace(_N32TO128_IN32, skip=_N32TO128_IN32.down)
# and on text, the wide skips on the 48-channel network, which came within 0.5 dB of the paper network on one crop
# with 4-channel skips (the wide skips put the 32-channel network ahead early, which is what the time target asks)
CANDIDATES["n48to128-skipw-in8-nearest"] = replace(_N48TO128, skip=_N48TO128.down)
# and on pixels, the wide skips on the 64-channel pixel network, which met the quality target with 4-channel skips
CANDIDATES["n64to128-skipw-in32"] = replace(_N64TO128_IN32, skip=_N64TO128_IN32.down)
# For a CPU without AMX tiles (float32, what `precision="auto"` picks there, where the wide skips cost per iteration):
# skips half as wide as the scales, between the paper's 4 channels and the lesson networks'.
_HALF = tuple(w // 2 for w in _N32TO128.down)
CANDIDATES["n32to128-skiph-in32"] = replace(_N32TO128_IN32, skip=_HALF)
CANDIDATES["n32to128-skiph-in8-nearest"] = replace(_N32TO128, skip=_HALF)
NETWORKS: dict[str, NetSpec] = {**CANDIDATES, "paper": dip.spec("paper")}
# The public reference code inpaints text (its Fig. 7 image) with the paper network's widths but 128-channel skips
# and nearest upsampling; `paper` is its denoising, super-resolution and dropped-pixel network.
NETWORKS["paper-text"] = replace(NETWORKS["paper"], skip=(128,) * 5, upsample="nearest")
# Candidates that change the optimiser rather than the network: name -> (network, learning rate for every task).
LEARNING_RATES: dict[str, tuple[str, float]] = {
    "n16x5-in8-nearest-lr0.02": ("n16x5-in8-nearest", 0.02),
    "n32to128-in32-nearest-lr0.005": ("n32to128-in32-nearest", 0.005),
    # A lesson's few minutes on a CPU end long before these networks peak: does a faster rate get them further
    # within those minutes?
    "n32to128-in8-nearest-lr0.02": ("n32to128-in8-nearest", 0.02),
    "n32to128-in32-lr0.02": ("n32to128-in32", 0.02),
}
NETWORKS.update({name: NETWORKS[net] for name, (net, _) in LEARNING_RATES.items()})
# The same networks with their convolutions in bf16 (`dip.fit(precision="bfloat16")`), which a CPU with AMX tiles
# runs several times faster for the wide networks. Named NETWORK-bf16.
BF16 = "-bf16"
BF16_NETWORKS = (
    "n16x5-in8-nearest",
    "n32to128-in8-nearest",
    "n32to128-in32",
    "n64to128-in8-nearest",
    "n64to128-in8",
    "n48to128-in8-nearest",
    "n64-48to128-in8-nearest",
    "n32to128-skipw-in8-nearest",
    "n64to128-skipw-in8-nearest",
    "n32to128-skipw-in32",
    "n48to128-skipw-in8-nearest",
    "n64to128-skipw-in32",
)
NETWORKS.update({name + BF16: NETWORKS[name] for name in (*BF16_NETWORKS, "paper", "paper-text")})


def precision(name: str) -> str:
    """The precision a search network's convolutions run in."""
    return "bfloat16" if name.endswith(BF16) else "float32"


SIDE = 128  # the crops' side unless --side says otherwise (rows saved without a side are 128's)
CURVE_STEP = 10  # iterations between the stored PSNRs of a run's curve
MARGIN_DB = 0.5  # the quality margin: "within 0.5 dB of the paper network's best"


def fit_one(name: str, task: str, image: str, iters: int, device: str, seed: int = 0, side: int = SIDE) -> dict:
    """One fit; the numbers the table needs. `seed` draws the network's weights and input (the damage is fixed);
    `side` is the centre crop's."""
    corrupt, settings = TASKS[task]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DipNotice)
        problem = corrupt(dip.load(f"builtin:{image}", size=side))
    if name in LEARNING_RATES:
        settings = {**settings, "lr": LEARNING_RATES[name][1]}
    # A bar on a terminal (a paper-network run is most of an hour); none in a log file.
    progress = sys.stderr.isatty()
    run = dip.fit(
        problem,
        NETWORKS[name],
        iters=iters,
        checkpoints=(),
        device=device,
        progress=progress,
        seed=seed,
        precision=precision(name),
        **settings,
    )
    h = run.history
    best = int(np.nanargmax(h["psnr"]))
    best_ema = int(np.nanargmax(h["psnr_ema"]))
    steady = (h["seconds"][-1] - h["seconds"][0]) / max(len(h["seconds"]) - 1, 1)
    return {
        "network": name,
        "task": task,
        "image": image,
        "seed": seed,
        "side": side,
        "iters": run.iters,
        "device": run.config["device"],
        "precision": run.config["precision"],
        "s_per_iter": steady,
        "best": float(h["psnr"][best]),
        "best_iter": int(h["iter"][best]),
        "best_seconds": float(h["seconds"][best]),
        "best_ema": float(h["psnr_ema"][best_ema]),
        "best_ema_iter": int(h["iter"][best_ema]),
        "end": float(h["psnr"][-1]),
        "end_ema": float(h["psnr_ema"][-1]),
        # Every CURVE_STEP-th PSNR, so the verdict can ask when a network first reached a given quality.
        "curve": [round(float(v), 3) for v in h["psnr"][::CURVE_STEP]],
        # and of the output average, which the lessons show beside the classical methods
        "curve_ema": [round(float(v), 3) for v in h["psnr_ema"][::CURVE_STEP]],
    }


def side_of(row: dict) -> int:
    """The side of the crop a run was fitted to."""
    return row.get("side", SIDE)


def _reference(rows: list[dict], name: str = "paper") -> dict[tuple[str, str], dict]:
    """The run per task and crop that candidates are compared with (the paper network's, or the network `name`'s):
    its seed-0 run where it has several."""
    runs = sorted((r for r in rows if r["network"] == name), key=lambda r: -r.get("seed", 0))
    return {(r["task"], r["image"]): r for r in runs}


def _pairs(rows: list[dict], name: str, task: str, paper: dict[tuple[str, str], dict]) -> list[tuple[dict, dict]]:
    """A network's runs on a task, each with the paper network's run on the same crop (crops it lacks left out)."""
    mine = [r for r in rows if r["network"] == name and r["task"] == task]
    return [(r, paper[(task, r["image"])]) for r in mine if (task, r["image"]) in paper]


def _presets_like(name: str) -> list[str]:
    """The presets whose network is the search's network `name` (a candidate that became a preset), at its precision."""
    suffix = BF16 if name.endswith(BF16) else ""
    return [p + suffix for p, spec in dip.PRESETS.items() if spec == NETWORKS[name]]


def budget(rows: list[dict]) -> str:
    """The runs' iteration budget, or its range where the crops had different ones."""
    low, high = min(r["iters"] for r in rows), max(r["iters"] for r in rows)
    return str(low) if low == high else f"{low}–{high}"


def table(rows: list[dict]) -> str:
    """Means over the images, one line per network and task."""
    lines = [
        "| network | task | s/iter | best PSNR (mean) | iteration of best | seconds to best | PSNR at end "
        "| end iteration | best of average |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in NETWORKS:
        for task in TASKS:
            got = [r for r in rows if r["network"] == name and r["task"] == task]
            if not got:
                continue

            def mean(key: str, got=got) -> float:
                return float(np.mean([r[key] for r in got]))

            lines.append(
                f"| {name} | {task} | {mean('s_per_iter'):.3f} | {mean('best'):.2f} | {mean('best_iter'):.0f} "
                f"| {mean('best_seconds'):.0f} | {mean('end'):.2f} | {budget(got)} | {mean('best_ema'):.2f} |"
            )
    return "\n".join(lines)


def _mean_worst(gaps: list[float]) -> str:
    """A table cell for gaps in dB: their mean and the worst (lowest) of them."""
    return f"{np.mean(gaps):+.2f}, {min(gaps):+.2f}"


def _keys(average: bool) -> tuple[str, str]:
    """Where a row keeps the curve and the best PSNR: of the output, or of the output average."""
    return ("curve_ema", "best_ema") if average else ("curve", "best")


def reached(row: dict, level: float) -> int | None:
    """The first iteration at which a run's stored curve reached `level` dB; None when it never did."""
    for i, value in enumerate(row.get("curve", ())):
        if value >= level:
            return 1 + i * CURVE_STEP
    return None


def seconds_to(row: dict, pace: dict[str, float] | None = None, iters: int | None = None) -> float:
    """A run's seconds to iteration `iters` (default: to its best): iterations times its network's pace measured
    alone (benchmarks/speed.py) where `pace` has it, else times the run's own clock."""
    per = (pace or {}).get(row["network"], row["s_per_iter"])
    return (row["best_iter"] if iters is None else iters) * per


def verdict(rows: list[dict], pace: dict[str, float] | None = None, reference: str = "paper") -> str:
    """Each candidate against the paper network, crop by crop: the issue's two quality targets.

    Δ best is the candidate's best PSNR minus the paper network's on the same crop and task (and the same for
    the output average, the image the lessons compare with the classical methods). Two time ratios,
    both over the paper network's seconds to its best: the candidate's seconds to its own best, and its
    seconds to first come within MARGIN_DB of the paper network's best ("—" where a run kept no curve).
    Seconds are iterations times `pace` (seconds per iteration measured alone, by benchmarks/speed.py) when
    given, else each run's own clock. `reference` names another network to compare with in the paper network's place.
    """
    paper = _reference(rows, reference)
    ref = reference
    lines = [
        f"| network | task | Δ best vs {ref} (mean, worst) dB | time to best / {ref}'s (mean, worst) "
        f"| time to {ref}'s best − {MARGIN_DB} dB / {ref}'s (mean, worst) | Δ best of average (mean, worst) dB |",
        "|---|---|---|---|---|---|",
    ]
    for name in NETWORKS:
        if name == reference:
            continue
        for task in TASKS:
            pairs = _pairs(rows, name, task, paper)
            if not pairs:
                continue
            gaps = [r["best"] - p["best"] for r, p in pairs]
            averages = [r["best_ema"] - p["best_ema"] for r, p in pairs]
            ratios = [seconds_to(r, pace) / seconds_to(p, pace) for r, p in pairs]
            gap, ratio = _mean_worst(gaps), f"{np.mean(ratios):.2f}, {max(ratios):.2f}"
            if all("curve" in r for r, _ in pairs):
                hits = [reached(r, p["best"] - MARGIN_DB) for r, p in pairs]
                if None in hits:
                    near = f"not reached on {hits.count(None)} of {len(hits)}"
                else:
                    near_ratios = [
                        seconds_to(r, pace, hit) / seconds_to(p, pace) for (r, p), hit in zip(pairs, hits, strict=True)
                    ]
                    near = f"{np.mean(near_ratios):.2f}, {max(near_ratios):.2f}"
            else:
                near = "—"
            lines.append(f"| {name} | {task} | {gap} | {ratio} | {near} | {_mean_worst(averages)} |")
    return "\n".join(lines)


def _budgeted(rows: list[dict], pace: dict[str, float] | None, average: bool = False, reference: str = "paper"):
    """Per network and task with curves (of the output average, with `average`): (name, task, seconds per
    iteration, whether that is the runs' own clock, [(run, the reference network's run on the same crop)])."""
    curve, _ = _keys(average)
    paper = _reference(rows, reference)
    for name in NETWORKS:
        for task in TASKS:
            pairs = [(r, p) for r, p in _pairs(rows, name, task, paper) if curve in r]
            if not pairs:
                continue
            own = pace is None or name not in pace  # no pace measured alone: the runs' own clock
            per = float(np.mean([r["s_per_iter"] for r, _ in pairs])) if own else pace[name]
            yield name, task, per, own, pairs


def best_within(row: dict, iters: int, average: bool = False) -> float:
    """A run's best stored PSNR within its first `iters` iterations (of the output average with `average`)."""
    return max(row[_keys(average)[0]][: iters // CURVE_STEP + 1])


def _gaps(pairs: list[tuple[dict, dict]], iters: int, average: bool = False) -> list[float]:
    """Each crop's best PSNR within its first `iters` iterations minus the paper network's best on that crop (of
    the output average, both, with `average`)."""
    best = _keys(average)[1]
    return [best_within(r, iters, average) - p[best] for r, p in pairs]


def within(
    rows: list[dict],
    pace: dict[str, float] | None,
    minutes: list[float],
    average: bool = False,
    reference: str = "paper",
) -> str:
    """What each network reaches in a lesson's minutes: its best PSNR within each budget against the paper network's.

    Each cell is the mean and worst, over the runs (crops, and seeds where there are several), of the best PSNR a
    network's stored curve reaches within the budget minus the paper network's best over its whole run on the
    same crop (so the paper network's own line says how far it still is from its best). "≥" marks a run that
    ended before the budget did: its best within the run is a floor on its best within the budget. Seconds are
    iterations times `pace` (marked "own clock" where `pace` lacks the network), else each run's own clock, as
    in `verdict`. With `average` it reads the output average's curve and the paper network's best average (runs
    that kept no such curve are left out). `reference` as in `verdict`.
    """
    heads = " | ".join(f"{m:g} min" for m in minutes)
    lines = [f"| network | task | s/iter | runs | {heads} |", "|---|---|---|---|" + "---|" * len(minutes)]
    for name, task, per, own, pairs in _budgeted(rows, pace, average, reference):
        cells = []
        for m in minutes:
            iters = int(m * 60 / per)  # the iterations the budget buys
            gaps = _gaps(pairs, iters, average)
            floor = "≥ " if any(r["iters"] < iters for r, _ in pairs) else ""
            cells.append(f"{floor}{_mean_worst(gaps)}")
        clock = " (own clock)" if own and pace is not None else ""
        lines.append(f"| {name} | {task} | {per:.3f}{clock} | {len(pairs)} | {' | '.join(cells)} |")
    return "\n".join(lines)


def plot_within(
    rows: list[dict], pace: dict[str, float] | None, path: str, average: bool = False, reference: str = "paper"
) -> list[str]:
    """`within` as a figure: per task, each network's mean gap to the paper network's best against minutes
    (to `reference`'s, as in `verdict`).

    One panel per task; a line (the mean over its runs) per network fitted on every crop the paper network was,
    drawn up to the end of its shortest run (no extrapolation), at `pace` (networks without one are left out
    when `pace` is given); of the output average with `average`, as in `within`.
    Returns the networks drawn, as "task: name".
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    crops: dict[str, set[str]] = {}  # the paper network's crops per task
    for task, image in _reference(rows, reference):
        crops.setdefault(task, set()).add(image)
    found = [
        (name, task, per, pairs)
        for name, task, per, own, pairs in _budgeted(rows, pace, average, reference)
        if not (own and pace is not None) and {r["image"] for r, _ in pairs} == crops[task]
    ]
    tasks = [t for t in TASKS if any(task == t for _, task, _, _ in found)]
    if not tasks:
        raise ValueError("no network has a curve on every crop of the paper network's")
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.5 * len(tasks), 4), squeeze=False, sharey=True)
    drawn = []
    for ax, task in zip(axes[0], tasks, strict=True):
        for name, _, per, pairs in (b for b in found if b[1] == task):
            last = min(r["iters"] for r, _ in pairs)
            iters = np.arange(1, last + 1, CURVE_STEP)
            mean = [float(np.mean(_gaps(pairs, int(i), average))) for i in iters]
            label = next(iter(_presets_like(name)), name) if name in CANDIDATES else name
            ax.plot(iters * per / 60, mean, label=f"{label} ({per:.3f} s/iter)", lw=2 if label != name else 1.2)
            drawn.append(f"{task}: {name}")
        ax.axhline(-MARGIN_DB, color="grey", ls="--", lw=1)
        ticks = [0.25, 0.5, 1, 2, 4, 8, 16, 32]
        ax.set(title=task, xlabel="minutes (iterations × s/iter)", xscale="log", ylim=(-8, 1), xlim=(0.25, 32))
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    what = f"best average so far − {reference}'s\nbest average" if average else f"best so far − {reference}'s best"
    axes[0][0].set_ylabel(f"{what} of its run, dB\n(mean over crops; dashed: −{MARGIN_DB})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return drawn


# Speed files whose rows do not record their network (benchmarks/results/speed-amx-bf16.json) timed these presets
# when they had the paper's 4-channel skips, as these search networks; both have wide skips now.
EARLIER_PRESETS = {"lesson-text": "n32to128-in8-nearest", "lesson-pixels": "n32to128-in32"}


def _measured(row: dict) -> NetSpec | None:
    """The network a benchmarks/speed.py row timed: the one it records, else its name's in the files of its time
    (None for a name neither the search nor the package knows now)."""
    if "net" in row:
        return NetSpec.from_description(row["net"])
    name = row["preset"].removesuffix(BF16)
    name = EARLIER_PRESETS.get(name, name)
    return NETWORKS.get(name) or dip.PRESETS.get(name)


def pace_from(path: str, side: int = SIDE) -> dict[str, float]:
    """Seconds per iteration at side × side by network name, from benchmarks/speed.py's JSON."""
    data = json.loads(Path(path).read_text())
    rows = [r for r in data.get("presets", []) if "per_iter" in r and side_of(r) == side]
    pace = {r["preset"]: r["per_iter"] for r in rows}
    for r in data.get("paper", []):
        if r.get("side") == side and "per_iter" in r:
            pace[r.get("preset", "paper")] = r["per_iter"]  # "paper", or "paper-bf16"
    # A candidate that became a preset was timed under the preset's name: match the network (and the precision).
    timed = [(r["preset"].endswith(BF16), _measured(r), r["per_iter"]) for r in rows]
    for name in NETWORKS:
        same = [per for bf16, net, per in timed if bf16 == name.endswith(BF16) and net == NETWORKS[name]]
        if name not in pace and same:
            pace[name] = same[0]
    return pace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated network names (default: all)")
    parser.add_argument("--iters", type=int, default=2000, help="iterations for the candidates")
    parser.add_argument("--paper-iters", type=int, default=1000, help="iterations for the paper network")
    parser.add_argument("--images", default=",".join(IMAGES))
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--side", type=int, default=SIDE, help="side of the centre crops (a multiple of 32)")
    parser.add_argument(
        "--seeds", default="0", help="comma-separated seeds: one fit per seed (weights and input; the damage stays)"
    )
    parser.add_argument("--json", default="presets.json")
    parser.add_argument(
        "--strict-fp32",
        action="store_true",
        help="on a GPU, convolutions in strict float32 as on a CPU (PyTorch's default there is TF32)",
    )
    parser.add_argument(
        "--with",
        dest="extra",
        default="",
        help="comma-separated saved searches whose rows join --json's in the tables (fits are written to --json only)",
    )
    parser.add_argument("--speed", help="benchmarks/speed.py JSON: seconds per iteration measured alone")
    parser.add_argument("--table", action="store_true", help="print the tables from --json and stop")
    parser.add_argument(
        "--paper-from",
        help="take the paper network's rows from this saved search instead of fitting it (they replace any in --json)",
    )
    parser.add_argument(
        "--minutes", default="", help="comma-separated budgets: also print each network's best within them"
    )
    parser.add_argument("--plot", help="also draw each network's best so far against minutes into this image")
    parser.add_argument(
        "--reference",
        default="paper",
        help="the tables compare with this network's runs instead of the paper network's (for text: paper-text-bf16)",
    )
    parser.add_argument(
        "--average",
        action="store_true",
        help="--minutes and --plot read the output average's PSNR (the image the lessons compare), not the output's",
    )
    args = parser.parse_args(argv)
    names = [n for n in (args.only.split(",") if args.only else NETWORKS) if n]
    unknown = [n for n in names if n not in NETWORKS]
    if unknown:
        parser.error(f"unknown network {unknown[0]!r}; choose from: {', '.join(NETWORKS)}")
    try:
        minutes = [float(m) for m in args.minutes.split(",") if m]
    except ValueError:
        parser.error(f"--minutes takes numbers separated by commas, not {args.minutes!r}")
    if any(m <= 0 for m in minutes):
        parser.error("--minutes takes budgets above zero")
    try:
        seeds = sorted({int(v) for v in args.seeds.split(",") if v})
    except ValueError:
        parser.error(f"--seeds takes whole numbers separated by commas, not {args.seeds!r}")
    if not seeds:
        parser.error("--seeds needs at least one seed")
    if args.reference not in NETWORKS:
        parser.error(f"--reference: unknown network {args.reference!r}")
    paper_rows: list[dict] = []
    if args.paper_from:
        if not Path(args.paper_from).exists():
            parser.error(f"--paper-from: no saved search at {args.paper_from}")
        paper_rows = [r for r in json.loads(Path(args.paper_from).read_text())["rows"] if r["network"] == "paper"]
        names = [n for n in names if n != "paper"]  # the reference comes from the file
    if args.strict_fp32:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    if args.side <= 0 or args.side % 32:
        parser.error(f"--side {args.side}: the networks need a multiple of 32")
    out = Path(args.json)
    rows: list[dict] = json.loads(out.read_text())["rows"] if out.exists() else []
    if not args.table and any(side_of(r) != args.side for r in rows):
        parser.error(f"--json {out} holds crops of another side than {args.side}: write them to another file")
    started = time.perf_counter()
    for name in [] if args.table else names:
        iters = args.paper_iters if name == "paper" else args.iters
        for task in args.tasks.split(","):
            for image, seed in [(i, s) for i in args.images.split(",") for s in seeds]:
                key = (name, task, image, seed)
                same = [r for r in rows if (r["network"], r["task"], r["image"], r.get("seed", 0)) == key]
                if same and same[0]["iters"] >= iters:
                    continue  # measured already with at least this budget (a resumed search)
                row = fit_one(name, task, image, iters, args.device, seed, args.side)
                rows = [r for r in rows if r not in same] + [row]
                out.write_text(json.dumps({"rows": rows}, indent=1))
                print(
                    f"{name} | {task} | {image} | seed {seed}: best {row['best']:.2f} at {row['best_iter']}, "
                    f"end {row['end']:.2f}, {row['s_per_iter']:.3f} s/iter",
                    flush=True,
                )
    for extra in (f for f in args.extra.split(",") if f):
        if not Path(extra).exists():
            parser.error(f"--with: no saved search at {extra}")
        rows = rows + json.loads(Path(extra).read_text())["rows"]
    if paper_rows:
        rows = [r for r in rows if r["network"] != "paper"] + paper_rows
    sides = sorted({side_of(r) for r in rows})
    if len(sides) > 1:  # a run's PSNR depends on its crop: compare like with like
        parser.error(f"the saved searches mix crops of sides {', '.join(map(str, sides))}: give one side's")
    pace = pace_from(args.speed, sides[0] if sides else args.side) if args.speed else None
    print()
    print(table(rows))
    print()
    print(verdict(rows, pace, args.reference))
    if minutes:
        print()
        print(within(rows, pace, minutes, args.average, args.reference))
    if args.plot:
        try:
            plot_within(rows, pace, args.plot, args.average, args.reference)
        except ValueError as err:
            print(f"\nno plot: {err}", file=sys.stderr)
            return 1
        print(f"\ndrew {args.plot}")
    if not args.table:
        print(f"\n{time.perf_counter() - started:.0f} s; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
