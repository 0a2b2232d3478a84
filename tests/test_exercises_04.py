"""Lesson 04's exercises: a wrong answer gets "not yet" and a hint, a right one written another way gets "right"."""

import numpy as np
import torch
from skimage.color import rgb2ycbcr
from skimage.transform import resize

import dip_edu as dip
from dip_edu import exercises
from dip_edu.problem import lanczos_downsample

WEIGHTS = np.array([65.481, 128.553, 24.966])  # the paper's Y, 16 to 235
FULL = np.array([0.299, 0.587, 0.114])  # a Y from 0 to 1


def _y(img):
    return img @ WEIGHTS


def _crop(a, border):
    return a[border:-border, border:-border]


def _psnr(a, b, peak):
    return 10 * np.log10(peak**2 / np.mean((a - b) ** 2))


def _bicubic(img):
    return resize(lanczos_downsample(img, 4), img.shape, order=3).clip(0, 1).astype(np.float32)


def _fit_pixels(img, steps):
    d = dip.problem.Lanczos(4, img.shape[2])
    target = d(torch.from_numpy(img).permute(2, 0, 1)[None])
    x = torch.full((1, img.shape[2], *img.shape[:2]), 0.5, requires_grad=True)
    optimizer = torch.optim.Adam([x], lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        ((d(x) - target) ** 2).mean().backward()
        optimizer.step()
    return x.detach()[0].permute(1, 2, 0).numpy()


# Answers a learner might give that are wrong, with a word the hint must contain.
WRONG = {
    "4.0": [("about as close", "d(x*)"), ("less close", "not what happened"), ("closer", "choose one")],
    "4.1": [
        (((32, 24, 3), 16), "height"),
        (((24, 32), 16), "channels"),
        (((384, 512, 3), 16), "smaller"),
        (((6, 8, 3), 16), "once"),
        (((24, 32, 3), 4), "both sides"),
        (((24, 32, 3), 48), "channels"),
        ((24, 32, 3), "two values"),
    ],
    "4.2": [
        (lambda img: img.copy(), "itself"),
        (lambda img: img + 0.1, "average"),
        (lambda img: lanczos_downsample(img, 4), "small version"),
        (lambda img: torch.from_numpy(_fit_pixels(img, 150)).permute(2, 0, 1)[None], "permute"),
        (lambda img: img[:-1], "shaped like img"),
        (_bicubic, "bicubic"),
        (lambda img: _fit_pixels(img, 5), "off from x̂"),
    ],
    "4.3": [
        (lambda img, ref, border: dip.psnr(img, ref), "three channels"),
        (lambda img, ref, border: dip.psnr_y(img, ref, border=0), "crop"),
        (lambda img, ref, border: dip.psnr_y(img, ref, border=4), "border"),
        (lambda img, ref, border: _psnr(_y(img)[border:, border:], _y(ref)[border:, border:], 255), "each side"),
        (lambda img, ref, border: _psnr(_crop(_y(img), border), _crop(_y(ref), border), 1), "255"),
        (lambda img, ref, border: _psnr(_crop(img @ FULL, border), _crop(ref @ FULL, border), 1), "16 to 235"),
        (lambda img, ref, border: _psnr(_crop(img.mean(-1), border), _crop(ref.mean(-1), border), 1), "weighs"),
    ],
}


def _psnr_y_with_skimage(img, ref, border):
    a, b = rgb2ycbcr(img)[..., 0], rgb2ycbcr(ref)[..., 0]
    crop = (slice(border, a.shape[0] - border), slice(border, a.shape[1] - border))
    return 20 * np.log10(255 / np.sqrt(np.mean((a[crop] - b[crop]) ** 2)))


def test_other_right_answers_are_accepted_too():
    alt = {
        "4.1": ([24, 32, 3], 96 * 128 // (24 * 32)),
        "4.2": lambda img: torch.from_numpy(_fit_pixels(img, 150)),  # a tensor, not an array
        "4.3": _psnr_y_with_skimage,
    }
    for key, answer in alt.items():
        verdict = exercises.verdict(key, answer)
        assert verdict.ok, (key, verdict)
