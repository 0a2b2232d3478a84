"""What each lesson runs by default (at the scale `dip_edu.scale` picks), the test mode that shrinks it for CI, and
a timing that predicts it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import scale as scales

TEST_MODE = os.environ.get("DIP_EDU_TEST_MODE") == "1"
PRESENTING = os.environ.get("DIP_EDU_PRESENT") == "1"  # shown as an app by `dip-edu present` (dip_edu.present)
PRESENT_LIVE_MINUTES = 2.0  # presenting, a lesson predicted to fit longer than this opens its panels on Replay
_replay_first = False  # set by `announce` when presenting on a machine too slow for the room


def _assets() -> Path:
    """The masks and replays the project ships: inside the installed package (a wheel carries them there), or
    beside it in a source checkout (an editable install)."""
    here = Path(__file__).resolve().parent
    return here / "assets" if (here / "assets").is_dir() else here.parent / "assets"


ASSETS = _assets()


@dataclass(frozen=True)
class Lesson:
    """A lesson's main run: its task, preset, image side and iterations (and the budget used under test)."""

    title: str
    task: str
    size: int = 128
    iters: int = 3000
    runs: int = 1  # main runs the lesson makes (01 fits four signals, 05 several images)
    preset: str = "lesson"  # "lesson": each run's task picks its lesson network (nets.lesson_for)
    tasks: tuple[str, ...] = ()  # the runs' tasks where they differ from `task`, one run each
    test_size: int = 64
    test_iters: int = 300  # enough for each lesson's assert cell to check a real fact

    @property
    def run_tasks(self) -> tuple[str, ...]:
        """The task of each main run."""
        return self.tasks or (self.task,) * self.runs

    def minutes(self, nets: list[str], pace, side: int, iters: int) -> float:
        """Minutes of its main runs, one per network of `nets`, at `side` and `iters`, from `pace(net)`: seconds per
        iteration at 128×128 (the cost grows with the pixel count)."""
        return sum(pace(net) for net in nets) * (side / 128) ** 2 * iters / 60

    @property
    def cpu_minutes(self) -> float:
        """The minutes its header promises: its runs at lesson scale, at the Intel machine's paces (`CPU_PACE`)."""
        nets = [scales.network_for(t, "lesson") for t in self.run_tasks]
        return self.minutes(nets, CPU_PACE.__getitem__, self.size, self.iters)

    @property
    def paper_size(self) -> int:
        """The image side at paper scale: the largest whose runs of the paper network should fit in `cpu_minutes`
        on a common teaching GPU (an estimate, `dip_edu.scale`), never below the lesson's own side."""
        return scales.paper_side(len(self.run_tasks) * self.iters, self.cpu_minutes, self.size)

    def budget_at(self, scale: str) -> tuple[int, int]:
        """(side, iterations) at a scale, without the test mode."""
        return (self.paper_size if scale == "paper" else self.size), self.iters

    @property
    def budget(self) -> tuple[int, int]:
        """(side, iterations) to use now: the lesson's own at the current scale (`dip_edu.scale.current`), or the
        small test budget under DIP_EDU_TEST_MODE at either scale."""
        return (self.test_size, self.test_iters) if TEST_MODE else self.budget_at(scales.current())


# Seconds per iteration at 128×128 on the 2-core Intel machine without AMX tiles, float32 (docs/performance.md,
# "Speed"): the paces behind the minutes each lesson's header states.
CPU_PACE = {"lesson": 0.017, "lesson-text": 0.042, "lesson-pixels": 0.048}


LESSONS: dict[str, Lesson] = {
    # 64×64: 12,288 values a target, against the `lesson` network's 39,127 parameters, so it could hold any of them
    "01": Lesson("the prior is in the structure", "reconstruct", size=64, iters=1500, runs=4, test_iters=150),
    "02": Lesson("denoising", "denoise", iters=8000),
    "03": Lesson(
        "inpainting", "inpaint-text", iters=3000, runs=3, tasks=("inpaint-text", "inpaint-pixels", "inpaint-region")
    ),
    "04": Lesson("super-resolution", "sr", iters=2000, test_iters=600),
    "05": Lesson("early stopping without ground truth", "denoise", iters=3000, runs=3, test_iters=1000),
    "06": Lesson("the architecture", "denoise", iters=1500, runs=6),  # four variants, then two fills of a hole
    "07": Lesson("your own image", "inpaint-region", iters=3000),
}


ES_WMV_GAP_DB = 2.5  # lesson 05's claim: on denoising, ES-WMV's stop is within this of the true peak


def networks(lesson: str, scale: str | None = None) -> list[str]:
    """The network preset of each of a lesson's main runs at `scale` (the current one when not given): each task's
    lesson network at lesson scale, the paper's network at paper scale."""
    info = LESSONS[lesson]
    return [scales.network_for(t, scale) if info.preset == "lesson" else info.preset for t in info.run_tasks]


def budget(lesson: str) -> tuple[int, int]:
    """(image side, iterations) for a lesson's main run, shrunk under test mode."""
    return LESSONS[lesson].budget


def checkpoints(iters: int) -> tuple[int, ...]:
    """Snapshot iterations of a lesson's live run: 0 (the untrained network's output, where the paper's figures
    start), then every 250 with the paper's 500, 1500, 2500 and 8000, or quarters of a short test-mode run."""
    from .replay import checkpoints as replay_checkpoints  # here: replays find their folder through this module

    if TEST_MODE:
        return (0, *sorted({max(1, iters * q // 4) for q in (1, 2, 3, 4)}))
    return (0, *replay_checkpoints(iters))  # the replays' own marks, so live and replayed runs scrub alike


def block_paces(
    preset: str = "lesson", size: int = 128, seconds: float = 20.0, device: str = "auto", blocks: int = 5
) -> list[float]:
    """Seconds per iteration of one preset here, measured `blocks` times over about `seconds` in all.

    One fit (after a three-iteration warm-up) is cut into equal blocks of iterations, and each block's pace is
    returned: their median is a robust estimate, and their spread says how steady the machine is (a busy one
    gives a wide spread; one slow block, a passing load, does not move the median).
    """
    from .degrade import noisy
    from .fast.cpu import off_main_thread
    from .fit import fit

    img = np.random.default_rng(0).random((size, size, 3)).astype(np.float32)
    problem = noisy(img, sigma=25)
    # timed off the notebook's main thread, where a panel fits too (see `fast.cpu.off_main_thread`)
    warm = off_main_thread(lambda: fit(problem, preset, iters=3, checkpoints=(), device=device))
    n = blocks * max(2, int(seconds / blocks / max(warm.sec_per_iter(), 1e-4)))
    elapsed = off_main_thread(lambda: fit(problem, preset, iters=n, checkpoints=(), device=device)).history["seconds"]
    ends = elapsed[np.arange(1, blocks + 1) * (n // blocks) - 1]
    return list(np.diff(ends, prepend=0.0) / (n // blocks))


def seconds_per_iter(preset: str = "lesson", size: int = 128, seconds: float = 20.0, device: str = "auto") -> float:
    """Seconds per iteration of one preset here: the median of five timings spread over about `seconds`."""
    return float(np.median(block_paces(preset, size, seconds, device)))


def expected_minutes(per_iter_at_128: float, pace: dict[str, float] | None = None) -> dict[str, float]:
    """Minutes each lesson's main runs should take here, from the seconds per iteration at 128×128: `pace`
    by network where known (a wider network costs more), else `per_iter_at_128`."""
    known = pace or {}
    return {
        key: lesson.minutes(networks(key), lambda net: known.get(net, per_iter_at_128), *lesson.budget)
        for key, lesson in LESSONS.items()
    }


def environment() -> dict[str, str]:
    """Versions of what the lessons use, the device a fit will run on, and what a fit changes in this process."""
    import platform

    import torch

    from .fast import BF16_MIN_WIDTH, pick_precision, process_settings
    from .fit import pick_device

    info = {"python": platform.python_version()}
    for package in ("dip-edu", "torch", "numpy", "scikit-image", "matplotlib", "ipywidgets"):
        info[package] = _version(package)
    device = pick_device("auto")
    info["device"] = torch.cuda.get_device_name(0) if device.type == "cuda" else str(device)
    info["cpu threads"] = str(torch.get_num_threads())
    bf16 = pick_precision("auto", device) is not None
    wide = f"bf16 for networks {BF16_MIN_WIDTH} channels wide or more (AMX tiles), else float32"
    info["convolutions"] = wide if bf16 else "float32"
    changes = process_settings()
    info["process settings"] = "; ".join(changes) + " (dip_edu.fast.configure turns them off)" if changes else "none"
    return info


def _version(package: str) -> str:
    """An installed package's version; for this package run from a checkout without installing it (as on a GPU
    machine that cannot install), the checkout's own; else "not installed"."""
    import re
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        project = Path(__file__).resolve().parent.parent / "pyproject.toml"
        found = re.search(r'^version = "([^"]+)"', project.read_text(), re.M) if project.is_file() else None
        return found.group(1) if package == "dip-edu" and found else "not installed"


@dataclass(frozen=True)
class Estimate:
    """How long a lesson's main runs should take here: the median timing's minutes and the range of the rest."""

    minutes: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"about {self.minutes:.1f} min here ({self.low:.1f}–{self.high:.1f} min over five timings)"


def estimate(lesson: str, preset: str | None = None) -> Estimate:
    """Time each of a lesson's networks (or `preset` for all of them) here and predict its minutes."""
    side, _ = LESSONS[lesson].budget
    timed = {
        net: np.asarray(block_paces(net, size=side, seconds=1.0 if TEST_MODE else 5.0)) * (128 / side) ** 2
        for net in sorted({preset} if preset else set(networks(lesson)))
    }

    def minutes(pick) -> float:
        return expected_minutes(0.0, {net: float(pick(timed[preset or net])) for net in networks(lesson)})[lesson]

    return Estimate(minutes(np.median), minutes(np.min), minutes(np.max))


def announce(lesson: str, preset: str | None = None) -> None:
    """Print how long this lesson's main runs should take here, from a few seconds' timing of its networks.

    When presenting (`dip-edu present`), a lesson predicted to take longer than `PRESENT_LIVE_MINUTES` has its
    panels open on Replay, and says so.
    """
    global _replay_first
    info = LESSONS[lesson]
    side, iters = info.budget
    predicted = estimate(lesson, preset)
    print(scale_line(lesson))
    print(f"{info.runs} run(s) of {iters} iterations on {side}×{side}: {predicted}")
    if PRESENTING:
        _replay_first = predicted.minutes > PRESENT_LIVE_MINUTES
        if _replay_first:
            print(f"Over {PRESENT_LIVE_MINUTES:.0f} minutes: the panels open on Replay, the full runs made earlier.")
        return
    print("A machine busy with other work runs slower; the panel's status line shows the pace as the fit goes.")


def scale_line(lesson: str) -> str:
    """One line saying which scale this lesson runs at here, and why."""
    scale, nets = scales.current(), ", ".join(dict.fromkeys(networks(lesson)))
    side, _ = LESSONS[lesson].budget
    why = (
        "set by " + scales.ENV
        if os.environ.get(scales.ENV, "").strip()
        else ("a CUDA GPU is here" if scale == "paper" else "no CUDA GPU here")
    )
    other = "lesson" if scale == "paper" else "paper"
    return (
        f"Scale: {scale} ({why}): network {nets} at {side}×{side}; {scales.ENV}={other} switches to the {other} scale."
    )


def replay_first() -> bool:
    """Whether panels should open on Replay: presenting, on a machine `announce` found too slow for the lesson."""
    return PRESENTING and _replay_first


def prior_targets(img, seed: int = 0) -> dict:
    """The paper's Fig. 2 targets: a natural image, the image plus noise, its pixels shuffled, uniform noise."""
    rng = np.random.default_rng(seed)
    h, w, c = img.shape
    noisy = np.clip(img + rng.normal(0, 25 / 255, img.shape), 0, 1).astype(np.float32)
    shuffled = img.reshape(-1, c)[rng.permutation(h * w)].reshape(h, w, c)
    noise = rng.random(img.shape).astype(np.float32)
    return {"natural image": img, "image + noise": noisy, "shuffled pixels": shuffled, "uniform noise": noise}
