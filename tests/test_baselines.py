"""The classical methods: each improves on the corrupted image it is given, on the task it is meant for."""

import numpy as np
import pytest

import dip_edu as dip
from dip_edu import baselines
from dip_edu.errors import DipError


@pytest.fixture(scope="module")
def img():
    return dip.load("builtin:astronaut", size=64, resize=True)


@pytest.mark.parametrize("name", ["TV (Chambolle)", "non-local means", "wavelet", "BM3D"])
def test_every_denoiser_beats_the_noisy_input(img, name):
    if name not in baselines.for_task("denoise"):
        pytest.skip("the optional bm3d package is not installed")
    problem = dip.noisy(img, sigma=25, seed=1)
    out = baselines.restore(problem, name)
    assert out.shape == img.shape and out.dtype == np.float32
    assert problem.score(out) > problem.psnr_input + 2


def test_the_noise_estimate_is_close_to_the_true_sigma(img):
    problem = dip.noisy(img, sigma=25, seed=1)
    assert abs(baselines.noise_sigma(problem.observation) * 255 - 25) < 5


@pytest.mark.parametrize("name", ["biharmonic", "nearest pixel"])
@pytest.mark.parametrize("corrupt", [lambda im: dip.drop_pixels(im, 0.5, seed=2), lambda im: dip.text_over(im)])
def test_inpainting_fills_the_holes_and_keeps_the_known_pixels(img, name, corrupt):
    problem = corrupt(img)
    out = baselines.restore(problem, name)
    known = problem.mask[..., 0] > 0.5
    assert np.allclose(out[known], problem.observation[known], atol=1e-5)
    assert problem.score(out) > problem.psnr_input + 3


@pytest.mark.parametrize("name", ["bicubic", "Lanczos"])
def test_upsampling_returns_the_full_size_image_scored_on_y(img, name):
    problem = dip.downsample(img, factor=4)
    out = baselines.restore(problem, name)
    assert out.shape == img.shape
    assert abs(problem.score(out) - problem.psnr_input) < 1.5  # the same family as the bicubic preview


def test_grey_images_work_too():
    grey = dip.load("builtin:camera", size=64, resize=True)
    for result in baselines.compare(dip.noisy(grey, sigma=25, seed=0)):
        assert result.image.shape == grey.shape and result.psnr > 22


def test_methods_are_offered_only_for_their_tasks(img):
    assert "bicubic" in baselines.for_task("sr") and "bicubic" not in baselines.for_task("denoise")
    assert set(baselines.for_task("inpaint-region")) == {"biharmonic", "nearest pixel"}
    with pytest.raises(DipError, match="does not apply"):
        baselines.restore(dip.noisy(img, sigma=25), "biharmonic")
    with pytest.raises(DipError, match="unknown method"):
        baselines.restore(dip.noisy(img, sigma=25), "magic")


def test_compare_scores_every_method_without_a_clean_image_too(img):
    problem = dip.observed(dip.noisy(img, sigma=25).observation)
    results = baselines.compare(problem)
    assert results and all(r.psnr is None and r.ssim is None and r.seconds >= 0 for r in results)
