"""The exercises' checks: a wrong answer gets "not yet" and a hint, a right one (however written) gets "right", and
every exercise in a lesson has a check and a folded solution."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import dip_edu as dip
from dip_edu import exercises

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cells(path: Path) -> list:
    from nbformat import read

    return read(path, as_version=4).cells


# Answers a learner might give that are wrong, with a word the hint must contain.


def _late_by_one(variances, patience):
    """Stops only after more than `patience` iterations."""
    best, best_iter = float("inf"), None
    for iteration, value in variances:
        if value < best:
            best, best_iter = value, iteration
        elif iteration - best_iter > patience:
            return best_iter
    return None


def _patience_in_entries(variances, patience):
    """Counts list entries since the minimum instead of iterations."""
    best, best_at = float("inf"), None
    for i, (_, value) in enumerate(variances):
        if value < best:
            best, best_at = value, i
        elif i - best_at >= patience:
            return variances[best_at][0]
    return None


WRONG = {
    "1.0": [("the uniform noise", "not what happened"), ("both at the same pace", "0.04"), ("image", "choose one")],
    "1.1": [
        (lambda x, x_hat, m: ((x - x_hat) ** 2).mean(), "mask"),
        (lambda x, x_hat, m: (((x - x_hat) * m) ** 2).sum() / (m.sum() * 3), "every value"),
        (lambda x, x_hat, m: ((x - x_hat) * m) ** 2, "one number"),
        (lambda x, x_hat, m: (((x - x_hat) * m) ** 2).mean().detach(), "gradient"),
    ],
    "1.2": [(lambda a, o: 0.01 * a + 0.99 * o, "swapped"), (lambda a, o: (a + o) / 2, "0.99")],
    "1.3": [
        ((81, False), "off by one"),
        ((82, True), "noise"),
        ((500, False), "first index"),
        (82, "two values"),
        ((82, "False"), "True or False"),
    ],
    "2.0": [("about the same as at its best", "peaked at"), ("higher than at its best", "not what happened")],
    "2.1": [
        (lambda x, y: 10 * np.log10(255**2 / np.mean((x - y) ** 2)), "255"),
        (lambda x, y: -10 * np.log10(1 / np.mean((x - y) ** 2)), "sign"),
        (lambda x, y: 10 * np.log10(1 / np.sqrt(np.mean((x - y) ** 2))), "squared"),
        (lambda x, y: 10 * np.log10(y.max() ** 2 / np.mean((x - y) ** 2)), "range allows"),
        (lambda x, y: 10 * np.log10(1 / np.sum((x - y) ** 2)), "*mean*"),
    ],
    "2.2": [(10 * np.log10(1 / 25**2), "25/255"), (10 * np.log10(255 / 25), "square"), (30.0, "σ²")],
    "2.3": [((8000, 1.59), "peak()"), ((1148, -1.59), "sign"), ((1148, 0.5), "subtract")],
    "5.0": [],  # filled below: it needs runs to check against
    "5.1": [
        (lambda w: w.var(dim=0, unbiased=True).mean(), "W − 1"),
        (lambda w: w.var(dim=1, unbiased=False).mean(), "dim 0"),
        (lambda w: w.std(dim=0).mean(), "variance"),
        (lambda w: w.var(dim=0, unbiased=False), "average the variances"),
    ],
    "5.2": [
        (lambda v, p: min(v, key=lambda kv: kv[1])[0], "None"),
        (lambda v, p: None, "lowest"),
        (_late_by_one, ">="),
        (_patience_in_entries, "iteration numbers"),
    ],
    "5.3": [
        ((100, 1000), "published"),
        ((50, 500), "2000 / 8000"),
        ((250, 25), "the order"),
        (dip.EsWmv.for_iters(2000), ".window"),
        (25, "two numbers"),
    ],
}


def _late_stop(variances, patience):
    best, best_iter = float("inf"), None
    for iteration, value in variances:
        if value < best:
            best, best_iter = value, iteration
        elif iteration - best_iter >= patience:
            return iteration  # where it noticed, not the minimum
    return None


WRONG["5.2"].append((_late_stop, "minimum"))


class _Recorded:
    """A stand-in for a run: only the variance history a prediction about ES-WMV reads."""

    def __init__(self, variance):
        self.history = {"variance": np.array(variance, dtype=float)}


FALLING = {"a": _Recorded([np.nan, np.nan, 4.0, 2.0, 1.0, 1.5]), "b": _Recorded([np.nan, 3.0, 1.0, 1.2])}
FLAT = {"a": _Recorded([np.nan, 2.0, 1.9, 2.1])}
WRONG["5.0"] += [("it rises", "not what happened", FALLING), ("it falls", "not what happened", FLAT)]
WRONG["5.0"] += [("falls", "choose one", FALLING)]


def test_a_prediction_about_the_lessons_own_fits_is_checked_against_them():
    assert exercises.needs_evidence("5.0") and not exercises.needs_evidence("2.0")
    assert exercises.verdict("5.0", "it falls", FALLING).ok
    assert exercises.verdict("5.0", "it stays flat", FLAT).ok


def _all_wrong() -> dict:
    """Every lesson's wrong answers: this file's (lessons 01, 02, 05) and each tests/test_exercises_NN.py's `WRONG`."""
    import importlib.util

    tables = dict(WRONG)
    for path in sorted(Path(__file__).parent.glob("test_exercises_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        tables.update(module.WRONG)
    return tables


ALL_WRONG = _all_wrong()


@pytest.mark.parametrize("key", sorted(ALL_WRONG))
def test_wrong_answers_get_not_yet_and_a_hint(key):
    """An entry is (answer, hint) or, for a prediction about the lesson's own fits, (answer, hint, evidence)."""
    for answer, hint, *evidence in [(..., "replace the ..."), *ALL_WRONG[key]]:
        verdict = exercises.verdict(key, answer, *evidence)
        assert not verdict.ok and hint in verdict.message, (key, answer, verdict)


def test_an_answer_that_raises_is_not_yet_not_a_crash():
    verdict = exercises.verdict("2.1", lambda x, y: x.nope)
    assert not verdict.ok and "AttributeError" in verdict.message


def test_a_prediction_is_made_in_its_widget_and_checked_from_the_choice_picked():
    widget = exercises.predict(["the natural image", "the uniform noise", "both at the same pace"])
    assert widget.value is None  # nothing is chosen for the learner
    unpicked = exercises.verdict("1.0", widget)
    assert not unpicked.ok and "pick one" in unpicked.message
    widget.value = "the uniform noise"
    assert not exercises.verdict("1.0", widget).ok
    widget.value = "the natural image"
    assert exercises.verdict("1.0", widget).ok


def test_other_right_answers_are_accepted_too():
    alt = {
        "1.1": lambda x, x_hat, m: torch.mean(torch.square(m * (x_hat - x))),
        "2.1": lambda x, y: 20 * np.log10(1 / np.sqrt(((x - y) ** 2).mean())),
        "5.1": lambda w: ((w - w.mean(0)) ** 2).mean(),
        "1.3 as a list": [82, False],
        "5.1 as NumPy": lambda w: np.var(w.numpy(), axis=0).mean(),  # a NumPy float32, not a Python float
    }
    for key, answer in alt.items():
        assert exercises.verdict(key.split()[0], answer).ok, key


def test_check_prints_the_verdict_and_a_lesson_run_by_the_tests_fails_on_not_yet(capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("lesson_checks", ROOT / "conftest.py")  # how the tests run lessons
    lessons_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lessons_run)

    exercises.check("5.3", (100, 1000))
    printed = capsys.readouterr().out
    assert printed.startswith("Exercise 5.3: ✗ not yet. those are the published values")  # printed, never raised
    outputs = [{"output_type": "stream", "name": "stdout", "text": printed}]
    assert "does not pass its check" in lessons_run.what_the_learner_misses('exercises.check("5.3", answer)', outputs)
    exercises.check("5.3", (25, 250))
    outputs = [{"output_type": "stream", "name": "stdout", "text": capsys.readouterr().out}]
    assert "✓ right" in outputs[0]["text"]
    assert lessons_run.what_the_learner_misses('exercises.check("5.3", answer)', outputs) is None


def test_every_exercise_has_an_attempt_a_check_and_a_solution_in_its_lesson():
    seen = []
    for path in NOTEBOOKS:
        cells = _cells(path)
        folded = exercises.solutions(cells)
        for cell in cells:
            attempt = exercises.ATTEMPT.match(cell.source) if cell.cell_type == "code" else None
            if attempt:
                key = attempt.group(1)
                seen.append(key)
                assert key.split(".")[0] == str(int(path.name[:2])), f"{path.name}: exercise {key} is another lesson's"
                assert key in folded, f"{path.name}: exercise {key} has no folded solution"
                checks = [c for c in cells if re.search(rf'exercises\.check\("{re.escape(key)}"', c.source)]
                assert len(checks) == 1, f"{path.name}: exercise {key} needs one check cell"
    assert sorted(seen) == sorted(exercises.keys())  # every registered check is used, once
    lessons_with = {int(k.split(".")[0]) for k in seen}
    assert {1, 2, 5} <= lessons_with
    assert all(len([k for k in seen if k.startswith(f"{n}.")]) >= 3 for n in lessons_with)


def test_every_exercise_is_fed_wrong_answers_somewhere():
    """Each lesson's wrong answers live in this file (lessons 01, 02, 05) or in tests/test_exercises_NN.py."""
    assert set(ALL_WRONG) == set(exercises.keys()), set(exercises.keys()) - set(ALL_WRONG)


def test_the_folded_solutions_are_accepted_on_their_own():
    """Each solution, run by itself (with the lessons' imports), passes its check: nothing leans on a lesson's state."""
    import dip_edu as dip

    for path in NOTEBOOKS:
        for key, code in exercises.solutions(_cells(path)).items():
            if exercises.needs_evidence(key):  # checked against the lesson's own fits, when the tests run the lesson
                continue
            scope = {"dip": dip, "np": np, "torch": torch}
            exec(code, scope)
            defined = re.findall(r"^def (\w+)\(", code, re.M)
            answer = scope[defined[-1]] if defined else scope.get("answer", scope.get("prediction"))
            assert exercises.verdict(key, answer).ok, (path.name, key)


def test_the_notebooks_json_keeps_exercise_ids_unique():
    for path in NOTEBOOKS:
        ids = [c["id"] for c in json.loads(path.read_text())["cells"]]
        assert len(ids) == len(set(ids)), path.name


def test_a_projected_lesson_shows_no_verdicts(monkeypatch, capsys):
    from dip_edu import lessons

    monkeypatch.setattr(lessons, "PRESENTING", True)
    exercises.check("2.1", ...)
    printed = capsys.readouterr().out
    assert exercises.NOT_YET not in printed and "for the class" in printed
