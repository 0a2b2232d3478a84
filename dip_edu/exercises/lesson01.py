"""Lesson 01's exercises: the inpainting loss, the average of outputs, and reading the replays' loss curves."""

from __future__ import annotations

import numpy as np
import torch

from . import among, exercise, is_pair, masked_example, not_yet, right


@exercise("1.1")
def masked_loss(answer) -> object:
    """`answer(x, x_hat, m)` must be E = mean(((x − x̂)·m)²), a mean over every value, differentiable."""
    x, x_hat, m = masked_example(0, requires_grad=True)
    got = answer(x, x_hat, m)
    if not isinstance(got, torch.Tensor) or got.numel() != 1:
        return not_yet("return one number as a tensor: end with .mean()")
    want = (((x - x_hat) * m) ** 2).mean()
    if torch.isclose(got, ((x - x_hat) ** 2).mean()):
        return not_yet("the mask is not used: multiply the difference by m before squaring")
    if torch.isclose(got, (((x - x_hat) * m) ** 2).sum() / (m.sum() * 3)):
        return not_yet("close: the lesson's E is a mean over every value, unknown ones counting as zero")
    if not torch.isclose(got, want):
        return not_yet("compare with E = mean(((x − x̂)·m)²) on a small example by hand")
    if got.grad_fn is None:
        return not_yet("the value is right but no gradient flows: compute it with torch operations on x")
    return right("the unknown pixels add nothing to the loss, so nothing pulls the network there")


@exercise("1.2")
def average_update(answer) -> object:
    """`answer(average, out)` must return 0.99·average + 0.01·out."""
    gen = torch.Generator().manual_seed(1)
    average, out = torch.rand(1, 3, 4, 4, generator=gen), torch.rand(1, 3, 4, 4, generator=gen)
    got = answer(average.clone(), out.clone())
    if not isinstance(got, torch.Tensor) or got.shape != out.shape:
        return not_yet("return a tensor shaped like the output")
    if torch.allclose(got, 0.01 * average + 0.99 * out):
        return not_yet("the weights are swapped: 0.99 stays on the old average")
    if not torch.allclose(got, 0.99 * average + 0.01 * out):
        return not_yet("the new average is 0.99 × the old one + 0.01 × the new output")
    return right("each output counts for 1 %, so the average changes slowly and smooths the outputs' jitter")


def _first_below(losses: np.ndarray, level: float) -> int | None:
    below = np.flatnonzero(np.asarray(losses) < level)
    return int(below[0]) + 1 if len(below) else None


@exercise("1.3")
def replay_reading(answer) -> object:
    """`answer` = (first iteration with the natural image's loss below 0.005, whether the noise's ever gets there)."""
    from ..replay import load

    image, noise = load("01-reconstruct").history["loss"], load("01-noise").history["loss"]
    want = (_first_below(image, 0.005), _first_below(noise, 0.005) is not None)
    if not is_pair(answer):
        return not_yet("answer with two values: (iteration, True or False)")
    iteration, reached = answer
    if iteration == want[0] - 1:
        return not_yet("off by one: iterations count from 1 (history['iter'] holds them)")
    if iteration != want[0]:
        return not_yet("find the first index where history['loss'] < 0.005, e.g. with np.argmax or np.flatnonzero")
    if not isinstance(reached, bool | np.bool_ | int):
        return not_yet(f"the second value is True or False, not {reached!r}")
    if bool(reached) != want[1]:
        return not_yet("the iteration is right; look again at the noise's loss over all 8000 iterations")
    return right(f"the image is drawn within {want[0]} iterations; the noise is never fitted that well in 8000")


FIRST = ("the natural image", "the uniform noise", "both at the same pace")


@exercise("1.0")
def fitted_first(answer) -> object:
    """A prediction: which the network fits first, a natural image or uniform noise (read from the two replays)."""
    from ..replay import load

    if (wrong := among(answer, FIRST)) is not None:
        return wrong
    at = 500

    def loss_at(key: str) -> float:
        history = load(key).history
        return float(history["loss"][list(history["iter"]).index(at)])

    image, noise = loss_at("01-reconstruct"), loss_at("01-noise")
    truth = FIRST[0] if image < noise / 2 else FIRST[1] if noise < image / 2 else FIRST[2]
    seen = f"after {at} steps the loss is {image:.4f} on the image and {noise:.4f} on the noise"
    if answer != truth:
        return not_yet(f"not what happened: {seen}. What in a natural image could a convolutional network draw easily?")
    return right(
        f"{seen}, {noise / image:.0f} times higher: the network's structure favours images, before any training"
    )
