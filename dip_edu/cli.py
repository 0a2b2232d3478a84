"""The `dip-edu` command: restore one image from the shell, with a JSON summary for benchmarks and scripts; present
a lesson; compute the replays; copy the lessons into a learner's folder.

Bad input gets one line on stderr and exit status 2; nothing is written to --out or --json before the fit
has produced a run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import warnings
from pathlib import Path

from . import degrade, images, memory, nets, tasks
from .errors import DipError, DipNotice, number, require
from .fit import BF16_MIN_WIDTH, DEFAULT_CHECKPOINTS, PRECISIONS, fit, pick_device
from .problem import Problem
from .run import Run, _atomic_write


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise DipError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dip-edu", description="Deep Image Prior restorations from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="fit a network to one degraded image")
    run.add_argument("--task", required=True, choices=tuple(tasks.TASKS))
    run.add_argument("--image", required=True, help="a PNG/JPEG path or builtin:NAME")
    run.add_argument("--mask", help=f"mask image for {_taking('mask')} (white = known, black = missing)")
    run.add_argument("--size", type=int, help="centre-crop to a square of this side")
    run.add_argument("--resize", action="store_true", help="with --size: resize the short side instead of cropping")
    run.add_argument("--sigma", type=float, default=25.0, help="noise std on the 0-255 scale (denoise)")
    run.add_argument("--drop", type=float, default=0.5, help="fraction of pixels dropped (inpaint-pixels)")
    run.add_argument("--factor", type=int, default=4, help="super-resolution factor: 2, 4 or 8")
    run.add_argument("--text", default=degrade.DEFAULT_TEXT, help="text drawn over the image (inpaint-text)")
    run.add_argument("--observed", action="store_true", help="the image is already degraded: no ground truth")
    run.add_argument(
        "--preset", choices=tuple(nets.PRESETS), help="network (default: the task's lesson network, see lesson_for)"
    )
    run.add_argument("--iters", type=int, help="iterations (default: the paper's for the task)")
    run.add_argument("--lr", type=float, help="Adam learning rate (default: the paper's for the task)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    run.add_argument(
        "--precision",
        default="auto",
        choices=PRECISIONS,
        help=f"the network's convolutions: auto (bf16 on a CPU with AMX tiles for networks {BF16_MIN_WIDTH} channels "
        "wide or more), float32, bfloat16",
    )
    run.add_argument("--checkpoints", default=",".join(map(str, DEFAULT_CHECKPOINTS)))
    run.add_argument("--early-stop", action="store_true", help="stop where ES-WMV says (no ground truth needed)")
    run.add_argument("--out", help="folder for the snapshots (PNG) and the run record")
    run.add_argument("--json", help="file for the JSON summary")
    show = sub.add_parser("present", help="show a lesson as an app for a projector (Voilà: no code, no tracebacks)")
    show.add_argument("lesson", help="its number, e.g. 02")
    show.add_argument("--port", type=int, help="the server's port (Voilà's default 8866)")
    show.add_argument("--no-browser", action="store_true", help="do not open a browser")
    copy = sub.add_parser("lessons", help="copy the lessons into a folder, never over a copy already there")
    copy.add_argument("folder", nargs="?", default=".", help="where to put them (default: here); made if missing")
    pre = sub.add_parser("precompute", help="compute the lessons' replays (the only writer of assets/replays)")
    pre.add_argument("--only", help="comma-separated replay names (default: all)")
    pre.add_argument("--scale", default="lesson", choices=("lesson", "paper"), help="lesson: 128², CPU; paper: GPU")
    pre.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    pre.add_argument("--iters", type=int, default=8000)
    pre.add_argument("--list", action="store_true", help="list the replays and what is present, then stop")
    pre.add_argument("--force", action="store_true", help="refit replays already there and complete (default: keep)")
    return parser


def _taking(setting: str) -> str:
    """The tasks whose degradation takes `setting`, for help and error lines (e.g. "inpaint-region" for mask)."""
    return ", ".join(name for name, task in tasks.TASKS.items() if setting in task.inputs)


def make_problem(args: argparse.Namespace, multiple: int) -> Problem:
    """The Problem the arguments describe; every check happens here, before anything runs."""
    img = images.load(args.image, size=args.size, resize=args.resize, multiple=multiple)
    task = tasks.get(args.task)
    require(args.mask is None or "mask" in task.inputs or args.observed, f"--mask: only for {_taking('mask')}")
    if args.observed:  # no degradation to apply: degrade.observed reads the task from the mask and the factor
        factor = args.factor if "factor" in task.inputs else 1
        return degrade.observed(img, mask=args.mask, factor=factor)
    # Every setting goes to every task; each task's degradation takes its own (tasks.Task.build).
    return task.build(
        img, sigma=args.sigma, fraction=args.drop, factor=args.factor, text=args.text, mask=args.mask, seed=args.seed
    )


def parse_checkpoints(text: str) -> list[int]:
    try:
        marks = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise DipError(f"--checkpoints {text!r}: give iterations separated by commas, e.g. 500,1500") from None
    require(all(m > 0 for m in marks), f"--checkpoints {text!r}: iterations must be above 0")
    return marks


def write_outputs(run: Run, out: str | None, json_path: str | None) -> None:
    """Snapshots as PNG files and the run record into `out`; the summary into `json_path`."""
    if out:
        folder = Path(out)
        run.save(folder)
        images.save_png(run.observation, folder / "observation.png")
        if run.clean is not None:
            images.save_png(run.clean, folder / "clean.png")
        for s in run.snapshots:
            images.save_png(s.out, folder / f"iter{s.iter:05d}.png")
            images.save_png(s.ema, folder / f"iter{s.iter:05d}_avg.png")
    if json_path:
        text = json.dumps(run.summary())
        _atomic_write(Path(json_path).resolve(), lambda f: f.write(text.encode()))


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def cmd_run(args: argparse.Namespace) -> int:
    require(args.iters is None or args.iters > 0, f"--iters {args.iters}: must be above 0")
    number(args.seed, "--seed", 0, 2**32 - 1, whole=True)
    if args.size is not None:
        number(args.size, "--size", 1, None, whole=True)
    if args.lr is not None:
        number(args.lr, "--lr", 0, 1, open_lo=True)
    for path in filter(None, (args.json, args.out)):
        parent = Path(path).resolve().parent
        require(parent.is_dir(), f"{path!r}: the folder {str(parent)!r} does not exist")
    args.preset = args.preset or tasks.get(args.task).network
    net_spec = nets.spec(args.preset)
    problem = make_problem(args, net_spec.multiple)
    checkpoints = parse_checkpoints(args.checkpoints)
    memory.check(net_spec, problem.shape, pick_device(args.device))  # before anything is printed or written
    signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM keeps the partial run, as Ctrl-C does
    print(f"dip-edu: {problem.describe()}, preset {args.preset}", file=sys.stderr)
    run = fit(
        problem,
        args.preset,
        iters=args.iters,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        precision=args.precision,
        checkpoints=checkpoints,
        early_stop="stop" if args.early_stop else False,
        progress=True,
    )
    run.config.update(image=args.image, size=problem.shape[0] if args.size else None)
    write_outputs(run, args.out, args.json)
    peak = run.peak()
    tail = f", peak {peak[1]:.2f} dB at {peak[0]}" if peak else ""
    print(f"dip-edu: {run.status} after {run.iters} iterations in {run.seconds:.1f} s{tail}", file=sys.stderr)
    return 130 if run.status == "interrupted" else 0


def cmd_precompute(args: argparse.Namespace) -> int:
    from . import replay

    if args.list:
        for scale in replay.SCALES:
            present, where = set(replay.available(scale=scale)), replay.folder(scale)
            for key in replay.PAPER_KEYS if scale == "paper" else replay.RECIPES:
                mark = replay.describe(replay.read_meta(key, where)) if key in present else "not computed"
                print(f"{key:>18} ({scale}): {replay.RECIPES[key].about}; {mark}")
        return 0
    number(args.iters, "--iters", 1, None, whole=True)
    keys = [k for k in (args.only or "").split(",") if k] or None
    signal.signal(signal.SIGTERM, _raise_interrupt)
    print("| replay | scale | device | seconds | peak PSNR | PSNR at the end | size |")
    print("|---|---|---|---|---|---|---|")
    try:
        summaries = replay.precompute(
            keys, args.scale, iters=args.iters, device=args.device, force=args.force, log=print
        )
    except KeyboardInterrupt:
        print("dip-edu: interrupted; the replays finished so far are written, the one in progress is not")
        return 130
    total = replay.total_bytes()
    print(f"dip-edu: replays take {total / 2**20:.2f} MiB together (limit {replay.LIMIT_BYTES / 2**20:.0f} MiB)")
    failed = [s["key"] for s in summaries if "failed" in s]
    if failed:
        print(f"dip-edu: error: not written: {', '.join(failed)}", file=sys.stderr)
        return 1
    if total > replay.LIMIT_BYTES:
        print("dip-edu: error: the replays exceed their size limit; do not commit them as they are", file=sys.stderr)
        return 1
    return 0


LESSON_GLOB = "[0-9][0-9]_*.ipynb"


def lessons_folder() -> Path:
    """The lessons shipped with the package: inside it (a wheel carries them there), or beside it in a source
    checkout (an editable install), as `lessons.ASSETS` finds the assets."""
    here = Path(__file__).resolve().parent
    for folder in (here / "notebooks", here.parent / "notebooks"):
        if any(folder.glob(LESSON_GLOB)):
            return folder
    raise DipError("no lessons found beside the package: reinstall it (pip install dip-edu) or use a source checkout")


def copy_lessons(folder: Path, source: Path | None = None) -> tuple[list[str], list[str]]:
    """Copy the lessons into `folder` (made if missing), keeping every lesson already there.

    Parameters
    ----------
    folder : Path
        Where the lessons go, e.g. a learner's home.
    source : Path, optional
        The folder of lessons to copy (default: the package's, `lessons_folder()`).

    Returns
    -------
    copied, kept : list of str
        The file names copied, and those left alone because a file of that name was there: a learner's copy,
        edited or not, is theirs.
    """
    source = lessons_folder() if source is None else source
    require(not folder.exists() or folder.is_dir(), f"{str(folder)!r} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    copied, kept = [], []
    for lesson in sorted(source.glob(LESSON_GLOB)):
        target = folder / lesson.name
        if target.exists():
            kept.append(lesson.name)
            continue
        partial = folder / f".{lesson.name}.part"  # renamed into place whole, so a copy cut short is never "there"
        shutil.copyfile(lesson, partial)
        os.replace(partial, target)
        copied.append(lesson.name)
    return copied, kept


def cmd_lessons(args: argparse.Namespace) -> int:
    folder = Path(args.folder).expanduser()
    try:
        copied, kept = copy_lessons(folder)
    except OSError as exc:  # a folder the user may not write to, a full disk: one line, as for bad input
        raise DipError(f"{args.folder}: {exc.strerror or exc}") from None
    print(f"dip-edu: {len(copied)} lesson(s) copied to {folder}")
    if kept:
        print(f"dip-edu: kept {len(kept)} already there as they are (never overwritten): {', '.join(kept)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    warnings.showwarning = _show_notice
    warnings.simplefilter("always", DipNotice)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "present":
            from .present import present

            return present(args.lesson, args.port, browser=not args.no_browser)
        if args.command == "lessons":
            return cmd_lessons(args)
        return cmd_precompute(args) if args.command == "precompute" else cmd_run(args)
    except DipError as exc:
        print(f"dip-edu: error: {exc}", file=sys.stderr)
        return 2


_default_showwarning = warnings.showwarning


def _show_notice(message, category, *args, **kwargs) -> None:
    """Notices as one line each; other warnings as Python shows them."""
    if issubclass(category, DipNotice):
        print(f"dip-edu: note: {message}", file=sys.stderr)
    else:
        _default_showwarning(message, category, *args, **kwargs)


if __name__ == "__main__":
    sys.exit(main())
