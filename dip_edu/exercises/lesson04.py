"""Lesson 04's exercises: what the downsampler does to the shape, two images with the same small version, and
PSNR on the Y channel with a border cropped."""

from __future__ import annotations

import numpy as np

from ..problem import lanczos_downsample
from . import among, exercise, is_pair, not_yet, right


@exercise("4.1")
def downsampled_shape(answer) -> object:
    """`answer` = (the shape d gives a (96, 128, 3) image at ×4, how many values it has per value of the small one)."""
    if not is_pair(answer):
        return not_yet("answer with two values: (shape, values per observed value)")
    shape, per_value = answer
    shape = tuple(int(v) for v in shape)
    if shape == (32, 24, 3):
        return not_yet("NumPy images are (height, width, channels): the height comes first")
    if shape == (24, 32):
        return not_yet("the colour channels stay: d shrinks each channel on its own")
    if shape == (384, 512, 3):
        return not_yet("d makes the image smaller: divide, do not multiply")
    if shape == (6, 8, 3):
        return not_yet("divide each side by the factor once: ×4 means 4 times smaller on each side")
    if shape != (24, 32, 3):
        return not_yet("each side is divided by the factor, and the channels stay")
    if per_value == 4:
        return not_yet("the shape is right; both sides shrink by 4, so count again")
    if per_value == 48:
        return not_yet("the shape is right; count the values of both images, the channels on both sides")
    if per_value != 16:
        return not_yet("the shape is right; divide the large image's number of values by the small one's")
    return right(
        "the loss pins down one combination of each 16 values; the other 15 directions are free, and only a prior "
        "can choose them"
    )


def _image() -> np.ndarray:
    from ..images import load

    return load("builtin:astronaut", size=32, resize=True)


@exercise("4.2")
def twin(answer) -> object:
    """`answer(img)`: an image different from `img` whose Lanczos ×4 downsampling is the same as img's."""
    import torch

    from ..degrade import downsample
    from ..metrics import psnr

    img = _image()
    small = lanczos_downsample(img, 4)
    got = answer(img.copy())
    if isinstance(got, torch.Tensor):
        got = got.detach().cpu().numpy()
    got = np.asarray(got, dtype=np.float32)
    if got.shape != img.shape:
        if got.size == img.size:  # the right values in torch's layout, (1, 3, H, W) or (3, H, W)
            return not_yet(
                f"return it laid out as img is, {img.shape} (height, width, channels): from a (1, 3, H, W) tensor x, "
                "x[0].permute(1, 2, 0)"
            )
        if got.size == small.size:
            return not_yet(f"return an image shaped like img, {img.shape}: the large image, not its small version")
        return not_yet(f"return an image shaped like img, {img.shape}")
    if np.abs(got - img).max() < 0.05:
        return not_yet("that is img itself, or nearly: make an image that differs from it")
    gap = float(np.abs(lanczos_downsample(got, 4) - small).max())
    if gap < 1e-3:
        return right(
            f"both shrink to the same x̂, so the loss is zero for both, yet your image is {psnr(got, img):.1f} dB "
            "from img: the loss cannot choose between them, and in Deep Image Prior the network's structure does"
        )
    shift = got - img
    if np.allclose(shift, shift.mean(), atol=1e-4):
        return not_yet("d keeps the average (its weights sum to 1): a shift moves the small image by as much")
    if np.allclose(got, downsample(img, 4).preview(), atol=1e-4):
        return not_yet(
            f"bicubic upsampling comes close, but shrunk again it is off from x̂ by up to {gap:.3f}: fit the pixels to x̂"
        )
    return not_yet(
        f"shrunk again, your image is off from x̂ by up to {gap:.3f} (it must be within 0.001): fit its pixels to "
        "x̂ by minimising mean((d(x) − x̂)²), with more steps or a larger learning rate if you already do"
    )


_Y = np.array([65.481, 128.553, 24.966])  # BT.601 Y from RGB in [0, 1], before the offset of 16


def _crop(a: np.ndarray, border: int) -> np.ndarray:
    return a[border:-border, border:-border]


def _psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    return float(10 * np.log10(peak**2 / np.mean((a.astype(np.float64) - b) ** 2)))


@exercise("4.3")
def psnr_y(answer) -> object:
    """`answer(img, ref, border)`: PSNR on the Y channel (0–255 scale, peak 255) with `border` pixels cropped."""
    from ..degrade import downsample
    from ..images import load
    from ..metrics import psnr
    from ..metrics import psnr_y as reference

    ref = load("builtin:astronaut", size=64, resize=True)
    img = downsample(ref, 4).preview()  # bicubic upsampling of the small image
    got, want = float(answer(img.copy(), ref.copy(), 4)), reference(img, ref, border=4)
    if np.isclose(got, want, atol=1e-3):
        if not np.isclose(float(answer(img.copy(), ref.copy(), 2)), reference(img, ref, border=2), atol=1e-3):
            return not_yet("right for border=4 only: crop as many pixels as the `border` argument says")
        rgb = psnr(img, ref)
        return right(
            f"here bicubic scores {want:.2f} dB on Y and {rgb:.2f} dB on all three channels: compare a number "
            "with the paper's only when it is measured the same way"
        )
    y_img, y_ref = img @ _Y + 16, ref @ _Y + 16
    if any(np.isclose(got, v, atol=1e-3) for v in (psnr(img, ref), _psnr(_crop(img, 4), _crop(ref, 4), 1.0))):
        return not_yet("that is the PSNR of all three channels: compute Y from R, G and B first")
    if np.isclose(got, reference(img, ref, border=0), atol=1e-3):
        return not_yet("crop `border` pixels from each side before comparing")
    if np.isclose(got, _psnr(y_img[4:, 4:], y_ref[4:, 4:], 255), atol=1e-3):
        return not_yet("crop from each side: top, bottom, left and right")
    if np.isclose(got, _psnr(_crop(y_img, 4), _crop(y_ref, 4), 1.0), atol=1e-3):
        return not_yet("the peak: Y is on the 0–255 scale, so the peak is 255")
    full = np.array([0.299, 0.587, 0.114])
    if np.isclose(got, _psnr(_crop(img @ full, 4), _crop(ref @ full, 4), 1.0), atol=1e-3):
        return not_yet("that Y runs from 0 to 1; the paper's runs from 16 to 235 on the 0–255 scale: use its weights")
    if np.isclose(got, _psnr(_crop(img.mean(-1), 4), _crop(ref.mean(-1), 4), 1.0), atol=1e-3):
        return not_yet("Y is not the mean of the channels: it weighs them, green most")
    return not_yet("Y = 16 + 65.481·R + 128.553·G + 24.966·B; crop it, then PSNR = 10·log10(255² / MSE)")


MATCH = ("much closer", "about as close", "less close")


@exercise("4.0")
def small_against_large(answer) -> object:
    """A prediction: how closely d(x*) matches x̂, against how closely x* matches the original (read from the
    ×4 replay, at its end)."""
    from ..metrics import psnr
    from ..replay import load

    if (wrong := among(answer, MATCH)) is not None:
        return wrong
    run = load("04-sr4")
    small = psnr(lanczos_downsample(run.final.out, run.config["factor"]), run.observation)
    large = psnr(run.final.out, run.clean)
    truth = MATCH[0] if small - large > 6 else MATCH[1] if abs(small - large) <= 6 else MATCH[2]
    seen = f"in the replay, after 8000 iterations, d(x*) against x̂: {small:.1f} dB"
    seen += f"; x* against the original: {large:.1f} dB"
    if answer != truth:
        return not_yet(f"not what happened: {seen}. Which of the two does the loss look at?")
    per = run.config["factor"] ** 2
    return right(
        f"{seen}. The loss is nearly zero on the small image, yet {per - 1} of every {per} values of x* are free"
    )
