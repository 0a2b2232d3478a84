"""Replays: what `precompute` writes reads back as the same run, and every shipped replay is what it says."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest

import dip_edu as dip
from dip_edu import cli, replay
from dip_edu.fast import cpu


def _within_rounding(run: dip.Run, snap: dip.Snapshot) -> tuple[float, float, float]:
    """(recorded RMS error, RMS error of the stored images, the most 8-bit rounding can explain)."""
    factor = int(run.config.get("factor", 1))
    recorded = replay.rms_of(snap.psnr, factor)
    stored = replay.rms_of(replay.rescore(run, snap), factor)
    return recorded, stored, replay.rms_tolerance(factor)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Two small replays (tiny network, 64×64, 260 iterations) in a scratch folder."""
    root = tmp_path_factory.mktemp("replays")
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as patch:  # as on a CPU with AMX tiles, where a fit's default is bf16
        patch.setattr(cpu, "has_amx", lambda: True)
        patch.setattr(importlib.import_module("dip_edu.fast"), "BF16_MIN_WIDTH", 0)  # and the network counted wide
        summaries = replay.precompute(
            ["02-denoise", "04-sr4"], root=root, iters=260, size=64, preset="tiny", device="cpu", progress=False,
            log=lines.append,
        )  # fmt: skip
    return root, summaries, lines


def test_precompute_writes_what_load_reads(made):
    root, summaries, lines = made
    assert replay.available(root) == ["02-denoise", "04-sr4"]
    assert [s["key"] for s in summaries] == ["02-denoise", "04-sr4"] and len(lines) == 2
    run = replay.load("02-denoise", root)
    assert run.iters == 260 and list(run.history["iter"]) == list(range(1, 261))
    assert [s.iter for s in run.snapshots] == [250, 260]
    assert run.clean.shape == run.observation.shape == (64, 64, 3)
    assert run.snapshots[0].out.dtype == np.float32
    meta = replay.read_meta("02-denoise", root)
    assert meta["made"]["scale"] == "lesson" and "CPU" in meta["made"]["scale_note"]
    assert meta["config"]["preset"] == "tiny" and meta["made"]["side"] == 64
    assert meta["config"]["precision"] == "float32"  # replays are made in float32 on any machine
    assert meta["peak"]["iter"] == run.peak()[0]
    assert "lesson scale" in replay.describe(run) and "260 iterations" in replay.describe(run)


def test_recorded_psnr_recomputes_from_stored_images(made):
    root, _, _ = made
    for key in ("02-denoise", "04-sr4"):
        run = replay.load(key, root)
        for snap in run.snapshots:
            recorded, stored, tol = _within_rounding(run, snap)
            assert abs(recorded - stored) <= tol, (key, snap.iter)


def test_a_tampered_replay_is_caught(made, tmp_path):
    """The check above can fail: a stored image that is not the one the PSNR was recorded for is found out."""
    root, _, _ = made
    run = replay.load("02-denoise", root)
    shifted = np.roll(run.snapshots[0].out, 1, axis=1)  # the same picture, one pixel off
    wrong = dip.Snapshot(250, shifted, shifted, run.snapshots[0].psnr, None)
    recorded, stored, tol = _within_rounding(run, wrong)
    assert abs(recorded - stored) > tol


def test_lesson_scale_fits_each_task_with_its_lesson_network(tmp_path):
    replay.precompute(
        ["03-inpaint-pixels"], root=tmp_path, iters=3, size=64, device="cpu", progress=False, log=[].append
    )
    meta = replay.read_meta("03-inpaint-pixels", tmp_path)
    assert meta["config"]["preset"] == "lesson-pixels" and "network 'lesson-pixels'" in meta["made"]["scale_note"]


def test_precompute_rejects_unknown_names_and_scales(tmp_path):
    with pytest.raises(dip.DipError, match="replay 'nope'"):
        replay.precompute(["nope"], root=tmp_path)
    with pytest.raises(dip.DipError, match="scale 'huge'"):
        replay.precompute(["02-denoise"], "huge", root=tmp_path)
    assert replay.available(tmp_path) == []


def test_missing_or_broken_replay_is_one_line(tmp_path):
    with pytest.raises(dip.DipError, match="not found"):
        replay.load("02-denoise", tmp_path)
    (tmp_path / "02-denoise").mkdir()
    (tmp_path / "02-denoise" / "run.json").write_text("{")
    with pytest.raises(dip.DipError, match="replay '02-denoise': run.json cannot be read"):
        replay.load("02-denoise", tmp_path)


def test_cli_lists_replays_and_rejects_bad_names(capsys):
    assert cli.main(["precompute", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(key in out for key in replay.RECIPES)
    assert cli.main(["precompute", "--only", "nope"]) == 2
    assert "replay 'nope'" in capsys.readouterr().err


# ---- the replays the project ships ----

SHIPPED = replay.available()


def test_every_recipe_ships_and_all_fit_the_budget():
    assert set(SHIPPED) == set(replay.RECIPES)
    assert replay.total_bytes() <= replay.LIMIT_BYTES  # both scales together
    assert replay.total_bytes() >= replay.total_bytes(scale="lesson") > 0


@pytest.mark.parametrize("key", SHIPPED)
def test_shipped_replay(key):
    meta = replay.read_meta(key)
    made = meta["made"]
    for field in ("scale", "scale_note", "package", "torch", "device", "seconds", "date", "command", "side"):
        assert made.get(field) not in (None, ""), field
    assert made["scale"] in replay.SCALES
    if made["scale"] == "lesson":
        assert "lesson scale" in made["scale_note"] and "needs a GPU" in made["scale_note"]
        assert meta["config"]["preset"] == dip.lesson_for(meta["task"])  # the network the lesson itself runs
        # and that preset's network as it is now: a replay goes stale when its preset changes
        assert meta["config"]["net"] == json.loads(json.dumps(dip.spec(meta["config"]["preset"]).describe()))
    assert meta["status"] == "finished" and meta["iters"] == replay.ITERS
    run = replay.load(key)
    assert list(run.history["iter"]) == list(range(1, replay.ITERS + 1))
    assert [s.iter for s in run.snapshots] == replay.checkpoints(replay.ITERS)
    assert {500, 1500, 2500, 8000} <= {s.iter for s in run.snapshots}
    for snap in run.snapshots:
        recorded, stored, tol = _within_rounding(run, snap)
        assert abs(recorded - stored) <= tol, snap.iter
    assert json.loads(json.dumps(meta)) == meta  # plain JSON, nothing Python-only


SHIPPED_PAPER = replay.available(scale="paper")


def test_paper_scale_replays_are_of_the_papers_tasks():
    assert set(SHIPPED_PAPER) <= set(replay.PAPER_KEYS)


@pytest.mark.parametrize("key", SHIPPED_PAPER)
def test_shipped_paper_scale_replay(key):
    meta = replay.read_meta(key, replay.folder("paper"))
    made = meta["made"]
    for field in ("scale", "scale_note", "settings", "package", "torch", "device", "seconds", "date", "command"):
        assert made.get(field) not in (None, ""), field
    assert made["scale"] == "paper" and made["side"] == replay.SCALES["paper"][0]
    name, network = replay.network_at(key, "paper")
    assert replay.is_complete(key, "paper", replay.ITERS, made["side"], network)  # finished, whole, not stale
    assert meta["config"]["preset"] == name and meta["config"]["precision"] == "float32"
    settings = replay.settings_at(key, "paper")
    assert {k: meta["config"][k] for k in settings} == settings  # the paper's settings for the task
    run = replay.load(key, scale="paper")
    assert list(run.history["iter"]) == list(range(1, replay.ITERS + 1))
    assert [s.iter for s in run.snapshots] == replay.paper_checkpoints(replay.ITERS)
    for snap in run.snapshots:
        recorded, stored, tol = _within_rounding(run, snap)
        assert abs(recorded - stored) <= tol, snap.iter


# ---- the panel's Run / Replay switch ----


def test_panel_replay_mode_shows_the_replay_then_live_mode_fits(made, monkeypatch):
    root, _, _ = made
    monkeypatch.setattr(replay, "ROOT", root)
    panel = dip.Panel(task="denoise", tasks=("denoise", "sr", "inpaint-text"), size=64, preset="tiny", iters=5)
    panel.sigma.value = 50  # the live corruption differs from the replay's (σ=25)
    live_preview = panel.preview.value
    panel.mode.value = "Replay"
    assert panel.result is not None and panel.result.config["replay"] == "02-denoise"
    assert panel.run_button.disabled and "lesson scale" in panel.status.value
    assert panel.scrubber.max == len(panel.result.snapshots) - 1
    assert panel.preview.value != live_preview and "replay input" in panel.preview_label.value
    panel.scrubber.value = 0
    assert "iteration 250" in panel.snapshot_label.value
    panel.classic.value = panel.classic.options[1]  # a classical method, on the replay's own observation
    assert "PSNR" in panel.classic_label.value
    panel.task.value = "sr"  # another task: its replay
    assert panel.result.config["replay"] == "04-sr4"
    panel.task.value = "inpaint-text"  # none shipped in this folder: a message, nothing raised
    assert "no replay" in panel.message.value and panel.mode.value == "Live"  # live again, saying why
    assert not panel.run_button.disabled and panel.result is None
    run = panel.run()
    assert run is not None and "replay" not in run.config and panel.result is run


def test_a_fit_that_does_not_finish_writes_nothing_and_the_others_go_on(tmp_path, monkeypatch):
    real_fit = replay.fit

    def diverging(problem, *args, **kwargs):
        run = real_fit(problem, *args, **kwargs)
        if problem.task == "denoise":
            run.status = "diverged"
        return run

    monkeypatch.setattr(replay, "fit", diverging)
    lines: list[str] = []
    summaries = replay.precompute(
        ["02-denoise", "04-sr4"], root=tmp_path, iters=5, size=64, preset="tiny", device="cpu", progress=False,
        log=lines.append,
    )  # fmt: skip
    assert "failed" in summaries[0] and "diverged" in lines[0]
    assert replay.available(tmp_path) == ["04-sr4"]


def test_a_tasks_replay_is_its_lessons_main_run_not_a_contrast():
    assert replay.for_task("reconstruct") == "01-reconstruct"  # not the uniform-noise fit beside it
    assert replay.for_task("denoise") == "02-denoise"
