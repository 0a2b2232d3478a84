"""Paper-scale replays: `precompute --scale paper` end to end at a tiny size, resuming, and what `load` reads."""

from __future__ import annotations

import importlib.util
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

import dip_edu as dip
from dip_edu import cli, replay, tasks

ROOT = Path(__file__).resolve().parents[1]


def _rescored_within_rounding(run: dip.Run) -> bool:
    """Every snapshot's recorded PSNR recomputed from its stored 8-bit images, within `replay.rms_tolerance`."""
    factor = int(run.config.get("factor", 1))
    for snap in run.snapshots:
        recorded, stored = replay.rms_of(snap.psnr, factor), replay.rms_of(replay.rescore(run, snap), factor)
        if abs(recorded - stored) > replay.rms_tolerance(factor):
            return False
    return True


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Two paper-scale replays and one lesson-scale one (tiny network, 64×64, 30 iterations) in a scratch folder."""
    root = tmp_path_factory.mktemp("replays")
    lines: list[str] = []
    tiny = {"root": root, "iters": 30, "size": 64, "preset": "tiny", "device": "cpu", "progress": False}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(replay, "PAPER_MARKS", (10, 20))  # the paper's marks, scaled down to the tiny run
        summaries = replay.precompute(["02-denoise", "04-sr4"], "paper", log=lines.append, **tiny)
    replay.precompute(["02-denoise"], "lesson", log=[].append, **tiny)
    return root, summaries, lines


def test_paper_scale_replays_sit_beside_the_lesson_scale_ones(made):
    root, summaries, lines = made
    assert replay.available(root, "paper") == ["02-denoise", "04-sr4"] and replay.available(root) == ["02-denoise"]
    assert (root / "paper" / "02-denoise" / "run.json").is_file() and len(lines) == 2
    assert [s["scale"] for s in summaries] == ["paper", "paper"] and not any("skipped" in s for s in summaries)
    assert replay.scales_of("02-denoise", root) == ["lesson", "paper"] and replay.scales_of("04-sr4", root) == ["paper"]
    assert replay.total_bytes(root) == replay.total_bytes(root, "lesson") + replay.total_bytes(root, "paper")


def test_a_paper_scale_replay_states_its_settings_and_keeps_the_papers_marks(made):
    root, _, _ = made
    meta = replay.read_meta("04-sr4", root / "paper")
    paper = tasks.get("sr").paper_settings(4)
    assert meta["config"]["lr"] == paper["lr"] and meta["config"]["reg_noise_std"] == paper["reg_noise_std"]
    assert meta["made"]["scale"] == "paper" and meta["made"]["side"] == 64
    assert "paper scale" in meta["made"]["scale_note"] and "the paper's settings for sr" in meta["made"]["settings"]
    assert meta["made"]["command"] == "dip-edu precompute --scale paper --only 04-sr4"
    assert [s["iter"] for s in meta["snapshots"]] == [10, 20, 30]
    for key in ("02-denoise", "04-sr4"):
        assert _rescored_within_rounding(replay.load(key, root, scale="paper")), key


def test_load_offers_both_scales_and_says_which(made):
    root, _, _ = made
    lesson, paper = replay.load("02-denoise", root), replay.load("02-denoise", root, scale="paper")
    assert lesson.config["made"]["scale"] == "lesson" and "lesson scale" in replay.describe(lesson)
    assert paper.config["made"]["scale"] == "paper" and replay.describe(paper).startswith(
        "replay 02-denoise: paper scale"
    )
    assert replay.load("02-denoise", root, scale="auto").config["made"]["scale"] == "paper"  # the paper's, where it is
    assert replay.load("04-sr4", root, scale="auto").config["made"]["scale"] == "paper"
    with pytest.raises(dip.DipError, match="not found"):
        replay.load("04-sr4", root, scale="lesson")
    with pytest.raises(dip.DipError, match="scale 'huge'"):
        replay.load("02-denoise", root, scale="huge")
    assert replay.for_task("sr", root, scale="paper") == "04-sr4" and replay.for_task("sr", root) is None


def test_a_second_run_keeps_what_is_complete_and_refits_what_is_not(made, tmp_path, monkeypatch):
    root = tmp_path
    tiny = {"root": root, "iters": 12, "size": 64, "preset": "tiny", "device": "cpu", "progress": False}
    replay.precompute(["02-denoise", "04-sr4"], "paper", log=[].append, **tiny)
    stamps = {key: (root / "paper" / key / "run.json").stat().st_mtime_ns for key in ("02-denoise", "04-sr4")}
    fitted = []
    real_fit = replay.fit
    monkeypatch.setattr(
        replay, "fit", lambda problem, *a, **k: fitted.append(problem.task) or real_fit(problem, *a, **k)
    )
    lines: list[str] = []
    again = replay.precompute(["02-denoise", "04-sr4"], "paper", log=lines.append, **tiny)
    assert fitted == [] and all(s.get("skipped") for s in again) and all("kept" in line for line in lines)
    (root / "paper" / "04-sr4" / "out-00012.png").unlink()  # a replay with a file gone is not complete
    replay.precompute(["02-denoise", "04-sr4"], "paper", log=[].append, **tiny)
    assert fitted == ["sr"]
    replay.precompute(["02-denoise"], "paper", log=[].append, **{**tiny, "iters": 13})  # asked for more iterations
    replay.precompute(["02-denoise"], "paper", force=True, log=[].append, **{**tiny, "iters": 13})
    assert fitted == ["sr", "denoise", "denoise"]
    assert (root / "paper" / "02-denoise" / "run.json").stat().st_mtime_ns != stamps["02-denoise"]


def test_each_replay_is_written_as_soon_as_it_finishes(tmp_path, monkeypatch):
    real_fit = replay.fit

    def interrupted_at_sr(problem, *args, **kwargs):
        if problem.task == "sr":
            raise KeyboardInterrupt
        return real_fit(problem, *args, **kwargs)

    monkeypatch.setattr(replay, "fit", interrupted_at_sr)
    with pytest.raises(KeyboardInterrupt):
        replay.precompute(
            ["02-denoise", "04-sr4"], "paper", root=tmp_path, iters=5, size=64, preset="tiny", device="cpu",
            progress=False, log=[].append,
        )  # fmt: skip
    assert replay.available(tmp_path, "paper") == ["02-denoise"]
    assert [p.name for p in (tmp_path / "paper").iterdir()] == ["02-denoise"]  # no half-written folder left


def test_paper_scale_picks_each_tasks_network_and_settings(tmp_path):
    assert replay.network_at("02-denoise", "paper") == ("paper", "paper")
    name, spec = replay.network_at("03-inpaint-text", "paper")
    assert name == "paper-text" and spec.skip == (128,) * 5 and spec.upsample == "nearest"
    assert replay.network_at("03-inpaint-text", "lesson") == ("lesson-text", "lesson-text")
    assert replay.settings_at("03-inpaint-pixels", "paper") == {"lr": 0.001, "reg_noise_std": 0.03}
    assert replay.settings_at("02-denoise", "paper") == {"lr": 0.01, "reg_noise_std": 1 / 30}
    assert replay.settings_at("03-inpaint-text", "lesson") == {"lr": 0.01}
    replay.precompute(["03-inpaint-text"], "paper", root=tmp_path, iters=2, size=64, device="cpu", progress=False,
                      log=[].append)  # fmt: skip
    meta = replay.read_meta("03-inpaint-text", tmp_path / "paper")
    assert meta["config"]["preset"] == "paper-text" and meta["config"]["net"]["skip"] == [128] * 5
    assert "reference code's text-inpainting network" in meta["made"]["settings"]
    assert replay.is_complete("03-inpaint-text", "paper", 2, 64, spec, tmp_path)
    assert not replay.is_complete("03-inpaint-text", "paper", 2, 64, "paper", tmp_path)  # another network: stale


def test_paper_scale_offers_only_its_tasks(tmp_path, capsys):
    with pytest.raises(dip.DipError, match="replay '01-noise' at paper scale: choose from 02-denoise"):
        replay.precompute(["01-noise"], "paper", root=tmp_path)
    assert cli.main(["precompute", "--scale", "paper", "--only", "01-noise"]) == 2
    assert "at paper scale" in capsys.readouterr().err


def test_the_command_resumes_a_paper_scale_batch(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(replay, "ROOT", tmp_path)
    monkeypatch.setitem(replay.SCALES, "paper", (64, "paper"))  # the paper network, at a side a CPU fits in seconds
    args = ["precompute", "--scale", "paper", "--only", "02-denoise", "--iters", "3", "--device", "cpu"]
    assert cli.main(args) == 0
    first = capsys.readouterr().out
    assert "| 02-denoise | paper |" in first and "kept" not in first
    assert cli.main(args) == 0
    assert "kept: already complete" in capsys.readouterr().out
    meta = json.loads((tmp_path / "paper" / "02-denoise" / "run.json").read_text())
    assert meta["config"]["preset"] == "paper" and meta["iters"] == 3 and meta["made"]["side"] == 64
    assert cli.main(["precompute", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "02-denoise (paper): Gaussian noise σ=25; replay 02-denoise: paper scale" in listed
    assert "04-sr4 (paper): super-resolution ×4; not computed" in listed


def test_the_panels_replay_switch_offers_both_scales(made, monkeypatch):
    root, _, _ = made
    monkeypatch.setattr(replay, "ROOT", root)
    monkeypatch.setenv("DIP_EDU_SCALE", "lesson")
    panel = dip.Panel(task="denoise", tasks=("denoise", "sr"), size=64, preset="tiny", iters=5)
    assert panel.replay_scale.layout.display is None and panel.replay_scale.value == "lesson"
    panel.mode.value = "Replay"
    assert panel.result.config["made"]["scale"] == "lesson" and "lesson scale" in panel.status.value
    panel.replay_scale.value = "paper"
    assert panel.result.config["made"]["scale"] == "paper" and "paper scale" in panel.status.value
    assert np.array_equal(panel.result.clean, replay.load("02-denoise", root, scale="paper").clean)
    panel.task.value = "sr"  # only a paper-scale one ships here
    assert panel.result.config["replay"] == "04-sr4" and panel.result.config["made"]["scale"] == "paper"
    panel.replay_scale.value = "lesson"  # none at lesson scale: the paper-scale one, saying so
    assert panel.result.config["made"]["scale"] == "paper" and "no lesson-scale replay" in panel.message.value


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TINY_TABLE = ["--size", "64", "--iters", "3", "--preset", "tiny"]  # the paper-scale table at a CPU test's size


def test_the_paper_table_resumes_one_row_per_task_and_image(tmp_path, monkeypatch, capsys):
    table = _script("paper_table")
    rows, out = tmp_path / "rows.jsonl", tmp_path / "table.json"
    tiny = [*TINY_TABLE, "--device", "cpu", "--rows", str(rows), "--json", str(out)]
    args = ["--scale", "paper", "--tasks", "denoise σ=25,SR ×4", "--images", "astronaut,coffee", *tiny]
    assert table.main(args) == 0
    lines = rows.read_text().splitlines()
    pairs = [(json.loads(line)["task"], json.loads(line)["image"]) for line in lines]
    assert pairs == [
        ("denoise σ=25", "astronaut"),
        ("denoise σ=25", "coffee"),
        ("SR ×4", "astronaut"),
        ("SR ×4", "coffee"),
    ]
    record = json.loads(out.read_text())
    fits = [r for r in record["rows"] if r["method"] == "DIP"]
    assert len(fits) == 4 and all(r["iters"] == 3 and r["side"] == 64 for r in fits)
    assert record["settings"]["preset"] == "tiny" and "### SR ×4" in capsys.readouterr().out
    called = []
    real = table.run_one
    monkeypatch.setattr(table, "run_one", lambda *a: called.append(a[:2]) or real(*a))
    rows.write_text("\n".join(lines[:3]) + "\n" + lines[3][:40])  # the last line cut short, as by a kill
    assert table.main(args) == 0
    assert called == [("SR ×4", "coffee")]  # only what is not whole in the rows file is fitted again
    assert table.main(args) == 0 and called == [("SR ×4", "coffee")]
    again = json.loads(out.read_text())["rows"]
    last = ("SR ×4", "coffee")
    assert [r for r in again if (r["task"], r["image"]) != last] == [
        r for r in record["rows"] if (r["task"], r["image"]) != last
    ]  # the kept rows come back as they were written
    assert len(again) == len(record["rows"])
    other = [a if a != "3" else "4" for a in args]  # another iteration budget is another table: fitted anew
    assert table.main(other) == 0
    assert len(called) == 5


def test_the_paper_table_starts_nothing_after_its_minutes(tmp_path, capsys):
    table = _script("paper_table")
    rows = tmp_path / "rows.jsonl"
    args = ["--scale", "paper", "--tasks", "SR ×4", "--minutes", "0", *TINY_TABLE]
    assert table.main([*args, "--device", "cpu", "--rows", str(rows), "--json", str(tmp_path / "t.json")]) == 0
    assert not rows.exists() and "run again to go on" in capsys.readouterr().err


def test_the_gpu_script_runs_its_blocks_in_order_and_resumes(tmp_path, monkeypatch, capsys):
    gpu = _script("gpu_paper")
    monkeypatch.setattr(replay, "ROOT", tmp_path / "replays")
    monkeypatch.setattr(gpu, "ROWS", tmp_path / "rows.jsonl")
    table = _script("paper_table")
    monkeypatch.setattr(table, "TASKS", {"SR ×4": (table.TASKS["SR ×4"][0], ["astronaut"], 1)})
    monkeypatch.setattr(gpu, "_paper_table", lambda: table)
    timed = []
    monkeypatch.setattr(gpu.lessons, "estimate", lambda key: timed.append(key) or gpu.lessons.Estimate(1.0, 0.9, 1.1))
    monkeypatch.setattr(
        gpu.subprocess, "run", lambda *a, **k: type("Done", (), {"returncode": 0, "stdout": "", "stderr": ""})
    )
    out = tmp_path / "out"
    args = ["--device", "cpu", "--iters", "2", "--side", "64", "--table-size", "64", "--table-iters", "2"]
    assert gpu.main([*args, "--out", str(out), "--minutes", "30"]) == 0
    printed = capsys.readouterr().out
    assert printed.index("replays: done 02-denoise") < printed.index("table: done") < printed.index("check: lesson 01")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"paper-{key}.tar" for key in replay.PAPER_KEYS] + ["rows.jsonl", "gpu_paper.check.json"]
    )
    assert replay.available(scale="paper") == sorted(replay.PAPER_KEYS) and timed == list(gpu.lessons.LESSONS)
    with tarfile.open(out / "paper-04-sr4.tar") as tar:
        assert "04-sr4/run.json" in tar.getnames()
    # again: everything is kept, nothing is fitted
    monkeypatch.setattr(replay, "fit", lambda *a, **k: pytest.fail("refitted a complete replay"))
    monkeypatch.setattr(table, "run_one", lambda *a: pytest.fail("refitted a table row"))
    assert gpu.main([*args, "--out", str(out), "--minutes", "30", "--blocks", "replays,table"]) == 0
    assert "replays: kept 04-sr4" in capsys.readouterr().out
    # with no time left nothing starts, and the call says what it left
    (replay.ROOT / "paper" / "04-sr4" / "run.json").unlink()
    assert gpu.main([*args, "--out", str(out), "--minutes", "0", "--blocks", "replays"]) == 3
    assert "replays: left 04-sr4 for the next call" in capsys.readouterr().out


def test_a_checkout_run_without_installing_still_records_its_version(monkeypatch):
    # a GPU machine that cannot install runs the checkout as it is: the replays it makes still say which version
    import importlib.metadata as metadata

    from dip_edu import lessons

    installed = metadata.version("dip-edu")

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    info = lessons.environment()
    assert info["dip-edu"] == installed and info["ipywidgets"] == "not installed"
