"""The lessons' exercises: each says "right" or "not yet" with a hint, without giving the answer away.

In a lesson an exercise is three cells: the learner's attempt (a code cell whose first line is
``# Exercise N.M: your answer``), a check (``exercises.check("N.M", answer)``) and the solution, folded in a
``<details>`` block. When the tests run a lesson, the attempt cell runs the folded solution instead and a check
that prints "not yet" fails the cell (the root `conftest.py` does both), so every solution is checked with the lesson
around it; a learner's run, or a lesson opened in a browser, only prints the verdict.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """Whether an answer is right, and what to tell the learner."""

    ok: bool
    message: str


Check = Callable[[object], Verdict]
_CHECKS: dict[str, Check] = {}


def exercise(key: str) -> Callable[[Check], Check]:
    """Register the check of exercise `key` ("2.1": lesson 02's first)."""

    def register(check: Check) -> Check:
        _CHECKS[key] = check
        return check

    return register


def right(message: str = "") -> Verdict:
    return Verdict(True, message)


def not_yet(hint: str) -> Verdict:
    return Verdict(False, hint)


def masked_example(seed: int, requires_grad: bool = False):
    """A small inpainting example for the checks: output x, observation x̂ and a 0/1 mask m, as (1, C, 8, 8) tensors."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, 8, 8, generator=gen, requires_grad=requires_grad)
    x_hat = torch.rand(1, 3, 8, 8, generator=gen)
    m = (torch.rand(1, 1, 8, 8, generator=gen) > 0.5).float()
    return x, x_hat, m


def predict(choices: Sequence[str]):
    """A prediction to commit to before running: radio buttons over `choices`, none picked yet.

    Pass the widget itself to `check` after the run; the check reads the choice made (`.value`). A prediction can
    also be written as the choice's text, which is how the folded solutions give it.
    """
    import ipywidgets as widgets

    return widgets.RadioButtons(options=list(choices), value=None, layout={"width": "max-content"})


def is_pair(answer: object) -> bool:
    """Whether `answer` is two values, in brackets of either kind: (a, b) or [a, b]."""
    return isinstance(answer, tuple | list) and len(answer) == 2


def among(answer: object, choices: Sequence[str]) -> Verdict | None:
    """A "not yet" when a prediction is not one of its choices (a typo, or an answer to another question)."""
    if answer not in choices:
        return not_yet("choose one of: " + "; ".join(f"{c!r}" for c in choices))
    return None


def verdict(key: str, answer: object, *evidence: object) -> Verdict:
    """The verdict on `answer` for exercise `key`; an answer left as `...` or one that raises is "not yet".

    A prediction about the lesson's own fits is checked against `evidence`, what those fits measured (its runs, or
    the scores it printed); other checks take the answer alone.
    """
    if key not in _CHECKS:
        raise KeyError(f"exercise {key!r}: none such; the lessons have {', '.join(sorted(_CHECKS))}")
    if hasattr(answer, "options") and hasattr(answer, "value"):  # a `predict` widget: the choice made in it
        if answer.value is None:
            return not_yet("pick one of the choices above, then run this cell again")
        answer = answer.value
    if answer is ... or answer is None:
        return not_yet("replace the ... with your answer, run that cell, then this one")
    try:
        return _CHECKS[key](answer, *evidence)
    except Exception as exc:  # a learner's function that fails is an answer to improve, not a crash
        if "NoneType" in str(exc):  # most often a function still ending in `...`, which returns None
            return not_yet("your function returned None: replace its ... with code that returns the answer")
        return not_yet(f"your answer raised {exc.__class__.__name__}: {str(exc)[:200]}")


NOT_YET = "✗ not yet"  # what a check prints for an answer that does not hold (the tests look for it)


def needs_evidence(key: str) -> bool:
    """Whether exercise `key` is a prediction checked against what the lesson's own fits measured."""
    import inspect

    return len(inspect.signature(_CHECKS[key]).parameters) > 1


def check(key: str, answer: object, *evidence: object) -> None:
    """Print whether `answer` solves exercise `key`: "✓ right" and why it matters, or "✗ not yet" and a hint.
    A prediction about the lesson's own fits also takes what they measured (`evidence`)."""
    from ..lessons import PRESENTING

    if PRESENTING:  # projected as an app: the class answers aloud, and "not yet" under every question would mislead
        print(f"Exercise {key}: for the class to answer; the notebook checks each answer")
        return
    result = verdict(key, answer, *evidence)
    mark = "✓ right" if result.ok else NOT_YET
    print(f"Exercise {key}: {mark}" + (f". {result.message}" if result.message else ""))


ATTEMPT = re.compile(r"^# Exercise (\d+\.\d+): your answer")  # the first line of a learner's attempt cell
SOLUTION = re.compile(r"<summary>Solution to exercise (\d+\.\d+)</summary>.*?```python\n(.*?)```", re.S)


def solutions(cells) -> dict[str, str]:
    """Each exercise's folded solution code, by its number, from a lesson's cells (nbformat nodes)."""
    found = {}
    for cell in cells:
        if cell.cell_type == "markdown":
            found.update(dict(SOLUTION.findall(cell.source)))
    return found


def keys() -> list[str]:
    """Every exercise the lessons have."""
    return sorted(_CHECKS, key=lambda k: tuple(int(p) for p in k.split(".")))


def _register_all() -> None:
    """Import every `lessonNN` module here: each registers its checks."""
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("lesson"):
            importlib.import_module(f"{__name__}.{module.name}")


_register_all()

__all__ = [
    "ATTEMPT",
    "SOLUTION",
    "Verdict",
    "check",
    "exercise",
    "among",
    "is_pair",
    "keys",
    "needs_evidence",
    "not_yet",
    "predict",
    "right",
    "solutions",
    "verdict",
]
