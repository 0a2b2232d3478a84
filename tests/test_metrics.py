import numpy as np
import pytest
import torch

import dip_edu as dip
from dip_edu import metrics
from dip_edu.images import to_tensor


def test_psnr_matches_a_hand_computed_value():
    ref = np.zeros((8, 8, 3), np.float32)
    img = np.full((8, 8, 3), 0.1, np.float32)  # MSE 0.01 -> 10 log10(1 / 0.01) = 20 dB
    assert dip.psnr(img, ref) == pytest.approx(20.0, abs=1e-4)
    assert dip.psnr(ref, ref) == float("inf")


def test_device_psnr_agrees_with_scikit_image(astronaut64):
    noisy = dip.noisy(astronaut64, 25).observation
    on_device = float(metrics.psnr_tensor(to_tensor(noisy), to_tensor(astronaut64)))
    assert on_device == pytest.approx(dip.psnr(noisy, astronaut64), abs=1e-3)


def test_y_channel_psnr_crops_the_border_and_agrees_on_device(astronaut64):
    img = astronaut64.copy()
    img[:2] = 0  # damage only the border
    assert dip.psnr_y(img, astronaut64, border=4) == float("inf")
    assert dip.psnr_y(img, astronaut64, border=0) < 30
    blurred = dip.downsample(astronaut64, 2)
    up = blurred.preview()
    on_device = float(metrics.psnr_tensor(to_tensor(up), to_tensor(astronaut64), y_border=4))
    assert on_device == pytest.approx(dip.psnr_y(up, astronaut64, border=4), abs=0.05)


def test_ssim_is_one_for_identical_images(astronaut64):
    assert dip.ssim(astronaut64, astronaut64) == pytest.approx(1.0)
    assert dip.ssim(dip.noisy(astronaut64, 25).observation, astronaut64) < 0.9


def test_psnr_tensor_clamps_outputs():
    ref = torch.zeros(1, 3, 4, 4)
    assert float(metrics.psnr_tensor(ref - 5, ref)) > 100
