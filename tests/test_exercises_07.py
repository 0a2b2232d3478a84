"""Lesson 07's exercises: a wrong answer gets "not yet" and a hint, a right one written another way gets "right"."""

import numpy as np

from dip_edu import exercises
from dip_edu.exercises.lesson07 import DAMAGES


def _mask(h, w, box, known=255, missing=0, dtype=np.uint8, extra=0):
    top, left, height, width = box
    mask = np.full((h, w), known, dtype)
    mask[top : top + height + extra, left : left + width + extra] = missing
    return mask


def _swapped(h, w, box):
    top, left, height, width = box
    return _mask(h, w, (left, top, width, height))


def _ends(h, w, box):
    top, left, bottom, right = box
    mask = np.full((h, w), 255, np.uint8)
    mask[top:bottom, left:right] = 0
    return mask


# One right answer: the first task accepted for each damage.
RIGHT_TASKS = {damage: wanted[0] if isinstance(wanted, tuple) else wanted for damage, wanted in DAMAGES.items()}


def _with(damage, task):
    return {**RIGHT_TASKS, damage: task}


# Answers a learner might give that are wrong, with a word the hint must contain.
WRONG = {
    "7.0": [
        (
            "Deep Image Prior",
            "not here",
            {"damaged": 16.5, "Deep Image Prior": 31.6, "nearest pixel": 32.8, "biharmonic": 35.0},
        ),
        ("biharmonic", "painted mask", {}),
        ("biharmonic", "for inpainting", {"damaged": 20.2, "Deep Image Prior": 27.1}),  # the denoising task
        (
            "biharmonic",
            "not here",
            {
                **{"damaged": 16.5, "Deep Image Prior": 31.6, "nearest pixel": 32.8, "biharmonic": 35.0},
                "Deep Image Prior": 36.0,
            },
        ),
    ],
    "7.1": [
        (lambda h, w, box: _mask(h, w, box, known=0, missing=255), "other way round"),
        (lambda h, w, box: _mask(w, h, box), "height first"),
        (lambda h, w, box: _mask(h, w, box, known=1), "1 is almost black"),
        (lambda h, w, box: _mask(h, w, box, known=True, missing=False, dtype=bool), "np.uint8"),
        (lambda h, w, box: _mask(h, w, box, known=1.0, missing=0.0, dtype=np.float32), "np.uint8"),
        (_swapped, "top counts rows"),
        (_ends, "height and width"),
        (lambda h, w, box: _mask(h, w, box, extra=1), "off by one"),
        (lambda h, w, box: _mask(h + 2, w, box), "image's size"),
        (lambda h, w, box: [[255] * w] * h, "numpy array"),
    ],
    "7.2": [
        (lambda m: float((m == 255).mean()), "white"),
        (lambda m: int((m == 0).sum()), "count"),
        (lambda m: float((m == 0).sum() / (m.shape[0] * m.shape[1])), "3 values per pixel"),
        (lambda m: float(1 - m.mean()), "0 (black) to 255"),
        (lambda m: 0.5, "black pixels"),
    ],
    "7.3": [
        (_with("a date stamp printed over the picture", "inpaint-pixels"), "strokes"),
        (_with("a passer-by you want gone", "inpaint-text"), "whole area"),
        (_with("grain all over a photo taken at night", "inpaint-pixels"), "no pixel is missing"),
        (_with("a scan where half the pixels were lost at random", "denoise"), "exact"),
        (_with("a small photo you want four times larger", "inpaint-region"), "enlarging"),
        (_with("a passer-by you want gone", "reconstruct"), "restores nothing"),
        (_with("grain all over a photo taken at night", "denoising"), "labels"),
        (_with("grain all over a photo taken at night", "blur"), "not a task"),
        (_with("grain all over a photo taken at night", ...), "replace each"),
        ({"noise": "denoise"}, "five damages"),
        ("denoise", "dict"),
    ],
}


def _colour_mask(h, w, box):
    top, left, height, width = box
    mask = np.full((h, w, 3), 255, np.uint8)
    mask[top : top + height, left : left + width] = 0
    return mask


def test_other_right_answers_are_accepted_too():
    alt = {
        "7.1": _colour_mask,
        "7.2": lambda m: 1 - (m > 127).reshape(m.shape[0], m.shape[1], -1)[..., 0].mean(),
        "7.3": dict(reversed(list(RIGHT_TASKS.items()))),
        "7.3 stamp painted over": _with("a date stamp printed over the picture", "inpaint-region"),
    }
    for key, answer in alt.items():
        verdict = exercises.verdict(key.split()[0], answer)
        assert verdict.ok, (key, verdict)
