"""The engine and the reference-style loop from the same start: their PSNR curves side by side.

    python benchmarks/curve.py --side 256 --iters 500     # the speed target's "same PSNR curve" check
    python benchmarks/curve.py --precision bfloat16       # the engine with bf16 convolutions against it

Both fit the paper network to the same noisy image (astronaut, σ=25, resized) from the same weights, the
same input and the same input noise at every step, each in a fresh process; they differ only where the
engine differs from the reference code (1×1 layers as matrix products, fused Adam, metrics kept on the
device, memory reused between steps). Prints the PSNR against the clean image of the output and of the
output average at every `--every` iterations and the largest difference, and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date

CHILD = r"""
import json, sys, warnings
import torch
import dip_edu as dip
from dip_edu import images, nets
kind, side, iters, precision = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
warnings.simplefilter("ignore")
problem = dip.noisy(images.load("builtin:astronaut", size=side, resize=True), 25)
if kind == "engine":
    run = dip.fit(problem, "paper", iters=iters, checkpoints=(), device="cpu", precision=precision)
    print(json.dumps({"psnr": run.history["psnr"].tolist(), "psnr_ema": run.history["psnr_ema"].tolist()}))
    raise SystemExit
from skimage.metrics import peak_signal_noise_ratio as psnr  # the reference code's own metric, every step
spec = nets.spec("paper")
torch.manual_seed(0)  # as dip.fit seeds: the same weights, input and input noise
net = nets.build(spec, out_channels=3)
gen = torch.Generator().manual_seed(0)
z = torch.rand((1, spec.input_depth, side, side), generator=gen) * 0.1
target = images.to_tensor(problem.observation)
clean = problem.clean.transpose(2, 0, 1)
opt = torch.optim.Adam(net.parameters(), lr=problem.settings["lr"], foreach=False)
noise, avg, curve, curve_avg = problem.settings["reg_noise_std"], None, [], []
for i in range(iters):
    opt.zero_grad()
    out = net(z + noise * torch.randn(z.shape, generator=gen))
    avg = out.detach() if avg is None else avg * 0.99 + out.detach() * 0.01
    ((out - target) ** 2).mean().backward()
    curve.append(psnr(clean, out.detach().numpy()[0], data_range=1))
    curve_avg.append(psnr(clean, avg.numpy()[0], data_range=1))
    opt.step()
print(json.dumps({"psnr": curve, "psnr_ema": curve_avg}))
"""


def curve(kind: str, side: int, iters: int, precision: str = "float32") -> dict:
    """One loop's PSNR at every iteration, from a fresh process (the engine's convolutions at `precision`)."""
    cmd = [sys.executable, "-c", CHILD, kind, str(side), str(iters), precision]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{kind}: {(out.stderr.strip().splitlines() or ['no output'])[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(engine: dict, reference: dict, every: int) -> list[str]:
    """Markdown rows at every `every` iterations and the last, then the largest differences."""
    n = min(len(engine["psnr"]), len(reference["psnr"]))
    rows = ["| iteration | engine | reference | Δ | engine, average | reference, average | Δ average |"]
    rows.append("|---|---|---|---|---|---|---|")
    for k in sorted({*range(every, n + 1, every), n}):
        e, r = engine["psnr"][k - 1], reference["psnr"][k - 1]
        ea, ra = engine["psnr_ema"][k - 1], reference["psnr_ema"][k - 1]
        rows.append(f"| {k} | {e:.2f} | {r:.2f} | {e - r:+.2f} | {ea:.2f} | {ra:.2f} | {ea - ra:+.2f} |")
    worst = max(abs(a - b) for a, b in zip(engine["psnr_ema"][:n], reference["psnr_ema"][:n], strict=True))
    rows.append(f"\nLargest difference of the averages over {n} iterations: {worst:.2f} dB")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--iters", type=int, default=500)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--precision", default="float32", choices=("float32", "bfloat16"), help="the engine's")
    parser.add_argument("--json", default="curve.json", help="where to write both curves")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    engine = curve("engine", args.side, args.iters, args.precision)
    reference = curve("reference", args.side, args.iters)
    print("\n".join(table(engine, reference, args.every)))
    print(
        f"Paper network, {args.side}×{args.side}, CPU, the engine in {args.precision}; {date.today()}; "
        f"{time.perf_counter() - started:.0f} s."
    )
    with open(args.json, "w") as f:
        json.dump({"side": args.side, "precision": args.precision, "engine": engine, "reference": reference}, f)
    print(f"Wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
