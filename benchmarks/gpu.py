"""Ways to run the fit step on a GPU, side by side: time per iteration and the PSNR each reaches.

    python benchmarks/gpu.py                                # paper network at 512 and 256, lesson at 128
    python benchmarks/gpu.py --runs paper:512 --iters 500 --json gpu.json

Each variant fits the same noisy image (σ=25) from the same seed with the denoising settings of `dip.fit`
(Adam at 0.01, input noise 1/30, the output average, the per-step PSNRs kept on the device), and is timed
with device events over its steady state. `engine` is `dip.fit` itself (`engine-eager` without its CUDA
graph), `base` a bare loop of the same arithmetic. The others change one thing each from `base`:
cuDNN's kernel search, channels-last memory, bf16 autocast, a CUDA graph of the whole step, torch.compile,
strict float32 (PyTorch's convolutions use TF32 by default). A variant is worth keeping only if it is faster
and its PSNR at the last iteration stays within 0.3 dB of `base`. On a CPU the CUDA-only variants are skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
import warnings

import torch

import dip_edu as dip
from dip_edu import metrics, nets
from dip_edu.fast import Step, configure
from dip_edu.images import to_tensor

VARIANTS = ("engine", "engine-eager", "base", "fp32", "benchmark", "channels-last", "bf16", "graph", "compile")
CUDA_ONLY = {"engine-eager", "fp32", "benchmark", "graph", "bf16"}


def flops(spec: nets.NetSpec, side: int, device: torch.device) -> float:
    """Floating-point operations of one training step (forward and backward), counted by PyTorch."""
    from torch.utils.flop_counter import FlopCounterMode

    net = nets.build(spec).to(device)
    z = torch.rand(1, spec.input_depth, side, side, device=device)
    with FlopCounterMode(display=False) as counter:
        net(z).square().mean().backward()
    return float(counter.get_total_flops())


def fit_variant(variant: str, spec: nets.NetSpec, problem: dip.Problem, iters: int, device: torch.device) -> dict:
    """`iters` steps of one variant; milliseconds per step over the second half, PSNRs at the end."""
    if variant.startswith("engine"):
        return _engine(spec, problem, iters, device, cuda_graph=variant == "engine")
    torch.backends.cudnn.benchmark = variant in ("benchmark", "channels-last", "bf16", "graph", "compile")
    torch.backends.cudnn.allow_tf32 = variant != "fp32"
    torch.manual_seed(0)
    fmt = torch.channels_last if variant == "channels-last" else torch.contiguous_format
    net = nets.build(spec).to(device, memory_format=fmt)
    h, w, _ = problem.shape
    z = (torch.rand(1, spec.input_depth, h, w, device=device) * 0.1).contiguous(memory_format=fmt)
    target, clean = to_tensor(problem.observation, device), to_tensor(problem.clean, device)
    graph = variant == "graph"
    opt = torch.optim.Adam(net.parameters(), lr=0.01, fused=True, capturable=graph or None)
    model = torch.compile(net) if variant == "compile" else net
    cast = torch.autocast(device.type, dtype=torch.bfloat16) if variant == "bf16" else contextlib.nullcontext()
    out_now = torch.zeros_like(target)

    def eager_step() -> None:
        opt.zero_grad(set_to_none=True)
        with cast:
            out = model(z + torch.randn_like(z) / 30)
        loss = ((out.float() - target) ** 2).mean()
        loss.backward()
        opt.step()
        out_now.copy_(out.detach())

    if graph:  # the engine's own graph of the step (dip_edu/fast/step.py), without the engine's bookkeeping

        def whole_step(net_input: torch.Tensor) -> tuple[torch.Tensor]:
            opt.zero_grad(set_to_none=True)
            with cast:
                out = model(net_input)
            loss = ((out.float() - target) ** 2).mean()
            loss.backward()
            opt.step()
            return (out.detach(),)

        graphed = Step(whole_step, graph=True)

        def step() -> None:
            out_now.copy_(graphed(z + torch.randn_like(z) / 30)[0])

    else:
        step = eager_step

    started = time.perf_counter()
    average = None
    record = torch.zeros(iters, 2, device=device)
    timer = _Timer(device)
    for k in range(iters):
        if k == iters // 2:
            timer.start()
            setup = time.perf_counter() - started
        step()
        with torch.no_grad():
            average = out_now.clone() if average is None else average.mul_(0.99).add_(out_now, alpha=0.01)
            record[k, 0] = metrics.psnr_tensor(out_now, clean)
            record[k, 1] = metrics.psnr_tensor(average, clean)
    ms = timer.stop() / (iters - iters // 2) * 1e3
    end = record[-1].tolist()
    return {"ms": ms, "psnr": end[0], "psnr_ema": end[1], "setup_s": setup}


def _engine(spec: nets.NetSpec, problem: dip.Problem, iters: int, device: torch.device, cuda_graph: bool) -> dict:
    configure(cuda_graphs=cuda_graph)
    run = dip.fit(problem, spec, iters=iters, checkpoints=(), device=device.type)
    configure(cuda_graphs=True)
    sec = run.history["seconds"]
    half = iters // 2
    return {
        "ms": (sec[-1] - sec[half - 1]) / (iters - half) * 1e3,
        "psnr": float(run.history["psnr"][-1]),
        "psnr_ema": float(run.history["psnr_ema"][-1]),
        "setup_s": float(sec[half - 1]),
    }


class _Timer:
    """Device events on a GPU, the host clock on a CPU."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def start(self) -> None:
        if self.cuda:
            self.begin, self.end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            self.begin.record()
        else:
            self.t0 = time.perf_counter()

    def stop(self) -> float:
        """Seconds since start."""
        if self.cuda:
            self.end.record()
            self.end.synchronize()
            return self.begin.elapsed_time(self.end) / 1e3
        return time.perf_counter() - self.t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="paper:512,paper:256,lesson:128", help="network:side pairs")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--iters", type=int, default=500)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--image", default="builtin:astronaut")
    parser.add_argument("--json", default="gpu.json", help="where to write every number")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    device = dip.pick_device(args.device)
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    rows = []
    print(f"Device: {name}; PyTorch {torch.__version__}; {args.iters} iterations per variant\n")
    print("| network | side | variant | ms/iter | × base | PSNR | PSNR avg | Δ vs base | TFLOP/s | setup s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for pair in args.runs.split(","):
        preset, side = pair.split(":")
        spec, side = nets.spec(preset), int(side)
        problem = dip.noisy(dip.load(args.image, size=side), 25, seed=0)
        work = flops(spec, side, device)
        base = None
        for variant in args.variants.split(","):
            row = {"network": preset, "side": side, "variant": variant, "gflop": work / 1e9}
            if variant in CUDA_ONLY and device.type != "cuda":
                continue
            try:
                row.update(fit_variant(variant, spec, problem, args.iters, device))
            except Exception as exc:  # a variant this PyTorch or device cannot run is reported, not fatal
                row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            finally:
                torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32 = False, True
            rows.append(row)
            if variant == "base" and "ms" in row:
                base = row
            print(_line(row, base), flush=True)
    with open(args.json, "w") as f:
        json.dump({"device": name, "torch": torch.__version__, "iters": args.iters, "rows": rows}, f, indent=1)
    print(f"\nWrote {args.json}")
    return 0


def _line(row: dict, base: dict | None) -> str:
    head = f"| {row['network']} | {row['side']} | {row['variant']} |"
    if "error" in row:
        return f"{head} failed: {row['error']} | | | | | | |"
    ratio = f"{row['ms'] / base['ms']:.2f}" if base else "—"
    delta = f"{row['psnr'] - base['psnr']:+.2f}" if base else "—"
    tflops = row["gflop"] / row["ms"]  # GFLOP per ms is TFLOP/s
    return (
        f"{head} {row['ms']:.2f} | {ratio} | {row['psnr']:.2f} | {row['psnr_ema']:.2f} | {delta} | "
        f"{tflops:.1f} | {row['setup_s']:.1f} |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
