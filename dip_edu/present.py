"""Presenter mode: a lesson as a Voilà app for a projector, with its prose, figures and panels and no code.

`dip-edu present 02` serves `notebooks/02_*.ipynb` with Voilà: code cells are stripped, errors show no traceback,
and each cell's output appears as soon as it is computed. The kernel runs with `DIP_EDU_PRESENT=1`, so when the
lesson's timing cell finds the machine too slow for the room (`lessons.PRESENT_LIVE_MINUTES`), its panels open on
Replay and a cell that awaits the panel keeps the replay instead of fitting live.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from .errors import require

ENV = "DIP_EDU_PRESENT"


def notebooks_folder() -> Path:
    """The lessons' folder: `notebooks/` in the current folder, the current folder itself (lessons copied there by
    `dip-edu lessons`), or the lessons shipped with the package (`cli.lessons_folder`), so a teacher's edited copy
    comes first."""
    from .cli import LESSON_GLOB, lessons_folder

    for folder in (Path.cwd() / "notebooks", Path.cwd()):
        if any(folder.glob(LESSON_GLOB)):
            return folder
    return lessons_folder()


def lesson_path(lesson: str, folder: Path | None = None) -> Path:
    """The notebook of a lesson given as "02", "2" or its file name."""
    folder = folder or notebooks_folder()
    name = str(lesson).strip()
    if name.isdigit():
        found = sorted(folder.glob(f"{int(name):02d}_*.ipynb"))
    else:
        found = [p for p in (folder / name, folder / f"{name}.ipynb") if p.is_file()]
    known = ", ".join(p.name.split("_")[0] for p in sorted(folder.glob("0*_*.ipynb")))
    require(bool(found), f"lesson {lesson!r}: not found; choose one of {known}")
    return found[0]


def command(path: Path, port: int | None = None, browser: bool = True) -> list[str]:
    """The Voilà command line that presents `path`."""
    cmd = [sys.executable, "-m", "voila", str(path), "--strip_sources=True", "--show_tracebacks=False"]
    cmd += ["--VoilaConfiguration.progressive_rendering=True"]  # each output as soon as its cell has run
    if port is not None:
        cmd.append(f"--port={port}")
    if not browser:
        cmd.append("--no-browser")
    return cmd


def present(lesson: str, port: int | None = None, browser: bool = True) -> int:
    """Serve a lesson as a Voilà app until Ctrl-C; the exit status of Voilà."""
    path = lesson_path(lesson)
    require(
        importlib.util.find_spec("voila") is not None,
        'presenter mode needs Voilà: python -m pip install -e ".[lessons]"',
    )
    print(f"dip-edu: presenting {path.name} with Voilà (Ctrl-C ends it)", file=sys.stderr)
    try:
        return subprocess.call(command(path, port, browser), env={**os.environ, ENV: "1"}, cwd=path.parent)
    except KeyboardInterrupt:
        return 0
