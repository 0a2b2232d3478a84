"""The CUDA graph of the fit step: the same fit as launching each kernel, through a divergence restore too.

Skipped without a CUDA GPU (CI has none); run on one with `python -m pytest tests/test_gpu.py`.
"""

import threading

import numpy as np
import pytest
import torch

import dip_edu as dip

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_a_cuda_graph_fits_as_launching_each_kernel_does(astronaut64):
    problem = dip.text_over(astronaut64)
    graphed = dip.fit(problem, "tiny", iters=300, device="cuda", checkpoints=(100,))
    dip.fast.configure(cuda_graphs=False)
    try:
        eager = dip.fit(problem, "tiny", iters=300, device="cuda", checkpoints=(100,))
    finally:
        dip.fast.configure(cuda_graphs=True)
    assert graphed.config["cuda_graph"] and not eager.config["cuda_graph"]
    # the first loss is the same weights on the same input (a forward only); after it, cuDNN's atomic sums in
    # its backward kernels round differently from run to run, in both fits alike: up to about 4e-5 relative
    # by the third step (seen on an H100), about 1e-3 by the tenth
    assert np.isclose(graphed.history["loss"][0], eager.history["loss"][0], rtol=1e-6)
    assert np.allclose(graphed.history["loss"][:10], eager.history["loss"][:10], rtol=1e-2)
    # one iteration's PSNR jumps by up to 0.8 dB between two runs of either kind here (cuDNN's rounding
    # above; a snapshot's output at iteration 100 differed by 0.44 dB on an H100); the output average and the
    # last hundred iterations' mean are what the curve is compared by
    assert abs(graphed.history["psnr_ema"][-1] - eager.history["psnr_ema"][-1]) < 0.3
    assert abs(graphed.history["psnr"][-100:].mean() - eager.history["psnr"][-100:].mean()) < 0.3
    assert abs(graphed.snapshots[0].psnr_ema - eager.snapshots[0].psnr_ema) < 0.3
    for run in (graphed, eager):  # the snapshot holds the live average of its own iteration, graph or not
        assert run.snapshots[0].iter == 100
        assert abs(run.snapshots[0].psnr_ema - run.history["psnr_ema"][99]) < 1e-3
    assert graphed.history["psnr"][-1] > graphed.history["psnr"][0] + 3  # it fitted, not replayed a no-op


def test_after_a_restore_the_step_is_captured_again_at_the_new_learning_rate(astronaut64, sabotage):
    run = dip.fit(dip.reconstruct(astronaut64), "tiny", iters=200, callback=sabotage, every=40, device="cuda")
    assert run.config["cuda_graph"] and "learning rate now 0.005" in run.events[0]
    obs = run.history["psnr_obs"]
    assert obs[-1] > obs[39] - 1 and np.isfinite(obs).all()


def test_a_fit_in_a_background_thread_captures_while_the_notebook_uses_the_gpu(astronaut64):
    done = {}

    def fit():
        done["run"] = dip.fit(dip.noisy(astronaut64, 25), "tiny", iters=300, device="cuda")

    worker = threading.Thread(target=fit)  # as the panel runs its fits
    worker.start()
    x, steps = torch.rand(512, 512, device="cuda"), 0
    while worker.is_alive():  # the notebook's own GPU work meanwhile
        x = (x @ x).softmax(-1)
        steps += 1
    worker.join()
    assert steps > 0 and torch.isfinite(x).all()
    assert done["run"].status == "finished" and done["run"].config["cuda_graph"] and not done["run"].events


def test_a_lesson_fits_at_the_scale_picked_for_this_gpu(capsys):
    # lesson 02 as a learner opening it here gets it: the scale dip_edu.scale picks (the paper network on a CUDA
    # GPU, unless DIP_EDU_SCALE says otherwise), at that scale's side, for a few hundred iterations
    from dip_edu import lessons, scale

    picked = scale.current()
    side, _ = lessons.LESSONS["02"].budget_at(picked)
    (network,) = lessons.networks("02")
    assert network == ("paper" if picked == "paper" else "lesson")
    problem = dip.noisy(dip.load("builtin:astronaut", size=side, resize=True), sigma=25)
    run = dip.fit(problem, network, iters=300, device="cuda", checkpoints=(100,))
    assert run.status == "finished" and run.config["cuda_graph"] and run.config["preset"] == network
    assert run.history["psnr"][-1] > run.history["psnr"][0] + 3  # it fitted
    with capsys.disabled():  # the pace, for the record beside the estimate the side was chosen by
        estimate = f"; estimated for {scale.TEACHING_GPU}: {scale.teaching_gpu_seconds(side) * 1000:.1f} ms"
        print(
            f"\nlesson 02 at {picked} scale: {network} at {side}×{side}, {run.sec_per_iter() * 1000:.2f} ms per "
            f"iteration on {torch.cuda.get_device_name(0)} (start-up included){estimate if network == 'paper' else ''}"
        )
