import numpy as np
import pytest

import dip_edu as dip
from dip_edu.problem import lanczos_kernel


def test_noise_has_the_requested_standard_deviation_on_the_0_255_scale():
    grey = np.full((128, 128, 3), 0.5, np.float32)  # mid-grey: clipping never bites at sigma 25
    problem = dip.noisy(grey, sigma=25, seed=1)
    residual = problem.observation - grey
    assert residual.std() * 255 == pytest.approx(25, rel=0.03)
    assert abs(residual.mean()) * 255 < 0.5
    assert problem.mask is None and problem.factor == 1


def test_noise_is_clipped_and_seeded(astronaut64):
    a, b = dip.noisy(astronaut64, 50, seed=3), dip.noisy(astronaut64, 50, seed=3)
    assert np.array_equal(a.observation, b.observation)
    assert a.observation.min() >= 0 and a.observation.max() <= 1
    assert not np.array_equal(a.observation, dip.noisy(astronaut64, 50, seed=4).observation)


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.9])
def test_drop_pixels_drops_the_requested_fraction(astronaut64, fraction):
    problem = dip.drop_pixels(astronaut64, fraction, seed=0)
    missing = 1 - problem.mask.mean()
    assert missing == pytest.approx(fraction, abs=0.03)
    known = problem.mask[..., 0] > 0
    assert np.array_equal(problem.observation[known], astronaut64[known])
    assert np.all(problem.observation[~known] == 0)


def test_text_mask_is_inside_the_image_and_covers_part_of_it(astronaut64):
    problem = dip.text_over(astronaut64, text="Hello", font_size=12, density=0.5)
    assert problem.mask.shape == (64, 64, 1)
    covered = 1 - problem.mask.mean()
    assert 0.02 < covered < 0.5
    denser = 1 - dip.text_over(astronaut64, text="Hello", font_size=12, density=1.0).mask.mean()
    assert denser > covered


def test_region_box_is_missing_exactly(astronaut64):
    problem = dip.region(astronaut64, boxes=[(10, 20, 8, 16)])
    missing = problem.mask[..., 0] == 0
    assert missing.sum() == 8 * 16
    assert missing[10:18, 20:36].all()


def test_region_from_a_mask_image(astronaut64):
    mask = np.full((64, 64), 255, np.uint8)
    mask[:, :16] = 0
    problem = dip.region(astronaut64, mask=mask)
    assert (problem.mask[..., 0] == 0).sum() == 64 * 16


@pytest.mark.parametrize(
    "mask,message",
    [
        (np.full((32, 64), 255, np.uint8), "must match|image's size"),
        (np.full((64, 64), 128, np.uint8), "grey"),
        (np.zeros((64, 64), np.uint8), "every pixel is black"),
        (np.full((64, 64), 255, np.uint8), "nothing missing"),
    ],
)
def test_bad_masks_are_refused(astronaut64, mask, message):
    with pytest.raises(dip.DipError, match=message):
        dip.region(astronaut64, mask=mask)


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_super_resolution_observation_is_the_operator_applied_to_the_clean_image(astronaut64, factor):
    problem = dip.downsample(astronaut64, factor)
    assert problem.observation.shape == (64 // factor, 64 // factor, 3)
    assert problem.shape == (64, 64, 3)
    assert np.allclose(problem.apply(astronaut64), problem.observation, atol=1e-6)
    flat = np.full((64, 64, 3), 0.3, np.float32)
    assert np.allclose(dip.downsample(flat, factor).observation, 0.3, atol=1e-5)  # a flat image stays flat


def test_lanczos_taps_sum_to_one_and_are_symmetric():
    taps = lanczos_kernel(4)
    assert taps.sum() == pytest.approx(1.0) and np.allclose(taps, taps[::-1]) and len(taps) == 16


def test_reconstruction_and_identity_problems(astronaut64):
    problem = dip.reconstruct(astronaut64)
    assert np.array_equal(problem.observation, astronaut64) and problem.mask is None
    assert np.array_equal(problem.apply(astronaut64), problem.observation)


def test_an_observed_image_has_no_ground_truth(astronaut64):
    problem = dip.observed(astronaut64)
    assert problem.clean is None and problem.psnr_input is None
    enlarged = dip.observed(astronaut64, factor=2)
    assert enlarged.shape == (128, 128, 3)


@pytest.mark.parametrize(
    "make",
    [
        lambda img: dip.noisy(img, sigma=-1),
        lambda img: dip.drop_pixels(img, 1.0),
        lambda img: dip.drop_pixels(img, -0.1),
        lambda img: dip.downsample(img, 3),
        lambda img: dip.text_over(img, text="   "),
        lambda img: dip.region(img, boxes=[(100, 0, 5, 5)]),
    ],
)
def test_impossible_settings_raise_the_projects_error(astronaut64, make):
    with pytest.raises(dip.DipError):
        make(astronaut64)
