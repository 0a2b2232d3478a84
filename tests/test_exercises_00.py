"""Lesson 00's exercises: a wrong answer gets "not yet" and a hint, a right one written another way gets "right"."""

import math

import dip_edu as dip
from dip_edu import exercises

# Answers a learner might give that are wrong, with a word the hint must contain.
WRONG = {
    "0.0": [("about 2 times", "954,083"), ("about 250 times", "not so"), ("25", "choose one")],
    "0.1": [
        (lambda mse, g: mse * 10 ** (g / 10), "go down"),
        (lambda mse, g: mse / 10**g, "10 dB"),
        (lambda mse, g: mse / 10 ** (g / 20), "amplitudes"),
        (lambda mse, g: 10 ** (g / 10), "factor"),
        (lambda mse, g: mse - g, "solve"),
        (lambda mse, g: mse / 1.26**g, "rounded"),
    ],
    "0.2": [
        (lambda n, s, side: n * s * (side / 128) ** 2, "seconds"),
        (lambda n, s, side: n * s * (side / 128) ** 2 / 3600, "hours"),
        (lambda n, s, side: n / s / 60, "pace"),
        (lambda n, s, side: n * s * side / 128 / 60, "number of pixels"),
        (lambda n, s, side: n * s / 60, "128×128"),
        (lambda n, s, side: n * s * (128 / side) ** 2 / 60, "upside down"),
    ],
    "0.3": [
        ((128 * 128, 39127), "three values"),
        ((128 * 128 * 3, 2217831), "paper"),
        ((128 * 128 * 3, 35859), "skip"),
        ((128 * 128 * 3, 40000), "count_params"),
        ((128 * 128 * 8, 39127), "colour channels"),
        (49152, "two numbers"),
    ],
}


def test_other_right_answers_are_accepted_too():
    alt = {
        "0.1": lambda mse, g: 1 / 10 ** ((10 * math.log10(1 / mse) + g) / 10),
        "0.2": lambda n, s, side: n * s * side * side / 128**2 / 60,
        "0.3": (3 * 128**2, dip.count_params(dip.build("lesson"))),
    }
    for key, answer in alt.items():
        verdict = exercises.verdict(key, answer)
        assert verdict.ok, (key, verdict)
