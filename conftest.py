"""How the lessons are run under nbval: as a learner would see them, from a clean copy.

- The lessons are run from a clean copy: outputs a learner's JupyterLab saved into `notebooks/` are dropped
  before the run, so using the lessons and then running the tests works (nbval-lax compares no outputs).
- What the learner sees is checked: a cell that calls `dip.show_*` must show a picture (an `image/png`
  output), no cell may print a figure as ``<Figure size ...>`` text, and no cell may end in a bare value
  (an `execute_result` with nothing but text, such as a number a function returned).
- Each exercise's folded solution runs in place of the learner's attempt, and its check must say "right".
"""

from __future__ import annotations

import os
import re

import pytest

from dip_edu import exercises

SHOWS = re.compile(r"\bdip\.show_\w+\(")


def _is_lesson_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "cell")


def pytest_collection_modifyitems(items):
    folded: dict[object, dict[str, str]] = {}
    for item in items:
        if _is_lesson_cell(item):
            item.cell.outputs = []
            item.cell.execution_count = None
            attempt = exercises.ATTEMPT.match(item.cell.source)
            if attempt and os.environ.get("DIP_EDU_TEST_MODE") == "1":  # the solution runs where the learner writes
                nb = item.parent.nb
                code = folded.setdefault(id(nb), exercises.solutions(nb.cells)).get(attempt.group(1))
                if code is None:
                    raise pytest.UsageError(f"{item.name}: exercise {attempt.group(1)} has no folded solution")
                item.cell.source = code


def what_the_learner_misses(source: str, outputs: list[dict]) -> str | None:
    """Why a cell's outputs fail the learner (None when they do not)."""
    kinds = [set(out.get("data", {})) for out in outputs]
    for out in outputs:
        text = out.get("data", {}).get("text/plain", "") if "data" in out else out.get("text", "")
        if re.search(r"<Figure size \d", "".join(text)):
            return "a figure is printed as text instead of shown as a picture"
        if out.get("output_type") == "execute_result" and set(out.get("data", {})) == {"text/plain"}:
            return f"the cell ends in a bare value: {''.join(text)[:80]!r} (end the line with ';')"
    printed = "".join("".join(out.get("text", "")) for out in outputs if out.get("output_type") == "stream")
    if "exercises.check(" in source and exercises.NOT_YET in printed:
        return f"the folded solution does not pass its check: {printed.strip()[:200]}"
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    if SHOWS.search(code) and not any("image/png" in k for k in kinds):
        return "the cell calls dip.show_* but shows no image/png"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    if not _is_lesson_cell(item) or outcome.excinfo is not None:
        return
    problem = what_the_learner_misses(item.cell.source, getattr(item, "test_outputs", None) or [])
    if problem:
        outcome.force_exception(AssertionError(f"{item.name}: {problem}"))
