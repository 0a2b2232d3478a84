"""The paper's scale on a GPU, in blocks of at most ten minutes: replays, then the table, then the lessons' check.

    python benchmarks/gpu_paper.py --minutes 9 --out "$OUT"             # as much as fits in 9 minutes, in order
    python benchmarks/gpu_paper.py --minutes 9 --blocks check --out "$OUT"  # one block only

1. **replays**: `dip-edu precompute --scale paper`, one replay at a time (512×512, 8000 iterations each), into
   assets/replays/paper/; each one finished is packed into OUT/paper-KEY.tar at once.
2. **table**: `benchmarks/paper_table.py --scale paper`, one task and image at a time, appended to
   benchmarks/gpu_paper.rows.jsonl (copied to OUT after each); the tables print from that file at the end, and
   `python benchmarks/paper_table.py --scale paper --rows benchmarks/gpu_paper.rows.jsonl --minutes 0` prints them
   again anywhere without fitting.
3. **check**: tests/test_gpu.py (one lesson's fit at the scale the lessons pick, and the CUDA graph's tests), then
   each lesson's minutes timed here at the picked scale, into OUT/gpu_paper.check.json.

Every block resumes: what is complete is kept (a replay, a table row), and nothing is started that its estimate says
cannot end within --minutes. The estimates are the H100's (the paper network at 512×512: 14.7 ms per iteration,
docs/performance.md) scaled by pixels and by the network's FLOPs, then corrected by the pace of what ran in this
call. Each line of output says what was done, kept or left for the next call.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dip_edu import lessons, replay, scale  # noqa: E402  (the checkout's package, also where it is not installed)

ROWS = ROOT / "benchmarks" / "gpu_paper.rows.jsonl"
MS_512 = scale.H100_MS[512] / 1000  # seconds per iteration of the paper network at 512×512 on an H100
TEXT_FLOPS = 1.68  # the reference code's text network (128-channel skips) against the paper network, counted
SAVE_SECONDS = 15.0  # writing a replay's PNGs, loading images, capturing the CUDA graph
CLASSICS_SECONDS = 40.0  # the classical methods beside one table image (BM3D the slowest), on the GPU machine's CPU
CHECK_SECONDS = 150.0


class Clock:
    """The call's budget, and the ratio of measured to estimated seconds of what ran so far (1 until then)."""

    def __init__(self, minutes: float) -> None:
        self.start, self.budget = time.perf_counter(), minutes * 60
        self.estimated = self.measured = 0.0

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.start)

    def fits(self, estimate: float) -> bool:
        return estimate * self.pace() <= self.left()

    def pace(self) -> float:
        return self.measured / self.estimated if self.estimated else 1.0

    def record(self, estimate: float, seconds: float) -> None:
        self.estimated, self.measured = self.estimated + estimate, self.measured + seconds


def replay_seconds(key: str, iters: int, side: int) -> float:
    """Estimated seconds of one paper-scale replay on an H100."""
    flops = TEXT_FLOPS if replay.network_at(key, "paper")[0] == "paper-text" else 1.0
    return iters * MS_512 * (side / 512) ** 2 * flops + SAVE_SECONDS


def pack(key: str, out: Path) -> None:
    """One replay's folder as OUT/paper-KEY.tar (the machine hands back few files, so one per replay)."""
    with tarfile.open(out / f"paper-{key}.tar", "w") as tar:
        tar.add(replay.folder("paper") / key, arcname=key)


def block_replays(clock: Clock, out: Path, iters: int, side: int, device: str) -> bool:
    """The five paper-scale replays; True when all are complete."""
    complete = True
    for key in replay.PAPER_KEYS:
        name, network = replay.network_at(key, "paper")
        if replay.is_complete(key, "paper", iters, side, network):
            print(f"replays: kept {key} (already complete)", flush=True)
            pack(key, out)
            continue
        estimate = replay_seconds(key, iters, side)
        if not clock.fits(estimate):
            print(f"replays: left {key} for the next call (about {estimate * clock.pace() / 60:.1f} min)", flush=True)
            complete = False
            continue
        begun = time.perf_counter()
        (summary,) = replay.precompute([key], "paper", iters=iters, size=side, device=device, progress=False)
        clock.record(estimate, time.perf_counter() - begun)
        if "failed" in summary:
            complete = False
            continue
        pack(key, out)
        print(f"replays: done {key} in {time.perf_counter() - begun:.0f} s, packed into paper-{key}.tar", flush=True)
    total = replay.total_bytes()
    print(f"replays: all together {total / 2**20:.1f} MiB (limit {replay.LIMIT_BYTES / 2**20:.0f} MiB)", flush=True)
    return complete


def _paper_table():
    spec = importlib.util.spec_from_file_location("paper_table", ROOT / "benchmarks" / "paper_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def block_table(clock: Clock, out: Path, device: str, overrides: dict) -> bool:
    """The paper-scale table, one task and image at a time; True when every row is in the rows file."""
    missing = [name for name in ("pywt", "bm3d") if importlib.util.find_spec(name) is None]
    if "pywt" in missing:  # the wavelet denoiser, one of denoising's classical methods, cannot run without it
        print("table: not started: PyWavelets is not installed here; carry it as a wheel", flush=True)
        return False
    if missing:
        print("table: bm3d is not installed here: the denoising rows have no BM3D column", flush=True)
    table = _paper_table()
    settings = {**table.scale_settings("paper"), **overrides}
    done = table.done_rows(ROWS, settings)
    complete = True
    for task, (corrupt, names, _) in table.TASKS.items():
        for image in names:
            if (task, image) in done:
                continue
            img = table.dip.load(f"builtin:{image}", size=settings["size"] or 512, resize=True)
            iters = settings.get("iters") or corrupt(img).settings["iters"]
            estimate = iters * MS_512 * img.shape[0] * img.shape[1] / 512**2 + SAVE_SECONDS + CLASSICS_SECONDS
            if not clock.fits(estimate):
                print(f"table: left {task} · {image} for the next call (about {estimate / 60:.1f} min)", flush=True)
                complete = False
                continue
            begun = time.perf_counter()
            done[(task, image)] = table.run_one(task, image, settings, device)
            table.append_row(ROWS, task, image, settings, done[(task, image)])
            clock.record(estimate, time.perf_counter() - begun)
            (out / ROWS.name).write_bytes(ROWS.read_bytes())
            print(f"table: done {task} · {image} in {time.perf_counter() - begun:.0f} s", flush=True)
    if ROWS.is_file():  # the tables so far, from the rows file alone (nothing is fitted)
        args = ["--scale", "paper", "--rows", str(ROWS), "--json", str(ROWS.with_suffix(".json")), "--minutes", "0"]
        args += [f"--{k}={v}" for k, v in overrides.items() if v is not None]
        table.main(args)
        (out / ROWS.name).write_bytes(ROWS.read_bytes())
    return complete


def block_check(clock: Clock, out: Path) -> bool:
    """The GPU tests, then each lesson's minutes here at the scale the lessons pick."""
    if not clock.fits(CHECK_SECONDS):
        print(f"check: left for the next call (about {CHECK_SECONDS / 60:.1f} min)", flush=True)
        return False
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/test_gpu.py"],
                           cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    print(tests.stdout[-4000:], tests.stderr[-2000:], flush=True)
    picked = scale.current()
    minutes = {}
    for key in lessons.LESSONS:
        side, iters = lessons.budget(key)
        timed = lessons.estimate(key)
        minutes[key] = {"side": side, "iters": iters, "networks": lessons.networks(key), "minutes": timed.minutes,
                        "low": timed.low, "high": timed.high, "header": lessons.LESSONS[key].cpu_minutes}  # fmt: skip
        print(f"check: lesson {key} at {picked} scale, {side}×{side}: {timed}; its header says "
              f"{lessons.LESSONS[key].cpu_minutes:.1f} min", flush=True)  # fmt: skip
    import torch

    record = {"scale": picked, "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
              "tests_rc": tests.returncode, "lessons": minutes}  # fmt: skip
    (out / "gpu_paper.check.json").write_text(json.dumps(record, indent=1))
    return tests.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=9.0, help="start nothing that would end after this")
    parser.add_argument("--out", default="gpu-paper-out", help="folder for what comes back from the machine")
    parser.add_argument("--blocks", default="replays,table,check", help="which blocks, in this order")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--iters", type=int, default=replay.ITERS, help="replay iterations (tests: fewer)")
    parser.add_argument("--side", type=int, default=replay.SCALES["paper"][0], help="replay side (tests: smaller)")
    parser.add_argument("--table-size", type=int, default=None, help="table image side (tests: smaller)")
    parser.add_argument("--table-iters", type=int, default=None, help="table iterations (tests: fewer)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clock = Clock(args.minutes)
    blocks = [b.strip() for b in args.blocks.split(",") if b.strip()]
    unknown = [b for b in blocks if b not in ("replays", "table", "check")]
    if unknown:
        print(f"unknown block {unknown[0]!r}: choose from replays, table, check", file=sys.stderr)
        return 2
    finished = {}
    for block in blocks:
        if block == "replays":
            finished[block] = block_replays(clock, out, args.iters, args.side, args.device)
        elif block == "table":
            overrides = {"size": args.table_size, "iters": args.table_iters}
            finished[block] = block_table(clock, out, args.device, {k: v for k, v in overrides.items() if v})
        else:
            finished[block] = block_check(clock, out)
    spent = (time.perf_counter() - clock.start) / 60
    print(f"gpu_paper: {spent:.1f} min; " + "; ".join(f"{b} {'complete' if ok else 'not complete'}"
                                                     for b, ok in finished.items()), flush=True)  # fmt: skip
    return 0 if all(finished.values()) else 3


if __name__ == "__main__":
    raise SystemExit(main())
