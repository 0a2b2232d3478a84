"""Degradations: each turns a clean image into a Problem (observation, operator, mask, clean image)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import images
from .errors import number, require
from .problem import Problem, default_settings, lanczos_downsample

DEFAULT_TEXT = "Deep Image Prior restores what the network can draw"


def reconstruct(img: np.ndarray) -> Problem:
    """Fit the image itself (A = I, m = 1): how fast can the network draw it?

    Parameters
    ----------
    img : np.ndarray
        Float (H, W, C) image in [0, 1]; also the clean image the PSNR is measured against.

    Returns
    -------
    Problem
        Task "reconstruct", observation equal to the image.
    """
    return Problem("reconstruct", img.copy(), clean=img, settings=default_settings("reconstruct"))


def noisy(img: np.ndarray, sigma: float = 25, seed: int = 0) -> Problem:
    """Additive Gaussian noise, clipped to the valid range as in the paper: the denoising problem (A = I, m = 1).

    Parameters
    ----------
    img : np.ndarray
        Clean float (H, W, C) image in [0, 1].
    sigma : float
        Standard deviation on the 0-255 scale (25 is the paper's main setting; 25/255 ≈ 0.1 in [0, 1] units).
    seed : int
        Seeds the noise, so the same call gives the same observation.

    Returns
    -------
    Problem
        Task "denoise".
    """
    sigma = number(sigma, "noise sigma (0-255 scale)", 0, 255)
    rng = np.random.default_rng(seed)
    obs = np.clip(img + rng.normal(0, sigma / 255, img.shape), 0, 1).astype(np.float32)
    return Problem("denoise", obs, clean=img, settings=default_settings("denoise"), params={"sigma": sigma})


def _mask_problem(task: str, img: np.ndarray, mask: np.ndarray, fill: float, params: dict) -> Problem:
    mask = mask.astype(np.float32)[..., None]
    require(mask.any(), f"{task}: the mask leaves no pixel known; keep some of the image")
    obs = (img * mask + fill * (1 - mask)).astype(np.float32)
    return Problem(task, obs, clean=img, mask=mask, settings=default_settings(task), params=params)


def text_over(
    img: np.ndarray,
    text: str = DEFAULT_TEXT,
    font_size: int | None = None,
    density: float = 0.5,
    seed: int = 0,
) -> Problem:
    """Rows of text drawn over the image; the text's pixels are unknown (m = 0 there), the inpainting problem.

    Parameters
    ----------
    img : np.ndarray
        Clean float (H, W, C) image in [0, 1].
    text : str
        What is written, repeated along each row.
    font_size : int, optional
        Pixels; a tenth of the image height by default. Pillow's bundled font, the same on every machine.
    density : float
        In (0, 1]: how much of the height the text rows take (0.5: a row of text, a row of image).
    seed : int
        Seeds each row's horizontal offset.

    Returns
    -------
    Problem
        Task "inpaint-text", with its mask (1 = known).
    """
    h, w = img.shape[:2]
    font_size = max(8, h // 10) if font_size is None else number(font_size, "font size", 4, h, whole=True)
    require(isinstance(text, str) and bool(text.strip()), "text: give some text to draw over the image")
    density = number(density, "text density", 0, 1, open_lo=True)
    font = ImageFont.load_default(size=font_size)  # Pillow's bundled TrueType font: the same on every machine
    ink = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(ink)
    rng = np.random.default_rng(seed)
    line = (text.strip() + "  ") * (1 + w // max(1, int(font.getlength(text + "  "))))
    step = max(font_size, int(round(font_size * 1.2 / density)))
    for y in range(int(step * 0.2) - font_size // 4, h, step):
        draw.text((-int(rng.integers(0, font_size * 4)), y), line, fill=255, font=font)
    mask = np.asarray(ink) < 64
    require(not mask.all(), "text: no text pixel landed on the image; use a larger font or denser text")
    params = {"text": text, "font_size": font_size, "density": density, "seed": seed}
    return _mask_problem("inpaint-text", img, mask, fill=1.0, params=params)


def drop_pixels(img: np.ndarray, fraction: float = 0.5, seed: int = 0) -> Problem:
    """Drop a random share of the pixels (all channels of a pixel together); the dropped ones are unknown.

    Parameters
    ----------
    img : np.ndarray
        Clean float (H, W, C) image in [0, 1].
    fraction : float
        In [0, 1): the share of pixels dropped (the paper's 0.5).
    seed : int
        Seeds which pixels go.

    Returns
    -------
    Problem
        Task "inpaint-pixels", with its mask (1 = known).
    """
    fraction = number(fraction, "drop fraction", 0, 1, open_hi=True)
    mask = np.random.default_rng(seed).random(img.shape[:2]) >= fraction
    return _mask_problem("inpaint-pixels", img, mask, fill=0.0, params={"fraction": fraction, "seed": seed})


def region(
    img: np.ndarray,
    boxes: list[tuple[int, int, int, int]] | None = None,
    mask: np.ndarray | str | bytes | None = None,
) -> Problem:
    """Missing regions, from rectangles or a mask image.

    Parameters
    ----------
    img : np.ndarray
        Clean float (H, W, C) image in [0, 1].
    boxes : list of (top, left, height, width), optional
        Rectangles in pixels. With neither boxes nor mask, a centred square a quarter of the image wide is missing.
    mask : array, path or bytes, optional
        White = known, black = missing, at the image's size.

    Returns
    -------
    Problem
        Task "inpaint-region", with its mask (1 = known).
    """
    h, w = img.shape[:2]
    if mask is not None:
        known = read_mask(mask, (h, w))
        params: dict = {"mask": "image"}
    else:
        boxes = boxes or [(3 * h // 8, 3 * w // 8, h // 4, w // 4)]
        known = np.ones((h, w), bool)
        for box in boxes:
            require(len(box) == 4, f"region box {box!r}: give (top, left, height, width)")
            top, left, bh, bw = (number(v, "region box value", 0, None, whole=True) for v in box)
            require(
                bh > 0 and bw > 0 and 0 <= top < h and 0 <= left < w,
                f"region box {(top, left, bh, bw)}: must lie inside the {w}x{h} image",
            )
            known[top : top + bh, left : left + bw] = False
        params = {"boxes": [list(map(int, b)) for b in boxes]}
    require(not known.all(), "region: the mask marks nothing missing; mark the region to restore in black")
    return _mask_problem("inpaint-region", img, known, fill=0.0, params=params)


def read_mask(source: np.ndarray | str | bytes, shape: tuple[int, int]) -> np.ndarray:
    """A binary mask (True = known) from an array, path or bytes, checked against the image `shape` (H, W)."""
    arr = images.from_array(source) if isinstance(source, np.ndarray) else images.read(source)
    grey = arr.mean(axis=2)
    require(
        grey.shape == shape,
        f"mask {grey.shape[1]}x{grey.shape[0]}: the image is {shape[1]}x{shape[0]}; draw the mask at the image's size",
    )
    grey_share = float(((grey > 0.1) & (grey < 0.9)).mean())
    require(grey_share <= 0.01, f"mask: {grey_share:.0%} of its pixels are grey; use black (missing) and white (known)")
    known = grey >= 0.5
    require(known.any(), "mask: every pixel is black (missing); white marks the pixels that are known")
    return known


def downsample(img: np.ndarray, factor: int = 4) -> Problem:
    """Super-resolution: the observation is the image through a fixed Lanczos downsampler d, and E = ‖d(x) − x̂‖².

    Parameters
    ----------
    img : np.ndarray
        Clean float (H, W, C) image in [0, 1]; its sides must divide by `factor`.
    factor : {2, 4, 8}
        How much smaller the observation is on each side.

    Returns
    -------
    Problem
        Task "sr"; the network draws at the clean image's size, and PSNR is measured on the Y channel.
    """
    require(
        factor in (2, 4, 8) and not isinstance(factor, bool), f"factor {factor}: super-resolution supports 2, 4 or 8"
    )
    factor = int(factor)
    h, w = img.shape[:2]
    require(
        h % factor == 0 and w % factor == 0 and min(h, w) // factor >= 8,
        f"factor {factor}: the {w}x{h} image must divide by it and stay at least 8 pixels on a side",
    )
    obs = lanczos_downsample(img, factor)
    return Problem(
        "sr", obs, clean=img, factor=factor, settings=default_settings("sr", factor), params={"factor": factor}
    )


def observed(img: np.ndarray, mask: np.ndarray | str | bytes | None = None, factor: int = 1) -> Problem:
    """An image that is already degraded: a noisy photo, a damaged one with its mask, a small one to enlarge.

    Parameters
    ----------
    img : np.ndarray
        The degraded float (H, W, C) image in [0, 1].
    mask : array, path or bytes, optional
        White = known, black = to restore; makes it an inpainting problem.
    factor : {1, 2, 4, 8}
        Above 1: enlarge it that many times (super-resolution).

    Returns
    -------
    Problem
        Without ground truth: the fit runs, and metrics that need the clean image are absent.
    """
    require(factor in (1, 2, 4, 8), f"factor {factor}: must be 1, 2, 4 or 8")
    known = None if mask is None else read_mask(mask, img.shape[:2]).astype(np.float32)[..., None]
    task = "sr" if factor > 1 else ("inpaint-region" if known is not None else "denoise")
    settings = default_settings(task, factor)
    return Problem(task, img, clean=None, mask=known, factor=factor, settings=settings, params={"observed": True})
