"""Lesson 03's exercises: the share of pixels a mask leaves unknown, the masked loss's gradient, and reading the
three inpainting replays."""

from __future__ import annotations

import numpy as np
import torch

from . import among, exercise, is_pair, masked_example, not_yet, right

KINDS = ("inpaint-text", "inpaint-pixels", "inpaint-region")


def _problems() -> dict:
    from .. import degrade

    img = np.random.default_rng(3).random((64, 64, 3)).astype(np.float32) * 0.8 + 0.1  # never exactly 0 or 1
    return {
        "inpaint-pixels": degrade.drop_pixels(img, fraction=0.3, seed=1),
        "inpaint-text": degrade.text_over(img),
        "inpaint-region": degrade.region(img, boxes=[(4, 8, 20, 12)]),
    }


def _lesson_shares() -> dict[str, float]:
    """The share of unknown pixels each kind of damage leaves at the lesson's size, with its default settings."""
    from .. import degrade

    img = np.full((128, 128, 3), 0.5, np.float32)
    made = {"inpaint-text": degrade.text_over, "inpaint-pixels": degrade.drop_pixels, "inpaint-region": degrade.region}
    return {kind: float((make(img).mask == 0).mean()) for kind, make in made.items()}


@exercise("3.1")
def unknown_share(answer) -> object:
    """`answer(problem)`: the share of the image's pixels its mask marks unknown (m = 0), between 0 and 1."""
    for kind, problem in _problems().items():
        mask = problem.mask[..., 0]
        got, want = float(answer(problem)), float((mask == 0).mean())
        if np.isclose(got, want, atol=1e-6):
            continue
        if np.isclose(got, 1 - want, atol=1e-6):
            return not_yet("that is the share of known pixels: m is 1 where the pixel is known")
        if np.isclose(got, (mask == 0).sum(), atol=0.5) or np.isclose(got, (mask == 0).sum() * 3, atol=0.5):
            return not_yet("that is a count: give a share between 0 and 1 (divide by the number of pixels)")
        if kind == "inpaint-pixels" and np.isclose(got, problem.params["fraction"]):
            return not_yet("0.3 is the chance each pixel is dropped, not the share that was: count the mask")
        if kind == "inpaint-text":
            return not_yet("right for dropped pixels, not for text: read the mask, not the observation's colours")
        return not_yet("count the pixels where problem.mask is 0, and divide by the number of pixels")
    shares = _lesson_shares()
    return right(
        f"at 128 × 128 the text hides {shares['inpaint-text'] * 100:.0f} % of the pixels, the dropped pixels "
        f"{shares['inpaint-pixels'] * 100:.0f} % and the rectangle {shares['inpaint-region'] * 100:.0f} %: "
        "how hard a fill is depends on where the unknown pixels are, not only on how many"
    )


@exercise("3.2")
def masked_gradient(answer) -> object:
    """`answer(x, x_hat, m)`: the gradient of E = mean(((x − x̂)·m)²) with respect to x, shaped like x."""
    x, x_hat, m = masked_example(3)
    got = answer(x.clone(), x_hat.clone(), m.clone())
    if not isinstance(got, torch.Tensor) or got.shape != x.shape:
        return not_yet("return a tensor shaped like x: one gradient value for each value of x")
    got = got.detach()
    diff, n = x - x_hat, x.numel()
    if torch.allclose(got, 2 * diff / n):
        return not_yet("the mask is missing: E multiplies the difference by m before squaring")
    if torch.allclose(got, 2 * diff * m):
        return not_yet("E is a mean, not a sum: divide by the number of values")
    if torch.allclose(got, 2 * diff * m / m.numel()):
        return not_yet("the mean is over every value, the 3 colour channels included, not over the pixels")
    if torch.allclose(got, -2 * diff * m / n):
        return not_yet("the sign: where x is above x̂ the loss grows with x, so the gradient is positive")
    if torch.allclose(got, diff * m / n):
        return not_yet("the derivative of a square u² is 2u")
    if not torch.allclose(got, 2 * diff * m**2 / n):
        return not_yet("use autograd (x.requires_grad_(), then E.backward(), then x.grad), or derive it by hand")
    return right(
        "the gradient is exactly zero wherever m = 0: the loss never pushes an unknown pixel, so what the network "
        "draws there comes from the weights the known pixels shape"
    )


@exercise("3.3")
def replay_gains(answer) -> object:
    """`answer` = (the kind whose replay gains least over its damaged input at the end, that gain in dB)."""
    from ..replay import load

    runs = {kind: load(f"03-{kind}") for kind in KINDS}
    ends = {
        kind: {
            float(run.final.psnr),
            float(run.final.psnr_ema),
            float(run.history["psnr"][-1]),
            float(run.history["psnr_ema"][-1]),
        }
        for kind, run in runs.items()
    }
    gains = {kind: {end - runs[kind].config["psnr_input"] for end in ends[kind]} for kind in KINDS}
    least = min(KINDS, key=lambda kind: runs[kind].final.psnr - runs[kind].config["psnr_input"])
    if not is_pair(answer):
        return not_yet("answer with two values: (kind, gain in dB)")
    kind, gain = answer
    kind = str(kind).removeprefix("03-")
    kind = kind if kind.startswith("inpaint-") else f"inpaint-{kind}"  # "region" for "inpaint-region"
    if kind not in KINDS:
        return not_yet(f"name the kind as the lesson does: {', '.join(KINDS)}")
    gain = float(gain)
    if kind != least:
        lowest_input = min(KINDS, key=lambda k: runs[k].config["psnr_input"])
        if kind == lowest_input:
            return not_yet(
                "that kind is the most damaged, not the one that gains least: compare the gains, restored "
                "minus damaged, for each kind"
            )
        return not_yet(
            "compare the gains: the PSNR at the end minus config['psnr_input'], for each kind, and take the smallest"
        )
    if any(np.isclose(gain, -g, atol=0.05) for g in gains[kind]):
        return not_yet("the sign: the gain is the restored PSNR minus the damaged one, a positive number")
    if any(np.isclose(gain, end, atol=0.05) for end in ends[kind]):
        return not_yet("that is the restored PSNR: subtract the damaged image's, replay.config['psnr_input']")
    if not any(np.isclose(gain, g, atol=0.05) for g in gains[kind]):
        return not_yet("the kind is right; the gain is replay.final.psnr − replay.config['psnr_input']")
    others = [min(gains[k]) for k in KINDS if k != least]
    return right(
        f"the rectangle's middle is far from every known pixel, so the network has to invent it; text and dropped "
        f"pixels leave a known pixel near every unknown one and gain {min(others):.0f}–{max(others):.0f} dB"
    )


WORST = ("text drawn over it", "half of the pixels dropped", "a missing rectangle")


@exercise("3.0")
def worst_fill(answer) -> object:
    """A prediction: which kind of damage the network fills worst, scored inside the missing pixels only (read from
    the three replays, at their end)."""
    from ..metrics import psnr
    from ..replay import load

    if (wrong := among(answer, WORST)) is not None:
        return wrong
    inside = {}
    for choice, kind in zip(WORST, KINDS, strict=True):
        run = load(f"03-{kind}")
        missing = run.mask[..., 0] == 0
        inside[choice] = psnr(run.final.out[missing], run.clean[missing])
    truth = min(inside, key=inside.get)
    seen = "; ".join(f"{choice}: {value:.1f} dB" for choice, value in inside.items())
    if answer != truth:
        return not_yet(f"not what happened, inside the missing pixels: {seen}. How far is each one from a known pixel?")
    return right(f"inside the missing pixels: {seen}. Far from any known pixel, the network can only guess")
