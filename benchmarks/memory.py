"""The memory guard's estimate against the measured peak of real fits.

    python benchmarks/memory.py [--preset paper] [--sizes 64,128,256] [--device auto]

Each fit runs in its own process: on a GPU the peak is torch's max_memory_allocated; on the CPU it is the
growth of the process's peak resident memory over what it held before the fit. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, sys, warnings
import numpy as np
import dip_edu as dip
from dip_edu import memory
preset, side, device = sys.argv[1], int(sys.argv[2]), sys.argv[3]
warnings.simplefilter("ignore")
dev = dip.pick_device(device)
img = np.random.default_rng(0).random((side, side, 3)).astype(np.float32)
problem = dip.noisy(img, 25)
memory._saved_per_pixel(dip.spec(preset), 3)  # the probe, before the baseline
dip.fit(dip.noisy(img[:64, :64], 25), "tiny", iters=2, device=device)  # warm the allocator and kernels
base = memory.in_use(dev)
dip.fit(problem, preset, iters=3, checkpoints=(), device=device)
peak = memory.peak_since(dev, base)
estimate = memory.estimate(preset, (side, side, 3))
print(json.dumps({"side": side, "device": dev.type, "estimate": estimate, "peak": peak}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--sizes", default="64,128,256")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    print(f"| {args.preset} network, side | device | estimate (MiB) | measured peak (MiB) | estimate / peak |")
    print("|---|---|---|---|---|")
    for side in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, args.preset, str(side), args.device], capture_output=True, text=True
        )
        if out.returncode != 0:
            print(f"| {side} | failed: {out.stderr.strip().splitlines()[-1]} | | | |")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        est, peak = r["estimate"] / 2**20, r["peak"] / 2**20
        print(f"| {side} | {r['device']} | {est:.0f} | {peak:.0f} | {est / peak:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
