"""Where a fit runs, and what that costs: the notebook's main thread against a panel's own thread.

    python benchmarks/threads.py                   # the `lesson` network at 128×128, 300 iterations a case
    python benchmarks/threads.py --iters 100 --side 64

A panel fits in a thread of its own. PyTorch's OpenMP runtime keeps a team of worker threads for every thread
that has run parallel work, and once there are more workers than CPUs it stops letting any team spin between
parallel regions, so a fit in a second thread can run at half speed. Each case runs in a fresh process and
prints milliseconds per iteration:

- main: a fit in the main thread, after a warm-up fit there;
- thread after main, no trial: a fit in another thread once the main thread has fitted, with every CPU
  (`fast.configure(cap_threads=False)` turns the thread trial off);
- thread after main: the same with the thread trial, which keeps the faster of every CPU and one thread;
- thread after thread: a fit in another thread once a short-lived thread has fitted (how the lessons time);
- one thread: a fit in another thread with PyTorch limited to one thread.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

CHILD = r"""
import sys, threading, time, warnings
import torch
import dip_edu as dip
warnings.simplefilter("ignore")
case, side, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
problem = dip.noisy(dip.load("builtin:astronaut", size=side, resize=True), 25)

def fit():
    start = time.perf_counter()
    dip.fit(problem, "lesson", iters=iters, checkpoints=())
    return (time.perf_counter() - start) / iters * 1000

def elsewhere(work):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("ms", work()))
    thread.start()
    thread.join()
    return box["ms"]

if case == "main":
    fit()
    ms = fit()
elif case == "thread after main, no trial":
    dip.fast.configure(cap_threads=False)
    fit()
    ms = elsewhere(fit)
elif case == "thread after main":
    fit()
    ms = elsewhere(fit)
elif case == "thread after thread":
    elsewhere(fit)
    ms = elsewhere(fit)
else:
    elsewhere(fit)
    ms = elsewhere(lambda: (torch.set_num_threads(1), fit())[1])
print(f"{ms:.1f}")
"""

CASES = ("main", "thread after main, no trial", "thread after main", "thread after thread", "one thread")


def measure(case: str, side: int, iters: int) -> float:
    """Milliseconds per iteration of one case, in a fresh process."""
    out = subprocess.run([sys.executable, "-c", CHILD, case, str(side), str(iters)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{case}: {out.stderr.strip().splitlines()[-1]}")
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=128)
    parser.add_argument("--iters", type=int, default=300)
    args = parser.parse_args(argv)
    print(f"`lesson` network, {args.side}×{args.side}, {args.iters} iterations a case")
    print(f"{'case':<30}{'ms/iter':>9}")
    for case in CASES:
        print(f"{case:<30}{measure(case, args.side, args.iters):>9.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
