"""Lesson 02's exercises: PSNR by hand, the noise's PSNR predicted, and overfitting read from the replay."""

from __future__ import annotations

import numpy as np

from ..metrics import psnr as reference_psnr
from . import among, exercise, is_pair, not_yet, right


@exercise("2.1")
def psnr(answer) -> object:
    """`answer(x, y)` must be 10·log10(1 / MSE) for images in [0, 1]."""
    rng = np.random.default_rng(0)
    x = 0.9 * rng.random((8, 8, 3)).astype(np.float32)  # neither image reaches 1: the peak is the range's, not theirs
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 0.95).astype(np.float32)
    got, want = float(answer(x, y)), reference_psnr(x, y)
    mse = float(np.mean((x - y) ** 2))
    if np.isclose(got, 10 * np.log10(255**2 / mse), atol=1e-3):
        return not_yet("these images are in [0, 1], so the peak value is 1, not 255")
    if any(np.isclose(got, 10 * np.log10(image.max() ** 2 / mse), atol=1e-3) for image in (x, y)):
        return not_yet("the peak is the largest value the range allows, 1, not the largest value in the images")
    if np.isclose(got, 10 * np.log10(1 / float(np.sum((x - y) ** 2))), atol=1e-3):
        return not_yet("the *mean* squared error: divide the sum by the number of values (np.mean)")
    if np.isclose(got, -10 * np.log10(1 / mse), atol=1e-3) or got < 0:
        return not_yet("the sign: a smaller error must give a larger PSNR")
    if np.isclose(got, 10 * np.log10(1 / np.sqrt(mse)), atol=1e-3):
        return not_yet("use the mean *squared* error (or 20·log10 of the RMS error's inverse)")
    if not np.isclose(got, want, atol=1e-3):
        return not_yet("PSNR = 10·log10(1 / mean((x − y)²))")
    return right("halving the mean squared error adds about 3 dB")


@exercise("2.2")
def noise_psnr(answer) -> object:
    """`answer`: the PSNR of an image with Gaussian noise σ = 25 (0–255 scale), before clipping."""
    want = 10 * np.log10(1 / (25 / 255) ** 2)
    got = float(answer)
    if np.isclose(got, 10 * np.log10(1 / 25**2), atol=0.05):
        return not_yet("put σ on the image's scale first: 25/255")
    if np.isclose(got, 10 * np.log10(1 / (25 / 255)), atol=0.05):
        return not_yet("the noise's mean *square* is σ²")
    if not np.isclose(got, want, atol=0.05):
        return not_yet("the noise's mean square is σ² (σ = 25/255 in [0, 1] units); PSNR = 10·log10(1 / that)")
    return right(f"{want:.2f} dB; the replay measures 20.78 dB because clipping to [0, 1] removes some noise")


@exercise("2.3")
def overfitting(answer) -> object:
    """`answer` = (the iteration of the replay's best PSNR, the dB it loses from there to iteration 8000)."""
    from ..replay import load

    run = load("02-denoise")
    peak_iter, peak_psnr = run.peak()
    drop = peak_psnr - float(run.history["psnr"][-1])
    if not is_pair(answer):
        return not_yet("answer with two numbers: (iteration, dB lost)")
    iteration, lost = answer
    if iteration != peak_iter:
        return not_yet("replay.peak() gives the iteration and the PSNR of the best output")
    if np.isclose(float(lost), -drop, atol=0.01):
        return not_yet("the sign: give how much the PSNR *falls*, a positive number")
    at_end = peak_psnr - run.final.psnr  # the last snapshot, from the clean input z: as good an answer
    if not (np.isclose(float(lost), drop, atol=0.01) or np.isclose(float(lost), at_end, atol=0.01)):
        return not_yet("subtract the PSNR at the last iteration (history['psnr'][-1]) from the peak's")
    return right(f"the network keeps fitting, and after iteration {peak_iter} it is fitting the noise")


AT_THE_END = ("higher than at its best", "about the same as at its best", "lower than at its best")


@exercise("2.0")
def end_against_peak(answer) -> object:
    """A prediction: the PSNR after 8000 iterations of denoising against its best (read from the replay)."""
    from ..replay import load

    if (wrong := among(answer, AT_THE_END)) is not None:
        return wrong
    run = load("02-denoise")
    peak_iter, peak_psnr = run.peak()
    end = float(run.history["psnr"][-1])
    truth = AT_THE_END[2] if peak_psnr - end >= 0.5 else AT_THE_END[1]
    seen = f"the PSNR peaked at {peak_psnr:.2f} dB at iteration {peak_iter} and ended at {end:.2f} dB"
    if answer != truth:
        return not_yet(f"not what happened: {seen}. The loss kept falling all along: what was left for it to fit?")
    return right(f"{seen}: after the image, the network fits the noise, and the loss cannot tell the two apart")
