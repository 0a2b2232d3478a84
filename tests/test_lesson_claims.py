"""Each lesson's assert, checked on other seeds with a margin, so that it holds on any CPU and not by one
machine's luck (the fits are deterministic on one CPU, not across CPUs: other kernels, other roundings).

The notebooks run seed 0 at the test budget under nbval; here the same settings run with seeds 1 and 2 (a
new network initialisation, input and corruption), and each claim must hold with room to spare.
"""

from __future__ import annotations

import numpy as np
import pytest

import dip_edu as dip
from dip_edu import lessons

SEEDS = (1, 2)


def _image(name: str, side: int) -> np.ndarray:
    with dip.errors.quiet_notices():
        return dip.load(f"builtin:{name}", size=side, resize=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_01_the_natural_image_is_fitted_faster_than_noise_and_shuffled_pixels(seed):
    side, iters = lessons.budget("01")
    targets = lessons.prior_targets(_image("astronaut", side), seed=seed)
    final = {
        name: dip.fit(dip.reconstruct(t), "lesson", iters=iters, reg_noise_std=0.0, checkpoints=(), seed=seed).history[
            "loss"
        ][-1]
        for name, t in targets.items()
    }
    margin = 1.25  # each ordering holds with a quarter to spare
    assert final["natural image"] * margin < final["image + noise"], final
    assert final["image + noise"] * margin < final["uniform noise"], final
    assert final["natural image"] * margin < final["shuffled pixels"], final


@pytest.mark.parametrize("seed", SEEDS)
def test_02_the_restoration_beats_the_noisy_input(seed):
    side, iters = lessons.budget("02")
    problem = dip.noisy(_image("astronaut", side), sigma=25, seed=seed)
    run = dip.fit(problem, "lesson", iters=iters, checkpoints=lessons.checkpoints(iters), seed=seed)
    assert run.final.psnr_ema > problem.psnr_input + 1.0, (run.final.psnr_ema, problem.psnr_input)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["inpaint-text", "inpaint-pixels", "inpaint-region"])
def test_03_every_kind_of_damage_is_repaired(seed, kind):
    side, iters = lessons.budget("03")
    img = _image("astronaut", side)
    make = {
        "inpaint-text": lambda: dip.text_over(img, font_size=max(8, side // 10), seed=seed),
        "inpaint-pixels": lambda: dip.drop_pixels(img, 0.5, seed=seed),
        "inpaint-region": lambda: dip.region(img, boxes=[(3 * side // 8, 3 * side // 8, side // 4, side // 4)]),
    }
    problem = make[kind]()
    run = dip.fit(problem, dip.lesson_for(kind), iters=iters, lr=0.01, checkpoints=(), seed=seed)
    assert run.final.psnr > problem.psnr_input + 1.0, (run.final.psnr, problem.psnr_input)


@pytest.mark.parametrize("seed", SEEDS)
def test_04_super_resolution_beats_bicubic_on_the_y_channel(seed):
    side, iters = lessons.budget("04")
    problem = dip.downsample(_image("astronaut", side), 4)
    run = dip.fit(problem, "lesson", iters=iters, checkpoints=(), seed=seed)
    dip_y = dip.psnr_y(run.final.ema, problem.clean, border=4)
    bicubic_y = dip.psnr_y(problem.preview(), problem.clean, border=4)
    assert dip_y > bicubic_y + 0.3, (dip_y, bicubic_y)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_05_es_wmv_stops_near_the_true_peak_when_denoising(seed, name):
    side, iters = lessons.budget("05")
    problem = dip.noisy(_image(name, side), sigma=25, seed=seed)
    run = dip.fit(problem, "lesson", iters=iters, lr=0.01, early_stop=True, checkpoints=(), seed=seed)
    gap = run.peak()[1] - run.early_stop["psnr"]
    assert gap < lessons.ES_WMV_GAP_DB - 0.5, (run.early_stop, run.peak())


@pytest.mark.parametrize("seed", SEEDS)
def test_06_the_lesson_network_restores_the_noisy_image(seed):
    side, iters = lessons.budget("06")
    problem = dip.noisy(_image("astronaut", side), sigma=25, seed=seed)
    run = dip.fit(problem, dip.spec("lesson"), iters=iters, checkpoints=(), seed=seed)
    assert run.final.psnr_ema > problem.psnr_input + 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_07_the_painted_region_is_restored(seed):
    side, iters = lessons.budget("07")
    panel = dip.Panel(task="inpaint-region", size=side, iters=iters, seed=seed, checkpoints=())
    panel.set_image("builtin:chelsea")
    assert panel.set_mask(lessons.ASSETS / "masks" / "scribble-256.png"), panel.message.value
    run = panel.run()
    assert run.final.psnr > run.config["psnr_input"] + 1.0
