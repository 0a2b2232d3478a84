"""Lesson 05's exercises: ES-WMV's windowed variance, its stopping rule, and its window scaled to a run."""

from __future__ import annotations

import numpy as np
import torch

from ..stopping import EsWmv
from . import among, exercise, is_pair, not_yet, right


@exercise("5.1")
def windowed_variance(answer) -> object:
    """`answer(window)`: for a (W, N) tensor of W flattened outputs, the mean over pixels of their variance."""
    window = torch.rand(6, 50, generator=torch.Generator().manual_seed(0))
    got = answer(window.clone())
    want = window.var(dim=0, unbiased=False).mean()
    count = got.numel() if isinstance(got, torch.Tensor) else np.size(got)
    if isinstance(got, torch.Tensor | np.ndarray) and count != 1:
        return not_yet(f"return one number, not {count}: average the variances over the N values")
    if not isinstance(got, torch.Tensor | np.ndarray | float | np.floating):
        return not_yet("return one number")
    got = torch.as_tensor(float(got))
    if torch.isclose(got, window.var(dim=0, unbiased=True).mean()):
        return not_yet("ES-WMV divides by W, not W − 1: unbiased=False")
    if torch.isclose(got, window.var(dim=1, unbiased=False).mean()):
        return not_yet("take the variance across the W outputs (dim 0), then the mean over the pixels")
    if not torch.isclose(got, want):
        return not_yet("for each pixel, the variance of its W values; then the mean of those")
    return right("a low value means the last W outputs barely differ: the network has settled on an image")


def _reference_stop(variances: list[tuple[int, float]], patience: int) -> int | None:
    best, best_iter = float("inf"), None
    for iteration, value in variances:
        if value < best:
            best, best_iter = value, iteration
        elif iteration - best_iter >= patience:
            return best_iter
    return None


@exercise("5.2")
def stopping_rule(answer) -> object:
    """`answer(variances, patience)`: the iteration to keep, once `patience` iterations pass without a new minimum."""
    valley = [(k, (k - 40) ** 2 / 100 + 1) for k in range(1, 201)]  # lowest at 40
    falling = [(k, 100 / k) for k in range(1, 201)]  # never turns up
    sparse = [(k, (k - 400) ** 2 / 10000 + 1) for k in range(10, 2001, 10)]  # recorded every 10 iterations
    cases = ((valley, 30), (valley, 200), (falling, 30), (valley[:70], 30), (sparse, 300))
    for curve, patience in cases:
        got, want = answer(list(curve), patience), _reference_stop(curve, patience)
        if got != want:
            if want is None:
                return not_yet("when no `patience` iterations pass without a new minimum, there is no stop: None")
            if got == want + patience:
                return not_yet("return the iteration of the minimum, not the one where you noticed")
            if curve[-1][0] - want == patience:
                return not_yet("after exactly `patience` iterations without a new minimum, stop: compare with >=")
            if curve is sparse:
                return not_yet("patience counts iterations, not entries of the list: compare iteration numbers")
            return not_yet("track the lowest variance so far and its iteration; stop once `patience` pass")
    return right("the stop comes `patience` iterations late, but the output kept is the one at the minimum")


@exercise("5.3")
def scaled_window(answer) -> object:
    """`answer` = (window, patience) the lessons use for a 2000-iteration run."""
    want = EsWmv.for_iters(2000)
    if isinstance(answer, EsWmv):
        return not_yet("that is the package's detector: work the pair out, then compare it with its .window, .patience")
    if not is_pair(answer):
        return not_yet("answer with two numbers: (window, patience)")
    if tuple(answer) == (want.patience, want.window):
        return not_yet("the order: (window, patience), the window the smaller")
    if tuple(answer) == (100, 1000):
        return not_yet("those are the published values for 8000 iterations; scale them to 2000")
    if tuple(answer) != (want.window, want.patience):
        return not_yet("both scale with the run: multiply by 2000 / 8000 (never below 10 and 50)")
    return right("a quarter of the run, a quarter of the window and patience")


WHILE_DRAWING = ("it falls", "it stays flat", "it rises")


@exercise("5.0")
def variance_while_drawing(answer, runs: dict) -> object:
    """A prediction about the lesson's fits: what the variance of the recent outputs does while the image appears
    (from each run's recorded variance: its first value once the window has filled, against its lowest)."""
    if (wrong := among(answer, WHILE_DRAWING)) is not None:
        return wrong
    falls = []
    for run in runs.values():
        variance = np.asarray(run.history["variance"], dtype=float)
        recorded = variance[np.isfinite(variance)]
        falls.append(recorded.min() < 0.5 * recorded[0])
    truth = WHILE_DRAWING[0] if all(falls) else WHILE_DRAWING[1]
    seen = f"in {sum(falls)} of {len(falls)} runs the variance fell to under half its first value"
    if answer != truth:
        return not_yet(f"not what happened: {seen}. Look at the pink variance curves: what happens early on?")
    return right(f"{seen}: the outputs settle as the image appears, then stir again once the network draws noise")
