"""Seconds per iteration and peak memory of the fit loop, for the paper network and the lesson presets.

    python benchmarks/speed.py                          # paper network at 64..512, the presets at 128, CPU/GPU
    python benchmarks/speed.py --sizes 128,256 --presets lesson --json speed.json
    python benchmarks/speed.py --sizes 256,512 --rounds 3  # interleaved rounds, medians: for a drifting machine

Every number is the whole iteration as `dip.fit` runs it (fresh input noise, forward, loss, backward, Adam,
the output average, the per-step metrics and divergence checks), after a warm-up, in a fresh process so the
peak memory is this fit's alone. Beside it, `reference` is the same network stepped the way the public
reference code steps it: plain convolutions, the per-tensor Adam, and every step the outputs copied to NumPy
for three scikit-image PSNRs and the weights copied for backtracking. On a CPU the reference loop runs
a second time with glibc's malloc keeping freed memory, as `dip.fit` has it do, to show how much of the
engine's lead is that setting. Prints markdown; writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from dip_edu.fast import cpu

CHILD = r"""
import json, sys, time, warnings
import numpy as np, torch
import dip_edu as dip
from dip_edu import memory, nets
kind, side, device, seconds, precision = sys.argv[1], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), sys.argv[6]
warnings.simplefilter("ignore")
dev = dip.pick_device(device)
img = np.random.default_rng(0).random((side, side, 3)).astype(np.float32)
problem = dip.noisy(img, 25)
spec = nets.NetSpec.from_description(json.loads(sys.argv[2]))


def engine(iters):
    run = dip.fit(problem, spec, iters=iters + 1, checkpoints=(), device=device, precision=precision)
    seconds = run.history["seconds"]  # the loop's own clock: setup and the final snapshot left out
    return (seconds[-1] - seconds[0]) / iters


def reference(iters):
    from skimage.metrics import peak_signal_noise_ratio as psnr
    # nets.build gives plain nn.Conv2d layers: the engine swaps its own in, this loop does not
    torch.backends.cudnn.benchmark = True  # as the reference code sets it (no effect on a CPU)
    torch.manual_seed(0)
    net = nets.build(spec).to(dev)
    z = (torch.rand(1, spec.input_depth, side, side) * 0.1).to(dev)
    target = torch.from_numpy(problem.observation.transpose(2, 0, 1).copy())[None].to(dev)
    noisy, clean = problem.observation.transpose(2, 0, 1), problem.clean.transpose(2, 0, 1)
    opt = torch.optim.Adam(net.parameters(), lr=0.01, foreach=False)
    avg = None
    for i in range(iters + 1):
        if i == 1:
            start = time.perf_counter()
        opt.zero_grad()
        out = net(z + torch.randn_like(z) / 30)
        avg = out.detach() if avg is None else avg * 0.99 + out.detach() * 0.01
        loss = ((out - target) ** 2).mean()
        loss.backward()
        o, a = out.detach().cpu().numpy()[0], avg.cpu().numpy()[0]
        psnr(noisy, o, data_range=1), psnr(clean, o, data_range=1), psnr(clean, a, data_range=1)
        last = [p.detach().cpu() for p in net.parameters()]  # noqa: F841 (kept for backtracking)
        opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / iters


step = engine if kind == "engine" else reference
step(2)  # warm-up: kernels chosen, allocator grown
base = memory.in_use(dev)
first = step(2)
per = step(max(3, min(2000, int(seconds / first))))
peak = memory.peak_since(dev, base)
name = torch.cuda.get_device_name(0) if dev.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
print(json.dumps({"per_iter": per, "peak_mib": peak / 2**20, "device": name}))
"""


def _search():
    """benchmarks/presets.py: the search's candidates, and its NAME-bf16 naming of a network run in bf16."""
    here = str(Path(__file__).parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import presets

    return presets


def network(name: str):
    """A preset of the package, or a network of the preset search (benchmarks/presets.py); NAME-bf16 alike."""
    from dip_edu import nets

    search = _search()
    name = name.removesuffix(search.BF16)
    if name in nets.PRESETS:
        return nets.PRESETS[name]
    if name not in search.NETWORKS:
        raise SystemExit(f"network {name!r}: not a preset ({', '.join(nets.PRESETS)}) nor a network of the search")
    return search.NETWORKS[name]


# glibc's settings for the reference loop, the ones `dip.fit` makes itself on a CPU (freed memory reused)
KEPT = dict(zip(cpu.MALLOC_ENV, (str(cpu.KEEP_BELOW), str(cpu.KEEP_FREE)), strict=True))


def measure(kind: str, preset: str, side: int, device: str, seconds: float, env: dict | None = None) -> dict:
    """One timing in a fresh process: seconds per iteration and peak memory (MiB) above the warmed-up state."""
    net = network(preset).describe()  # recorded with the timing: a preset's network can change between releases
    cmd = [sys.executable, "-c", CHILD, kind, json.dumps(net), str(side), device, str(seconds)]
    cmd.append(_search().precision(preset))
    out = subprocess.run(cmd, capture_output=True, text=True, env=None if env is None else {**os.environ, **env})
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines() or ["no output"]
        return {"kind": kind, "preset": preset, "side": side, "net": net, "error": lines[-1]}
    return {"kind": kind, "preset": preset, "side": side, "net": net, **json.loads(out.stdout.strip().splitlines()[-1])}


def median_round(rows: list[dict]) -> dict | None:
    """The round with the median seconds per iteration, every round's seconds kept under "rounds"."""
    timed = sorted((r for r in rows if "per_iter" in r), key=lambda r: r["per_iter"])
    if not timed:
        return rows[0] if rows else None
    return {**timed[(len(timed) - 1) // 2], "rounds": [r["per_iter"] for r in rows if "per_iter" in r]}


def exponent(rows: list[dict]) -> float | None:
    """Slope of log(seconds per iteration) against log(side): 2 means cost grows with the pixel count."""
    pts = [(r["side"], r["per_iter"]) for r in rows if "per_iter" in r and r["side"] >= 128]
    if len(pts) < 2:
        return None
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="64,128,256,512", help="sides for the paper network")
    parser.add_argument("--paper", default="paper", help="paper, paper-bf16 or both, at --sizes")
    parser.add_argument("--presets", default="lesson,tiny", help="presets or search candidates, at --preset-side")
    parser.add_argument("--preset-side", type=int, default=128)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--seconds", type=float, default=15.0, help="time spent per measurement")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds; the median is shown")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference-style loop")
    parser.add_argument("--json", default="speed.json", help="where to write every number")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    papers = [p for p in args.paper.split(",") if p]
    if any(p.removesuffix(_search().BF16) != "paper" for p in papers):
        parser.error(f"--paper takes paper and paper-bf16, not {args.paper!r}")
    started = time.perf_counter()

    import torch

    on_cpu = args.device == "cpu" or (args.device == "auto" and not torch.cuda.is_available())
    paper, reference, reference_kept = [], [], []
    print(
        "| network | side | s/iter | peak MiB | reference s/iter | engine / reference | 8000 iterations "
        "| reference, memory reused | engine / that |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    refs: dict[int, tuple] = {}  # side -> the reference loop's rows, shown beside every paper network at that side
    for side, name in [(side, n) for side in sizes for n in papers]:
        rounds: dict[str, list[dict]] = {"engine": [], "reference": [], "kept": []}
        with_reference = not args.no_reference and name == "paper"  # the reference loop is float32's
        for _ in range(args.rounds):  # interleaved, so a drift in the machine's pace reaches all three alike
            rounds["engine"].append(measure("engine", name, side, args.device, args.seconds))
            if with_reference:
                rounds["reference"].append(measure("reference", name, side, args.device, args.seconds))
                if on_cpu:  # the same loop with the allocator setting the engine makes: what is left of the gain
                    rounds["kept"].append(measure("reference", name, side, args.device, args.seconds, env=KEPT))
        row, ref, kept = (median_round(rounds[k]) for k in ("engine", "reference", "kept"))
        paper.append(row)
        reference += [ref] if ref else []
        reference_kept += [kept] if kept else []
        if with_reference:
            refs[side] = (ref, kept)
        print(_line(name, row, *refs.get(side, (None, None))), flush=True)
    names = [p for p in args.presets.split(",") if p]
    timed: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(args.rounds):  # interleaved across the presets too: a drift reaches every preset alike
        for name in names:
            timed[name].append(measure("engine", name, args.preset_side, args.device, args.seconds))
    presets = [median_round(timed[name]) for name in names]
    for name, row in zip(names, presets, strict=True):
        print(_line(name, row, None), flush=True)
    slopes = {name: exponent([r for r in paper if r["preset"] == name]) for name in papers}
    slope = slopes.get("paper")
    device = next((r["device"] for r in paper + presets if "device" in r), "?")
    for name, value in slopes.items():
        if value is not None:
            print(f"\nCost against image side ({name}, sides ≥ 128): s/iter ∝ side^{value:.2f}")
    # Whether bf16 runs on AMX tiles here: it decides how fast every -bf16 row and the wide networks' "auto" fits are.
    amx = cpu.has_amx()
    tiles = "AMX tiles" if amx else "no AMX tiles"
    took = time.perf_counter() - started
    print(f"Device: {device}; {platform.machine()}, {tiles}; {date.today()}; {took:.0f} s in all.")
    record = {
        "device": device,
        "machine": platform.machine(),
        "amx": amx,
        "date": str(date.today()),
        "paper": paper,
        "reference": reference,
        "reference_memory_reused": reference_kept,
        "presets": presets,
        "exponent": slope,
        "exponents": slopes,
    }
    with open(args.json, "w") as f:
        json.dump(record, f, indent=1)
    print(f"Wrote {args.json}")
    return 0


def _line(name: str, row: dict, ref: dict | None, kept: dict | None = None) -> str:
    if "error" in row:
        return f"| {name} | {row['side']} | failed: {row['error']} | | | | | | |"
    per = row["per_iter"]
    minutes = f"{per * 8000 / 60:.1f} min"
    cells = [name, row["side"], _seconds(per), f"{row['peak_mib']:.0f}", *_against(per, ref), minutes]
    return "| " + " | ".join(str(c) for c in cells + _against(per, kept)) + " |"


def _against(per: float, other: dict | None) -> list[str]:
    """The other loop's seconds per iteration and the engine's ratio to it, or dashes."""
    theirs = other.get("per_iter") if other else None
    return ["—", "—"] if theirs is None else [_seconds(theirs), f"{per / theirs:.2f}×"]


def _seconds(x: float) -> str:
    """Three decimals, four below 0.01 s (a GPU's milliseconds)."""
    return f"{x:.3f}" if x >= 0.01 else f"{x:.4f}"


if __name__ == "__main__":
    raise SystemExit(main())
