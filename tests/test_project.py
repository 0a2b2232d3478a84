"""The project keeps its promises about set-up: one test command, the same dependencies on both routes."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", section, re.S)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_environment_and_pyproject_list_the_same_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python", "pip"))]
    from_pip = [d for d in env["dependencies"] if isinstance(d, dict) for d in d.get("pip", [])]
    conda += [d for d in from_pip if not d.startswith("-e")]  # PyPI-only packages, installed by conda's pip

    def names(deps):
        return {re.split(r"[<>=!~ ]", d, maxsplit=1)[0].lower().replace("pytorch", "torch") for d in deps}

    assert names(pip_deps) == names(conda)


def test_the_suite_runs_in_test_mode():
    # The README's test command sets this; without it the lessons would run at full size under nbval.
    assert os.environ.get("DIP_EDU_TEST_MODE") == "1", "run the tests with DIP_EDU_TEST_MODE=1 (see README)"


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "benchmarks").glob("*.py")))
def test_every_benchmark_script_answers_help(script):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "usage:" in done.stdout, done.stderr[-1500:]


def test_what_a_learner_would_miss_is_caught():
    import importlib.util

    spec = importlib.util.spec_from_file_location("lesson_checks", ROOT / "conftest.py")  # the repository's root one
    checks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checks)
    what_the_learner_misses = checks.what_the_learner_misses

    picture = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "curves"}}
    as_text = {"output_type": "display_data", "data": {"text/plain": "<Figure size 1050x260 with 5 Axes>"}}
    bare = {"output_type": "execute_result", "data": {"text/plain": "177.55190298666398"}}
    widget = {"output_type": "execute_result", "data": {"application/vnd.jupyter.widget-view+json": {}}}
    assert what_the_learner_misses("dip.show_curves(run);", [picture]) is None
    assert what_the_learner_misses("panel", [widget]) is None
    assert "as text" in what_the_learner_misses("dip.show_curves(run)", [as_text])
    assert "no image/png" in what_the_learner_misses("x = 1\ndip.show_images(d);", [])
    assert what_the_learner_misses("# dip.show_images(d) is for later\nx = 1", []) is None
    assert "bare value" in what_the_learner_misses("lessons.announce('02')", [bare])


def test_the_lessons_pass_the_tests_after_a_learner_ran_and_saved_them(tmp_path):
    """JupyterLab saves outputs into the lessons as a learner uses them; the test command must still pass."""
    import nbformat
    from nbclient import NotebookClient

    lesson = nbformat.read(ROOT / "notebooks" / "00_setup_check.ipynb", as_version=4)
    NotebookClient(lesson, timeout=300, kernel_name="python3").execute()  # run, as a learner would
    lesson.cells[1].execution_count = None  # saved mid-run: a cell with outputs and no count
    saved = tmp_path / "00_setup_check.ipynb"
    nbformat.write(lesson, saved)
    assert any(cell.get("outputs") for cell in lesson.cells)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "conftest", "--nbval-lax", "--nbval-current-env", str(saved)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "DIP_EDU_TEST_MODE": "1"},
    )
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.parametrize("lesson", sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
def test_each_lesson_is_a_valid_notebook_committed_clean(lesson):
    import warnings

    import nbformat

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a cell without an id is only a warning today, an error tomorrow
        notebook = nbformat.read(ROOT / "notebooks" / lesson, as_version=4)
        nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), "commit lessons without outputs"
