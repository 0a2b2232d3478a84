"""`dip-edu lessons [FOLDER]`: the lessons copied into a learner's folder (a hub runs it for every learner), never
over a copy the learner already has; and the lessons travel inside the wheel, so an installed package has them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dip_edu import cli

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _copy(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["lessons", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_eight_lessons_are_copied_as_they_ship(capsys, tmp_path):
    assert len(LESSONS) == 8
    code, out, _ = _copy(capsys, str(tmp_path / "home" / "lessons"))  # a folder that is not there yet is made
    assert code == 0
    assert out.splitlines() == [f"dip-edu: 8 lesson(s) copied to {tmp_path / 'home' / 'lessons'}"]
    copied = tmp_path / "home" / "lessons"
    assert sorted(p.name for p in copied.iterdir()) == LESSONS  # no partial file left behind
    for name in LESSONS:
        assert (copied / name).read_bytes() == (ROOT / "notebooks" / name).read_bytes()


def test_the_default_folder_is_the_current_one(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _copy(capsys)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == LESSONS


def test_a_learners_copy_is_never_overwritten_and_one_line_says_so(capsys, tmp_path):
    edited = tmp_path / "02_denoising.ipynb"
    edited.write_text("my own notes")
    (tmp_path / "05_early_stopping.ipynb").write_bytes((ROOT / "notebooks" / "05_early_stopping.ipynb").read_bytes())
    code, out, _ = _copy(capsys, str(tmp_path))
    assert code == 0
    assert edited.read_text() == "my own notes"
    assert out.splitlines() == [
        f"dip-edu: 6 lesson(s) copied to {tmp_path}",
        "dip-edu: kept 2 already there as they are (never overwritten): 02_denoising.ipynb, 05_early_stopping.ipynb",
    ]
    code, out, _ = _copy(capsys, str(tmp_path))  # run again, as the hub does at every start: nothing changes
    assert code == 0 and out.splitlines()[0] == f"dip-edu: 0 lesson(s) copied to {tmp_path}"
    assert edited.read_text() == "my own notes"


def test_a_file_in_the_folders_place_is_one_line_and_status_2(capsys, tmp_path):
    (tmp_path / "lessons").write_text("not a folder")
    code, out, err = _copy(capsys, str(tmp_path / "lessons"))
    assert code == 2 and out == ""
    assert err.strip() == f"dip-edu: error: {str(tmp_path / 'lessons')!r} is a file, not a folder"


def test_a_folder_that_cannot_be_written_is_one_line_and_status_2(capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root writes anywhere
            pytest.skip("this user may write to a read-only folder (root)")
        code, out, err = _copy(capsys, str(locked))
    finally:
        locked.chmod(0o700)
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "Permission denied" in err


def test_the_lessons_are_found_inside_the_package_first_then_beside_it(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "dip_edu"
    (package / "notebooks").mkdir(parents=True)
    (package / "notebooks" / "00_setup_check.ipynb").write_text("{}")
    monkeypatch.setattr(cli, "__file__", str(package / "cli.py"))
    assert cli.lessons_folder() == package / "notebooks"  # an installed wheel's copy
    checkout = tmp_path / "checkout"
    (checkout / "dip_edu").mkdir(parents=True)
    (checkout / "notebooks").mkdir()
    (checkout / "notebooks" / "00_setup_check.ipynb").write_text("{}")
    monkeypatch.setattr(cli, "__file__", str(checkout / "dip_edu" / "cli.py"))
    assert cli.lessons_folder() == checkout / "notebooks"  # a source checkout, installed editable
    monkeypatch.setattr(cli, "__file__", str(tmp_path / "empty" / "dip_edu" / "cli.py"))
    with pytest.raises(cli.DipError, match="no lessons found"):
        cli.lessons_folder()


def test_the_wheel_is_built_with_the_lessons_inside_the_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]["notebooks"] == "dip_edu/notebooks"


@pytest.mark.skipif(
    os.environ.get("DIP_EDU_INSTALL_TEST") != "1",
    reason="builds the wheel with the index's hatchling: set DIP_EDU_INSTALL_TEST=1",
)
def test_the_built_wheel_carries_the_eight_lessons(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    names = zipfile.ZipFile(next(tmp_path.glob("dip_edu-*.whl"))).namelist()
    assert sorted(n.removeprefix("dip_edu/notebooks/") for n in names if n.startswith("dip_edu/notebooks/")) == LESSONS
