"""Lesson 03's exercises: a wrong answer gets "not yet" and a hint, a right one written another way gets "right"."""

import torch

from dip_edu import exercises

# Answers a learner might give that are wrong, with a word the hint must contain.
WRONG = {
    "3.0": [("text drawn over it", "a missing rectangle:"), ("half of the pixels dropped", "not what happened")],
    "3.1": [
        (lambda p: float(p.mask.mean()), "known"),
        (lambda p: int((p.mask == 0).sum()), "count"),
        (lambda p: p.params["fraction"], "chance"),
        (lambda p: float((p.observation == 0).mean()), "mask"),
    ],
    "3.2": [
        (lambda x, x_hat, m: 2 * (x - x_hat) / x.numel(), "mask"),
        (lambda x, x_hat, m: 2 * (x - x_hat) * m, "mean"),
        (lambda x, x_hat, m: 2 * (x - x_hat) * m / m.numel(), "channels"),
        (lambda x, x_hat, m: 2 * (x_hat - x) * m / x.numel(), "sign"),
        (lambda x, x_hat, m: (x - x_hat) * m / x.numel(), "2u"),
        (lambda x, x_hat, m: (((x - x_hat) * m) ** 2).mean(), "shaped like x"),
    ],
    "3.3": [
        (("inpaint-pixels", 21.03), "most damaged"),
        (("inpaint-text", 21.26), "smallest"),
        (("inpaint-region", 24.81), "psnr_input"),
        (("inpaint-region", -4.72), "sign"),
        (("inpaint-region", 10.0), "kind is right"),
        (("inpainting", 4.72), "name the kind"),
        ("inpaint-region", "two values"),
    ],
}


def _autograd_gradient(x, x_hat, m):
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(torch.mean(torch.square(m * (x_hat - x))), x)
    return grad


def test_other_right_answers_are_accepted_too():
    alt = {
        "3.1": lambda p: 1 - p.mask.mean(),
        "3.2": _autograd_gradient,
        "3.3": ("region", 4.7),
    }
    for key, answer in alt.items():
        verdict = exercises.verdict(key, answer)
        assert verdict.ok, (key, verdict)
    by_hand = exercises.verdict("3.2", lambda x, x_hat, m: 2 * (x - x_hat) * m**2 / x.numel())
    assert by_hand.ok and "zero" in by_hand.message
