"""Presenter mode: which notebook `dip-edu present` serves and how, and a slow machine's panels opening on Replay."""

import pytest

import dip_edu as dip
from dip_edu import cli, lessons, present, widgets


def test_a_lesson_is_found_by_its_number_and_a_wrong_one_is_named_in_one_line():
    assert present.lesson_path("02").name == "02_denoising.ipynb"
    assert present.lesson_path("7").name.startswith("07_")
    with pytest.raises(dip.DipError, match="lesson '42': not found; choose one of 00, 01"):
        present.lesson_path("42")


def test_voila_is_asked_for_no_code_no_tracebacks_and_progressive_output(tmp_path):
    cmd = present.command(tmp_path / "02_denoising.ipynb", port=9000, browser=False)
    assert cmd[1:4] == ["-m", "voila", str(tmp_path / "02_denoising.ipynb")]
    assert {"--strip_sources=True", "--show_tracebacks=False", "--port=9000", "--no-browser"} <= set(cmd)
    assert "--VoilaConfiguration.progressive_rendering=True" in cmd


def test_the_command_says_in_one_line_when_voila_is_missing(monkeypatch, capsys):
    monkeypatch.setattr(present.importlib.util, "find_spec", lambda name: None)
    assert cli.main(["present", "02", "--no-browser"]) == 2
    assert "presenter mode needs Voilà" in capsys.readouterr().err


@pytest.fixture
def presenting_slowly(monkeypatch, capsys):
    """As `dip-edu present` on a machine whose timing predicts more minutes than a room should wait."""
    monkeypatch.setattr(lessons, "PRESENTING", True)
    monkeypatch.setattr(lessons, "estimate", lambda lesson, preset=None: lessons.Estimate(9.0, 8.0, 10.0))
    lessons.announce("02")
    yield capsys.readouterr().out
    monkeypatch.setattr(lessons, "_replay_first", False)


def test_presenting_on_a_slow_machine_opens_the_panel_on_replay_and_keeps_it(presenting_slowly):
    assert "the panels open on Replay" in presenting_slowly
    panel = dip.Panel(task="denoise", size=64, preset="tiny", iters=5)
    assert panel.mode.value == widgets.REPLAY and panel.result.config["replay"] == "02-denoise"
    run = panel.run()  # a lesson's cell that awaits the panel: the replay, not a live fit
    assert run is panel.result and run.iters == 8000 and "this is the replay" in panel.message.value
    panel.mode.value = widgets.LIVE  # the presenter may still fit live
    assert panel.run().iters == 5


def test_presenting_on_a_fast_machine_or_not_presenting_opens_live(monkeypatch, capsys):
    monkeypatch.setattr(lessons, "estimate", lambda lesson, preset=None: lessons.Estimate(9.0, 8.0, 10.0))
    lessons.announce("02")  # slow, but not presenting
    assert not lessons.replay_first() and "Replay" not in capsys.readouterr().out
    monkeypatch.setattr(lessons, "PRESENTING", True)
    monkeypatch.setattr(lessons, "estimate", lambda lesson, preset=None: lessons.Estimate(1.0, 0.8, 1.2))
    lessons.announce("02")
    assert not lessons.replay_first()
    assert dip.Panel(task="denoise", size=64, preset="tiny", iters=5).mode.value == widgets.LIVE


def test_a_folder_of_copied_lessons_is_presented_before_the_shipped_ones(tmp_path, monkeypatch):
    from dip_edu import present

    (tmp_path / "02_denoising.ipynb").write_text("{}")
    monkeypatch.chdir(tmp_path)
    assert present.lesson_path("02") == tmp_path / "02_denoising.ipynb"
    monkeypatch.chdir(tmp_path.parent)  # no lessons here: the ones shipped with the package
    assert present.lesson_path("02").name.startswith("02_") and present.lesson_path("02").parent != tmp_path
