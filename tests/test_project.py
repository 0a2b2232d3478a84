"""The project keeps its promises about set-up: one test command, the same dependencies on both routes."""

import os
import re
from pathlib import Path

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
