"""The paper's protocols on bundled images: Deep Image Prior against the classical methods, as a results table.

    python benchmarks/paper_table.py --scale quick      # CPU, 128x128 crops, the lesson-wide network, cut budgets
    python benchmarks/paper_table.py --scale paper      # full images, the paper network and budgets (a GPU)

Prints a markdown table per task (PSNR / SSIM per image and method, then the means, with the paper's published
means beside them) and writes every number to JSON.

Resumable: each image's rows (one JSON line per task and image) are appended to the rows file
(paper_table-SCALE.jsonl, or --rows) the moment that image is done, and a later run skips every task and image
already there with the same settings; --minutes stops starting new images once that many minutes have passed.
The table and the JSON are made from the rows file, so they hold everything done so far.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import torch

import dip_edu as dip
from dip_edu import baselines, metrics
from dip_edu.errors import DipNotice

COLOUR = ["astronaut", "coffee", "chelsea", "rocket", "motorcycle"]
GREY = ["camera", "coins", "moon"]

# task -> (how to corrupt, images, iterations at quick scale); the paper's own budgets are in default_settings.
TASKS = {
    "denoise σ=25": (lambda im: dip.noisy(im, sigma=25, seed=0), COLOUR + GREY, 1000),
    "inpaint 50% pixels": (lambda im: dip.drop_pixels(im, 0.5, seed=0), GREY + COLOUR[:2], 1200),
    "inpaint text": (lambda im: dip.text_over(im, seed=0), COLOUR[:3], 800),
    "SR ×4": (lambda im: dip.downsample(im, 4), COLOUR, 400),
    "SR ×8": (lambda im: dip.downsample(im, 8), COLOUR[:3], 400),
}

# The paper's published means (Ulyanov et al. 2018), on its own image sets.
PUBLISHED = {
    "denoise σ=25": "DIP 29.22 (final), 30.43 (average); CBM3D 31.42; NLM 30.26 (9 colour images)",
    "inpaint 50% pixels": "DIP 33.48; sparse coding 31.19 (11 grey images)",
    "inpaint text": "no mean published (one example image)",
    "SR ×4": "Set5: DIP 29.90, bicubic 28.43; Set14: DIP 27.00, bicubic 26.05 (Y channel)",
    "SR ×8": "not quoted here; see the paper's Table 2",
}


def network(name: str) -> dip.NetSpec:
    """A preset of the package, or a network the preset search keeps (the quick scale's `lesson-wide`)."""
    if name in dip.PRESETS:
        return dip.spec(name)
    sys.path.insert(0, str(Path(__file__).parent))
    from presets import CANDIDATES

    return CANDIDATES[name]


def scale_settings(scale: str) -> dict:
    """Image side, network and iteration budget per scale."""
    if scale == "quick":
        return {"size": 128, "preset": "lesson-wide", "quick": True}  # benchmarks/presets.py's CANDIDATES
    return {"size": None, "preset": "paper", "quick": False}


def run_one(task: str, image: str, settings: dict, device: str) -> list[dict]:
    """DIP and every classical method on one image; one row per method."""
    corrupt, _, quick_iters = TASKS[task]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DipNotice)
        img = dip.load(f"builtin:{image}", size=settings["size"], resize=True)
        if settings["size"] is None and max(img.shape[:2]) > 512:
            img = dip.load(f"builtin:{image}", size=512, resize=True)
    problem = corrupt(img)
    iters = settings.get("iters") or (quick_iters if settings["quick"] else problem.settings["iters"])
    run = dip.fit(problem, network(settings["preset"]), iters=iters, checkpoints=(), device=device)
    rows = [
        {"method": "corrupted", "psnr": problem.psnr_input, "ssim": metrics.ssim(problem.preview(), img), "seconds": 0},
        {
            "method": "DIP",
            "psnr": run.final.psnr,
            "ssim": metrics.ssim(run.final.out, img),
            "seconds": run.seconds,
            "iters": run.iters,
        },
        {
            "method": "DIP (average)",
            "psnr": run.final.psnr_ema,
            "ssim": metrics.ssim(run.final.ema, img),
            "seconds": run.seconds,
            "iters": run.iters,
        },
    ]
    for r in baselines.compare(problem):
        rows.append({"method": r.name, "psnr": r.psnr, "ssim": r.ssim, "seconds": r.seconds})
    for row in rows:
        row.update(task=task, image=image, side=img.shape[0])
    return rows


def markdown(rows: list[dict], task: str) -> str:
    """One task's table: images down, methods across, PSNR / SSIM in each cell, means last."""
    mine = [r for r in rows if r["task"] == task]
    methods = list(dict.fromkeys(r["method"] for r in mine))
    images = list(dict.fromkeys(r["image"] for r in mine))
    cell = {(r["image"], r["method"]): r for r in mine}
    unit = " (Y-PSNR, border cropped)" if task.startswith("SR") else ""
    lines = [f"### {task}{unit}", "", "| image | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for image in images:
        vals = [cell.get((image, m)) for m in methods]
        lines.append(
            f"| {image} | " + " | ".join(f"{v['psnr']:.2f} / {v['ssim']:.3f}" if v else "–" for v in vals) + " |"
        )
    means = []
    for m in methods:
        vals = [cell[(i, m)] for i in images if (i, m) in cell]
        means.append(f"**{np.mean([v['psnr'] for v in vals]):.2f}** / {np.mean([v['ssim'] for v in vals]):.3f}")
    lines.append("| **mean** | " + " | ".join(means) + " |")
    lines += [
        "",
        f"Published (paper, other images): {PUBLISHED[task]}. The image sets differ, so compare gaps, not values.",
        "",
    ]
    return "\n".join(lines)


def done_rows(path: Path, settings: dict) -> dict[tuple[str, str], list[dict]]:
    """The rows already in a rows file, by (task, image), of runs made with these settings (a later line wins)."""
    done: dict[tuple[str, str], list[dict]] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:  # a line cut short when a run was killed while writing it
                continue
            if entry.get("settings") == settings:
                done[(entry["task"], entry["image"])] = entry["rows"]
    return done


def append_row(path: Path, task: str, image: str, settings: dict, rows: list[dict]) -> None:
    """Add one task and image's rows to the rows file as one JSON line, flushed to disk before returning."""
    line = json.dumps({"task": task, "image": image, "settings": settings, "rows": rows})
    cut = path.is_file() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
    with path.open("a") as f:
        f.write(("\n" if cut else "") + line + "\n")  # after a line cut short by a kill, on a line of its own
        f.flush()
        os.fsync(f.fileno())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=["quick", "paper"], default="quick")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--tasks", default=",".join(TASKS), help="comma-separated subset of: " + ", ".join(TASKS).replace("%", "%%")
    )
    parser.add_argument("--json", default=None, help="where to write the numbers (default: paper_table-SCALE.json)")
    parser.add_argument("--rows", default=None, help="the resumable rows file (default: paper_table-SCALE.jsonl)")
    parser.add_argument("--images", default=None, help="comma-separated subset of each task's images")
    parser.add_argument("--minutes", type=float, default=None, help="start no new image after this many minutes")
    parser.add_argument("--size", type=int, default=None, help="override the scale's image side (tests)")
    parser.add_argument("--iters", type=int, default=None, help="override the scale's iterations (tests)")
    parser.add_argument("--preset", default=None, help="override the scale's network (tests)")
    args = parser.parse_args(argv)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        print(f"unknown task {unknown[0]!r}; choose from: {', '.join(TASKS)}", file=sys.stderr)
        return 2
    settings = scale_settings(args.scale)
    overrides = {"size": args.size, "iters": args.iters, "preset": args.preset}
    settings.update({key: value for key, value in overrides.items() if value is not None})
    wanted = set(args.images.split(",")) if args.images else None
    rows_path = Path(args.rows or f"paper_table-{args.scale}.jsonl")
    done, start, stopped = done_rows(rows_path, settings), time.perf_counter(), False
    for task in tasks:
        for image in TASKS[task][1]:
            if wanted is not None and image not in wanted:
                continue
            if (task, image) in done:
                print(f"kept: {task} · {image} (already in {rows_path.name})", file=sys.stderr, flush=True)
                continue
            if args.minutes is not None and time.perf_counter() - start > args.minutes * 60:
                stopped = True
                continue
            done[(task, image)] = run_one(task, image, settings, args.device)
            append_row(rows_path, task, image, settings, done[(task, image)])
            print(f"done: {task} · {image} ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    if stopped:
        print(f"stopped after {args.minutes} minutes: run again to go on", file=sys.stderr, flush=True)
    rows = [row for (task, _), image_rows in done.items() if task in tasks for row in image_rows]
    device = "cuda" if args.device in ("auto", "cuda") and torch.cuda.is_available() else "cpu"
    header = (
        f"Scale `{args.scale}` ({settings['preset']} network, "
        f"{'128x128 crops, budgets cut' if settings['quick'] else 'images up to 512x512, the paper budgets'}); "
        f"{device} on {platform.machine()} with {torch.get_num_threads()} threads; {date.today()}; "
        f"{time.perf_counter() - start:.0f} s in all."
    )
    print(header + "\n")
    for task in tasks:
        if any(r["task"] == task for r in rows):
            print(markdown(rows, task))
    out = Path(args.json or f"paper_table-{args.scale}.json")
    out.write_text(json.dumps({"scale": args.scale, "header": header, "settings": settings, "rows": rows}, indent=1))
    print(f"numbers written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
