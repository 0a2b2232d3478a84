"""The benchmark scripts' arithmetic: the numbers docs/performance.md quotes come from these functions."""

import importlib.util
import json
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def presets():
    return _script("presets")


@pytest.fixture(scope="module")
def speed():
    return _script("speed")


def _row(network: str, image: str, best: float, best_iter: int, curve: list[float], s_per_iter: float = 1.0) -> dict:
    return {
        "network": network,
        "task": "inpaint 50% pixels",
        "image": image,
        "iters": 10 * len(curve),
        "s_per_iter": s_per_iter,
        "best": best,
        "best_iter": best_iter,
        "best_seconds": best_iter * s_per_iter,
        "best_ema": best,
        "best_ema_iter": best_iter,
        "end": curve[-1],
        "end_ema": curve[-1],
        "curve": curve,
    }


def test_reached_is_the_first_stored_iteration_at_the_level(presets):
    row = _row("lesson", "coffee", 30.0, 21, [20.0, 29.4, 29.6, 30.0])
    assert presets.reached(row, 29.5) == 21  # curve index 2 is iteration 1 + 2 * CURVE_STEP
    assert presets.reached(row, 30.5) is None


def test_verdict_compares_each_crop_with_the_paper_network_at_the_given_pace(presets):
    name = "n16x5-in8-nearest"
    rows = [
        _row("paper", "astronaut", 31.0, 1000, [25.0] * 99 + [31.0]),
        _row("paper", "coffee", 32.0, 500, [25.0] * 49 + [32.0]),
        _row(name, "astronaut", 30.8, 200, [30.0, 30.6, 30.8]),  # within 0.5 dB at iteration 11
        _row(name, "coffee", 31.0, 300, [31.0]),  # never within 0.5 dB
    ]
    line = next(
        ln for ln in presets.verdict(rows, {"paper": 0.5, name: 0.05}).splitlines() if ln.startswith(f"| {name} ")
    )
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[2] == "-0.60, -1.00"  # mean and worst of -0.2 and -1.0
    # time to own best over the paper network's: 200*0.05/(1000*0.5) = 0.02, 300*0.05/(500*0.5) = 0.06
    assert cells[3] == "0.04, 0.06"
    assert cells[4] == "not reached on 1 of 2"


def test_verdict_falls_back_to_each_runs_own_clock(presets):
    name = "n16x5-in8-nearest"
    rows = [
        _row("paper", "coffee", 32.0, 11, [30.0, 32.0], s_per_iter=0.4),
        _row(name, "coffee", 31.8, 22, [31.0, 31.6, 31.8], s_per_iter=0.1),
    ]
    line = next(ln for ln in presets.verdict(rows).splitlines() if ln.startswith(f"| {name} "))
    # own best 22*0.1 / (11*0.4) = 0.5; within 0.5 dB at iteration 11: 11*0.1 / (11*0.4) = 0.25
    assert line == f"| {name} | inpaint 50% pixels | -0.20, -0.20 | 0.50, 0.50 | 0.25, 0.25 | -0.20, -0.20 |"


def test_verdict_compares_the_output_averages_best_too(presets):
    name = "n16x5-in8-nearest"
    paper, mine = _row("paper", "coffee", 32.0, 11, [30.0, 32.0]), _row(name, "coffee", 31.8, 22, [31.0, 31.8])
    paper["best_ema"], mine["best_ema"] = 32.9, 31.9  # the paper network's average gains more over its output
    line = next(ln for ln in presets.verdict([paper, mine]).splitlines() if ln.startswith(f"| {name} "))
    assert line.startswith(f"| {name} | inpaint 50% pixels | -0.20, -0.20 |") and line.endswith("| -1.00, -1.00 |")


def test_verdict_and_budgets_compare_with_another_reference_network_when_asked(presets):
    # the reference code's text network in the paper network's place: the paper network becomes one of the compared
    name = "n16x5-in8-nearest"
    rows = [
        _row("paper", "coffee", 32.0, 11, [30.0, 32.0], s_per_iter=0.4),
        _row("paper-text", "coffee", 33.0, 11, [31.0, 33.0], s_per_iter=0.8),
        _row(name, "coffee", 31.8, 22, [31.0, 31.6, 31.8], s_per_iter=0.1),
    ]
    table = presets.verdict(rows, reference="paper-text")
    assert "| Δ best vs paper-text (mean, worst) dB |" in table
    mine = next(ln for ln in table.splitlines() if ln.startswith(f"| {name} "))
    # own best 22*0.1 / (11*0.8) = 0.25; never within 0.5 dB of 33.0
    assert mine == f"| {name} | inpaint 50% pixels | -1.20, -1.20 | 0.25, 0.25 | not reached on 1 of 1 | -1.20, -1.20 |"
    assert any(ln.startswith("| paper | inpaint 50% pixels | -1.00, -1.00 |") for ln in table.splitlines())
    assert not any(ln.startswith("| paper-text |") for ln in table.splitlines())
    budgets = presets.within(rows, None, [0.1], reference="paper-text")
    assert f"| {name} | inpaint 50% pixels | 0.100 | 1 | ≥ -1.20, -1.20 |" in budgets  # 60 iterations: past its end
    assert presets.verdict(rows) != table  # the default stays the paper network
    with pytest.raises(SystemExit):
        presets.main(["--table", "--reference", "paper-txt"])  # a name no search network has


def test_pace_reads_the_speed_json_under_candidate_names(presets, tmp_path):
    record = {
        "paper": [{"side": 64, "per_iter": 0.1}, {"side": 128, "per_iter": 0.3}],
        "presets": [{"preset": "lesson", "per_iter": 0.03}, {"preset": "tiny", "error": "failed"}],
    }
    path = tmp_path / "speed.json"
    path.write_text(json.dumps(record))
    pace = presets.pace_from(str(path))
    assert pace["paper"] == 0.3
    assert pace["n16x5-in8-nearest"] == 0.03  # the candidate that became `lesson`
    assert "tiny" not in pace


def test_paces_and_tables_keep_to_one_crop_side(presets, tmp_path, capsys):
    record = {
        "paper": [{"side": 96, "per_iter": 0.4}, {"side": 128, "per_iter": 0.3}],
        "presets": [{"preset": "lesson", "side": 96, "per_iter": 0.02}, {"preset": "lesson", "per_iter": 0.03}],
    }
    speed = tmp_path / "speed.json"
    speed.write_text(json.dumps(record))
    assert presets.pace_from(str(speed))["paper"] == 0.3  # rows without a side are 128×128's
    small_pace = presets.pace_from(str(speed), 96)
    assert (small_pace["paper"], small_pace["lesson"], small_pace["n16x5-in8-nearest"]) == (0.4, 0.02, 0.02)
    small = [{**_row(n, "coffee", 30.0, 100, [30.0]), "side": 96} for n in ("paper", "n16x5-in8-nearest")]
    path = tmp_path / "side96.json"
    path.write_text(json.dumps({"rows": small}))
    assert presets.main(["--table", "--json", str(path), "--speed", str(speed)]) == 0
    # the time to best at 96×96's paces: 0.02 / 0.4 of the paper network's (128×128's would give 0.10)
    assert "| n16x5-in8-nearest | inpaint 50% pixels | +0.00, +0.00 | 0.05, 0.05 |" in capsys.readouterr().out
    other = tmp_path / "side128.json"
    other.write_text(json.dumps({"rows": [_row("paper", "coffee", 31.0, 100, [31.0])]}))
    for bad in (["--table", "--with", str(other)], ["--table", "--paper-from", str(other)], ["--side", "100"]):
        with pytest.raises(SystemExit) as stop:
            presets.main(["--json", str(path), *bad])
        assert stop.value.code == 2
    with pytest.raises(SystemExit) as stop:  # fitting 128×128 crops into a file of 96×96 ones
        presets.main(["--json", str(path), "--only", "n16x5-in8-nearest", "--iters", "1"])
    assert stop.value.code == 2 and "another side" in capsys.readouterr().err


def test_bf16_networks_are_paced_under_their_own_names_never_the_float32_ones(presets, tmp_path):
    record = {
        "paper": [
            {"preset": "paper", "side": 128, "per_iter": 0.3},
            {"preset": "paper-bf16", "side": 128, "per_iter": 0.1},
        ],
        "presets": [{"preset": "lesson-text", "per_iter": 0.05}, {"preset": "lesson-text-bf16", "per_iter": 0.03}],
    }
    path = tmp_path / "speed.json"
    path.write_text(json.dumps(record))
    pace = presets.pace_from(str(path))
    assert (pace["paper"], pace["paper-bf16"]) == (0.3, 0.1)
    assert pace["n32to128-in8-nearest"] == 0.05 and pace["n32to128-in8-nearest-bf16"] == 0.03
    assert "n64to128-in8-nearest-bf16" not in pace  # not measured: no float32 pace stands in for it
    assert presets.precision("n64to128-in8-bf16") == "bfloat16" and presets.precision("paper") == "float32"
    assert presets.NETWORKS["paper-bf16"] == presets.NETWORKS["paper"]


def test_paces_follow_the_network_a_row_timed_not_the_preset_name_it_has_now(presets, tmp_path):
    # Rows that record their network are matched by it; older rows by what their preset name meant then.
    text = presets.dip.spec("lesson-text").describe()
    newer = {"presets": [{"preset": "lesson-text-bf16", "per_iter": 0.04, "net": text}]}
    older = {
        "presets": [{"preset": "lesson-text-bf16", "per_iter": 0.03}, {"preset": "lesson-pixels", "per_iter": 0.05}]
    }
    older["presets"].append({"preset": "a-network-since-removed", "per_iter": 0.07})  # kept by name, matched to none
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    (tmp_path / "older.json").write_text(json.dumps(older))
    pace = presets.pace_from(str(tmp_path / "newer.json"))
    assert pace["n32to128-skipw-in8-nearest-bf16"] == 0.04 and "n32to128-in8-nearest-bf16" not in pace
    pace = presets.pace_from(str(tmp_path / "older.json"))
    assert pace["n32to128-in8-nearest-bf16"] == 0.03 and "n32to128-skipw-in8-nearest-bf16" not in pace
    assert pace["n32to128-in32"] == 0.05 and "n32to128-skipw-in32" not in pace
    assert pace["a-network-since-removed"] == 0.07 and list(pace.values()).count(0.07) == 1


def test_speed_takes_bf16_names_for_any_network(speed, capsys):
    assert speed.network("lesson-text-bf16") == speed.network("lesson-text")
    assert speed.network("n64to128-in8-bf16") == speed.network("n64to128-in8")
    assert speed.network("paper-text").skip == (128,) * 5  # the reference code's text network, not a candidate
    with pytest.raises(SystemExit, match="not a preset"):
        speed.network("n99x5")
    row = speed.measure("engine", "tiny-bf16", 32, "cpu", 0.5)
    assert "error" not in row, row.get("error")
    assert row["preset"] == "tiny-bf16" and row["per_iter"] > 0
    assert row["net"] == speed.network("tiny").describe()  # what was timed, should the preset change later
    with pytest.raises(SystemExit):
        speed.main(["--paper", "lesson", "--json", "unused.json"])
    assert "--paper takes paper and paper-bf16, not 'lesson'" in capsys.readouterr().err


def _budget_rows(name: str) -> list[dict]:
    """The paper network and `name` on two crops, with curves: the budget table's and figure's input."""
    return [
        _row("paper", "astronaut", 31.0, 991, [25.0] * 99 + [31.0]),
        _row("paper", "coffee", 32.0, 491, [25.0] * 49 + [32.0]),
        _row(name, "astronaut", 30.8, 21, [30.0, 30.6, 30.8]),
        _row(name, "coffee", 31.0, 1, [31.0, 30.0, 29.0]),
    ]


def test_within_gives_the_best_a_budget_buys_against_the_paper_networks_best(presets):
    name = "n16x5-in8-nearest"
    rows = _budget_rows(name)
    # 1 minute buys 60/0.5 = 120 paper iterations (its curve up to index 12) and 60/2 = 30 of the candidate's, its
    # whole runs; 10 minutes buy more than either ran, so their bests within the runs are floors ("≥")
    lines = presets.within(rows, {"paper": 0.5, name: 2.0}, [1, 10]).splitlines()
    assert lines[0] == "| network | task | s/iter | runs | 1 min | 10 min |"
    assert f"| {name} | inpaint 50% pixels | 2.000 | 2 | -0.60, -1.00 | ≥ -0.60, -1.00 |" in lines
    assert "| paper | inpaint 50% pixels | 0.500 | 2 | -6.50, -7.00 | ≥ +0.00, +0.00 |" in lines
    # a budget short of the first stored point after the start still reads the start
    line = presets.within(rows, {"paper": 0.5, name: 2.0}, [0.1]).splitlines()[2]
    assert line == f"| {name} | inpaint 50% pixels | 2.000 | 2 | -1.00, -1.00 |"


def test_within_reads_the_output_averages_curve_against_the_paper_networks_best_average(presets, tmp_path):
    name = "n16x5-in8-nearest"
    rows = _budget_rows(name)
    for row in rows:
        row["best_ema"] += 0.5
    rows[2]["curve_ema"] = [29.0, 30.9, 31.1]  # astronaut: 31.5 is the paper network's best average
    rows[3]["curve_ema"] = [31.5, 32.0, 32.6]  # coffee: 32.5
    line = presets.within(rows, {"paper": 0.5, name: 2.0}, [0.4, 1], average=True).splitlines()[2:]
    # 0.4 minutes buy 12 iterations of the candidate: its curves up to index 1; a minute, all of them
    assert line == [f"| {name} | inpaint 50% pixels | 2.000 | 2 | -0.55, -0.60 | -0.15, -0.40 |"]  # paper: no curve
    assert presets.within(rows[:2], None, [1], average=True).splitlines()[2:] == []
    drawn = presets.plot_within(rows, {"paper": 0.5, name: 2.0}, str(tmp_path / "average.png"), average=True)
    assert drawn == [f"inpaint 50% pixels: {name}"]


def test_plot_within_draws_the_networks_fitted_on_every_crop(presets, tmp_path):
    name = "n16x5-in8-nearest"
    rows = _budget_rows(name) + [_row("n32to128-in32", "coffee", 31.0, 1, [31.0])]  # one crop of two: left out
    path = tmp_path / "minutes.png"
    drawn = presets.plot_within(rows, {"paper": 0.5, name: 2.0, "n32to128-in32": 1.0}, str(path))
    assert drawn == [f"inpaint 50% pixels: {name}", "inpaint 50% pixels: paper"]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a network without a pace measured alone is left out rather than drawn at its own clock
    assert presets.plot_within(rows, {"paper": 0.5}, str(path)) == ["inpaint 50% pixels: paper"]
    with pytest.raises(ValueError, match="no network"):
        presets.plot_within(rows[2:], None, str(path))
    # against another reference network: only the networks fitted on every crop of that one's are drawn
    other = [{**r, "network": "paper-text"} for r in rows if r["network"] == "paper"][:1]
    drawn = presets.plot_within(rows + other, {"paper": 0.5, name: 2.0}, str(path), reference="paper-text")
    assert drawn == [f"inpaint 50% pixels: {name}", "inpaint 50% pixels: paper"]


def test_presets_table_prints_from_a_saved_search(presets, tmp_path, capsys):
    rows = [_row("paper", "coffee", 32.0, 100, [32.0]), _row("n16x5-in8-nearest", "coffee", 31.8, 50, [31.8])]
    path = tmp_path / "presets.json"
    path.write_text(json.dumps({"rows": rows}))
    assert presets.main(["--table", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| paper | inpaint 50% pixels | 1.000 | 32.00 | 100 |" in out
    assert "| n16x5-in8-nearest | inpaint 50% pixels | -0.20, -0.20 |" in out
    # the reference from another saved search replaces the file's own paper rows, in every table
    other = tmp_path / "reference.json"
    other.write_text(json.dumps({"rows": [_row("paper", "coffee", 33.0, 100, [33.0])]}))
    assert presets.main(["--table", "--json", str(path), "--paper-from", str(other), "--minutes", "1"]) == 0
    out = capsys.readouterr().out
    assert "| paper | inpaint 50% pixels | 1.000 | 33.00 | 100 |" in out and "32.00" not in out
    assert "| n16x5-in8-nearest | inpaint 50% pixels | -1.20, -1.20 |" in out
    assert "| n16x5-in8-nearest | inpaint 50% pixels | 1.000 | 1 | ≥ -1.20, -1.20 |" in out
    # rows of further saved searches join the tables, and nothing is written to them or to --json
    more = tmp_path / "bf16.json"
    more.write_text(json.dumps({"rows": [_row("n16x5-in8-nearest-bf16", "coffee", 31.5, 40, [31.5])]}))
    assert presets.main(["--table", "--json", str(path), "--with", str(more)]) == 0
    out = capsys.readouterr().out
    assert "| n16x5-in8-nearest | inpaint 50% pixels | -0.20, -0.20 |" in out
    assert "| n16x5-in8-nearest-bf16 | inpaint 50% pixels | -0.50, -0.50 |" in out
    assert len(json.loads(more.read_text())["rows"]) == 1
    bad_args = (
        ["--with", str(tmp_path / "none.json")],
        ["--minutes", "two"],
        ["--minutes", "0"],
        ["--paper-from", str(tmp_path / "none.json")],
        ["--seeds", "one"],
        ["--seeds", ","],
    )
    for bad in bad_args:
        with pytest.raises(SystemExit) as stop:
            presets.main(["--table", "--json", str(path), *bad])
        assert stop.value.code == 2
    assert json.loads(path.read_text())["rows"] == rows  # printing tables writes nothing


def test_the_shipped_gpu_search_gives_the_numbers_the_docs_quote(presets, capsys):
    # benchmarks/results/presets-h100.json: the paper network given 8000 iterations on text and 50 % pixels,
    # and the sixth round's candidates; docs/performance.md quotes these lines
    path = ROOT / "benchmarks" / "results" / "presets-h100.json"
    assert presets.main(["--table", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| paper | inpaint text | 0.010 | 38.38 | 7858 |" in out
    assert "| paper | inpaint 50% pixels | 0.008 | 32.86 | 7699 |" in out
    assert "| n24to128-in32 | inpaint 50% pixels | -0.44, -0.85 |" in out
    rows = json.loads(path.read_text())["rows"]
    assert {r["device"] for r in rows} == {"cuda"} and all(r["iters"] == 8000 for r in rows)


def test_the_shipped_cpu_search_gives_the_numbers_the_docs_quote(presets, capsys):
    # benchmarks/results/presets-cpu.json: the wider CPU candidates of the sixth and seventh rounds beside
    # `lesson-pixels`'s fits and the paper network's 8000-iteration rows; docs/performance.md quotes these lines
    path = ROOT / "benchmarks" / "results" / "presets-cpu.json"
    paper = ROOT / "benchmarks" / "results" / "presets-h100.json"
    speed = ROOT / "benchmarks" / "results" / "speed-intel-128-seventh.json"
    assert presets.main(["--table", "--json", str(path), "--paper-from", str(paper), "--speed", str(speed)]) == 0
    out = capsys.readouterr().out
    assert "| n64to128-in32 | inpaint 50% pixels | +0.13, -0.18 | 0.40, 0.43 | 0.21, 0.27 |" in out
    assert "| n64to128-in8-nearest | inpaint text | -0.54, -0.64 | 0.37, 0.38 |" in out
    assert "| n32to128-in32 | inpaint 50% pixels | -0.33, -0.63 |" in out
    assert "| n32to128-in8-nearest | inpaint text | -1.17, -1.92 |" in out  # the eighth round's refit
    rows = json.loads(path.read_text())["rows"]
    assert {r["device"] for r in rows} == {"cpu"}
    assert all(r["iters"] == (4000 if "-lr" in r["network"] else 8000) for r in rows)  # lr variants: 4000
    assert "paper" not in {r["network"] for r in rows}  # the reference lives in presets-h100.json alone


def test_the_shipped_cpu_search_gives_the_budgets_the_docs_quote(presets, capsys):
    # docs/performance.md's eighth round: what each network reaches within a lesson's minutes
    results = ROOT / "benchmarks" / "results"
    args = ["--table", "--json", str(results / "presets-cpu.json"), "--paper-from", str(results / "presets-h100.json")]
    args += ["--speed", str(results / "speed-intel-128-eighth.json"), "--minutes", "1,2,3,4,6,8,12"]
    assert presets.main(args) == 0
    out = capsys.readouterr().out
    assert (
        "| n32to128-in8-nearest | inpaint text | 0.041 | 3 | -5.01, -5.44 | -2.75, -3.10 | -1.80, -2.18 "
        "| -1.47, -1.93 | ≥ -1.21, -1.93 |" in out
    )
    assert "| n64to128-in32 | inpaint 50% pixels | 0.073 | 3 | -3.28, -4.69 | -1.86, -2.68 | -1.07, -1.44 |" in out
    assert "| paper | inpaint 50% pixels | 0.177 | 3 | -5.63, -8.16 |" in out


def test_the_shipped_ninth_round_gives_the_averages_the_docs_quote(presets, capsys):
    # benchmarks/results/presets-cpu-ninth.json: the text networks with the output average's curve;
    # docs/performance.md's ninth round quotes these lines
    results = ROOT / "benchmarks" / "results"
    args = ["--table", "--json", str(results / "presets-cpu-ninth.json")]
    args += ["--paper-from", str(results / "presets-h100.json"), "--speed", str(results / "speed-intel-128-ninth.json")]
    assert presets.main([*args, "--minutes", "2,12", "--average"]) == 0
    out = capsys.readouterr().out
    assert "| n64to128-in8 | inpaint text | -0.92, -1.45 | 0.38, 0.39 | not reached on 2 of 3 | -0.96, -1.75 |" in out
    assert "| n32to128-in8-nearest | inpaint text | 0.053 | 3 | -3.27, -3.49 | ≥ -1.85, -2.72 |" in out
    assert "| n64to128-in8 | inpaint text | 0.090 | 3 | -6.52, -7.08 | -0.96, -1.75 |" in out
    rows = json.loads((results / "presets-cpu-ninth.json").read_text())["rows"]
    assert all("curve_ema" in r and r["iters"] == 8000 and r["seed"] == 0 for r in rows) and len(rows) == 15


def _shipped_table(search: str, joined: str | None, speed: str, minutes: str) -> list[str]:
    """`presets.py --table` arguments for a shipped search (joined with an earlier one, unless None), against the paper
    network's 8000-iteration runs (presets-h100.json), at the paces of a shipped speed run."""
    results = ROOT / "benchmarks" / "results"
    args = ["--table", "--json", str(results / search)] + (["--with", str(results / joined)] if joined else [])
    args += ["--paper-from", str(results / "presets-h100.json")]
    return args + ["--speed", str(results / speed), "--minutes", minutes]


def test_the_shipped_tenth_round_gives_the_bf16_numbers_the_docs_quote(presets, speed, capsys):
    # benchmarks/results/presets-cpu-tenth.json: bf16 fits, joined with the ninth round's float32 ones;
    # docs/performance.md's tenth round quotes these lines
    results = ROOT / "benchmarks" / "results"
    args = _shipped_table("presets-cpu-tenth.json", "presets-cpu-ninth.json", "speed-intel-tenth.json", "2,3,6")
    assert presets.main(args) == 0
    out = capsys.readouterr().out
    assert "| n64to128-in8-nearest-bf16 | inpaint text | -0.22, -0.42 | 0.20, 0.20 | 0.16, 0.18 | -0.79, -1.15 |" in out
    assert "| n32to128-in8-nearest | inpaint text | 0.045 | 3 | -2.90, -3.24 | -1.96, -2.37 | -1.21, -1.93 |" in out
    assert (
        "| n64to128-in8-nearest-bf16 | inpaint text | 0.054 | 3 | -2.76, -3.23 | -1.66, -2.23 | -0.45, -0.78 |" in out
    )
    rows = json.loads((results / "presets-cpu-tenth.json").read_text())["rows"]
    half = [r for r in rows if r["network"].endswith("-bf16")]
    assert len(half) == 18 and all(r["precision"] == "bfloat16" for r in half)
    pace = presets.pace_from(str(results / "speed-intel-tenth.json"))
    assert (round(pace["paper"], 3), round(pace["paper-bf16"], 3)) == (0.272, 0.120)


def test_the_shipped_eleventh_round_gives_the_numbers_the_docs_quote(presets, speed, capsys):
    # benchmarks/results/speed-intel-eleventh.json: every network in float32 and bf16, interleaved rounds;
    # presets-cpu-eleventh.json: the pixel network in bf16 for 8000 iterations. docs/performance.md quotes these
    results = ROOT / "benchmarks" / "results"
    pace = presets.pace_from(str(results / "speed-intel-eleventh.json"))
    paces = [round(pace[n], 4) for n in ("lesson", "lesson-bf16", "lesson-text", "lesson-text-bf16")]
    assert paces == [0.0168, 0.0203, 0.0342, 0.0265]
    assert (round(pace["lesson-pixels"], 4), round(pace["lesson-pixels-bf16"], 4)) == (0.0385, 0.0328)
    text = ["--json", str(results / "presets-cpu-tenth.json"), "--with", str(results / "presets-cpu-ninth.json")]
    common = ["--table", "--paper-from", str(results / "presets-h100.json")]
    common += ["--speed", str(results / "speed-intel-eleventh.json"), "--minutes", "2,3,4"]
    assert presets.main([*common, *text]) == 0
    out = capsys.readouterr().out
    assert "| n64to128-in8-nearest-bf16 | inpaint text | -0.22, -0.42 | 0.16, 0.17 | 0.13, 0.15 |" in out
    assert "| n32to128-in8-nearest | inpaint text | 0.034 | 3 | -2.33, -2.77 | -1.62, -2.04 | -1.25, -1.93 |" in out
    assert "| n32to128-in8-nearest-bf16 | inpaint text | 0.027 | 3 | -1.86, -2.24 | -1.48, -2.08 |" in out
    pixels = ["--json", str(results / "presets-cpu-eleventh.json"), "--with", str(results / "presets-cpu.json")]
    assert presets.main([*common, *pixels]) == 0
    out = capsys.readouterr().out
    assert "| n32to128-in32-bf16 | inpaint 50% pixels | -0.43, -0.61 | 0.14, 0.15 | not reached on 2 of 3 |" in out
    assert "| n32to128-in32 | inpaint 50% pixels | 0.038 | 3 | -1.37, -2.37 | -0.83, -1.44 | -0.55, -0.93 |" in out
    assert "| n32to128-in32-bf16 | inpaint 50% pixels | 0.033 | 3 | -1.20, -1.81 | -0.76, -1.05 | -0.55, -0.66 |" in out
    rows = json.loads((results / "presets-cpu-eleventh.json").read_text())["rows"]
    assert {(r["network"], r["image"], r["iters"], r["precision"]) for r in rows} == {
        ("n32to128-in32-bf16", image, 8000, "bfloat16") for image in ("astronaut", "chelsea", "coffee")
    }
    seeds = str(results / "presets-cpu-seeds-eleventh.json")  # both lesson networks, seeds 1 and 2, both precisions
    assert presets.main(["--table", "--json", seeds, "--paper-from", str(results / "presets-h100.json")]) == 0
    out = capsys.readouterr().out
    assert "| n32to128-in8-nearest | inpaint text | 0.067 | 36.04 | 2962 |" in out
    assert "| n32to128-in8-nearest-bf16 | inpaint text | 0.040 | 36.16 | 2961 |" in out
    assert "| n32to128-in32 | inpaint 50% pixels | 0.053 | 31.61 | 2921 |" in out
    assert "| n32to128-in32-bf16 | inpaint 50% pixels | 0.035 | 31.46 | 2923 |" in out
    rows = json.loads(Path(seeds).read_text())["rows"]
    assert sorted((r["task"], r["precision"], r["seed"]) for r in rows) == sorted(
        (task, p, seed)
        for task in ("inpaint text", "inpaint 50% pixels")
        for p in ("float32", "bfloat16")
        for seed in (1, 2)
        for _ in range(3)
    )


def test_the_shipped_twelfth_round_gives_the_numbers_the_docs_quote(presets, speed, capsys):
    # benchmarks/results/presets-cpu-twelfth.json: the 48-channel text networks in bf16, 8000 iterations;
    # speed-intel-twelfth.json: their paces beside the 64-channel one's and the paper network's. The docs quote these
    results = ROOT / "benchmarks" / "results"
    pace = presets.pace_from(str(results / "speed-intel-twelfth.json"))
    names = ("paper", "n32to128-in8-nearest-bf16", "n48to128-in8-nearest-bf16", "n64to128-in8-nearest-bf16")
    assert [round(pace[n], 3) for n in names] == [0.182, 0.035, 0.039, 0.045]
    args = _shipped_table("presets-cpu-twelfth.json", "presets-cpu-tenth.json", "speed-intel-twelfth.json", "3,4,6")
    assert presets.main(args) == 0
    out = capsys.readouterr().out
    assert "| n48to128-in8-nearest-bf16 | inpaint text | -0.60, -1.03 | 0.21, 0.22 | not reached on 2 of 3 |" in out
    assert "| n64-48to128-in8-nearest-bf16 | inpaint text | -1.11, -1.11 |" in out
    assert "| n64to128-in8-nearest-bf16 | inpaint text | -0.22, -0.42 | 0.24, 0.25 | 0.20, 0.22 |" in out
    assert "| n48to128-in8-nearest-bf16 | inpaint text | 0.039 | 3 | -1.26, -1.74 | -0.87, -1.16 |" in out
    assert "| n64to128-in8-nearest-bf16 | inpaint text | 0.045 | 3 | -1.26, -1.73 | -0.60, -0.90 |" in out
    rows = json.loads((results / "presets-cpu-twelfth.json").read_text())["rows"]
    crops = ("astronaut", "chelsea", "coffee")
    assert sorted((r["network"], r["image"], r["iters"], r["precision"]) for r in rows) == sorted(
        [
            (name + "-bf16", image, 8000, "bfloat16")
            for name in ("n48to128-in8-nearest", "paper-text")
            for image in crops
        ]
        + [("n32to128-skipw-in8-nearest-bf16", image, 8000, "bfloat16") for image in crops]
        + [
            (n + "-bf16", "chelsea", 8000, "bfloat16")
            for n in ("n64-48to128-in8-nearest", "n64to128-skipw-in8-nearest")
        ]
        + [("n16x5-skip16-in8-nearest", "chelsea", 8000, "float32")]
    )


def test_the_shipped_wide_skip_runs_give_the_numbers_the_docs_quote(presets, speed, capsys):
    # the twelfth round's second part: the reference code's text network and wide skips, against `paper` and
    # against that network (--reference); speed-intel-twelfth-skips.json holds their paces
    results = ROOT / "benchmarks" / "results"
    pace = presets.pace_from(str(results / "speed-intel-twelfth-skips.json"))
    names = ("paper", "paper-text", "paper-text-bf16", "n32to128-skipw-in8-nearest", "n32to128-skipw-in8-nearest-bf16")
    assert [round(pace[n], 3) for n in names] == [0.194, 0.339, 0.135, 0.052, 0.036]
    args = _shipped_table(
        "presets-cpu-twelfth.json", "presets-cpu-tenth.json", "speed-intel-twelfth-skips.json", "2,3,4"
    )
    assert presets.main(args) == 0
    out = capsys.readouterr().out
    assert "| paper-text-bf16 | inpaint text | +0.40, +0.13 |" in out
    assert "| n32to128-skipw-in8-nearest-bf16 | inpaint text | -0.62, -1.22 |" in out
    assert (
        "| n32to128-skipw-in8-nearest-bf16 | inpaint text | 0.036 | 3 | -1.45, -1.60 | -1.02, -1.36 | -0.78, -1.23 |"
        in out
    )
    assert (
        "| n32to128-in8-nearest-bf16 | inpaint text | 0.036 | 3 | -2.57, -3.09 | -1.76, -2.12 | -1.50, -2.08 |" in out
    )
    assert presets.main([*args, "--reference", "paper-text-bf16"]) == 0
    out = capsys.readouterr().out
    assert "| n64to128-in8-nearest-bf16 | inpaint text | -0.62, -1.04 | 0.35, 0.37 | not reached on 1 of 3 |" in out
    assert "| paper | inpaint text | -0.40, -0.62 |" in out
    seeds = str(results / "presets-cpu-seeds-twelfth.json")  # the wide-skip network, seeds 1 and 2, 3000 iterations
    assert presets.main(["--table", "--json", seeds, "--paper-from", str(results / "presets-h100.json")]) == 0
    assert "| n32to128-skipw-in8-nearest-bf16 | inpaint text | 0.044 | 36.52 | 2942 |" in capsys.readouterr().out
    rows = json.loads(Path(seeds).read_text())["rows"]
    assert sorted((r["image"], r["seed"], r["iters"]) for r in rows) == [
        (image, seed, 3000) for image in ("astronaut", "chelsea", "coffee") for seed in (1, 2)
    ]


def test_the_shipped_thirteenth_round_gives_the_numbers_the_docs_quote(presets, speed, capsys):
    # presets-cpu-thirteenth.json: wide skips on the pixel network and on the 48-channel text network (8000
    # iterations, seed 0); presets-cpu-seeds-thirteenth.json: the wide-skip pixel network with seeds 1 and 2 (3000)
    results = ROOT / "benchmarks" / "results"
    pace = presets.pace_from(str(results / "speed-intel-thirteenth.json"))
    # the rows record their networks: `lesson-pixels` here timed the 4-channel-skip network, `lesson-text` the wide one
    text = ("n32to128-skipw-in8-nearest-bf16", "n32to128-in8-nearest-bf16")
    pixels = ("n32to128-in32", "n32to128-skipw-in32", "n32to128-in32-bf16", "n32to128-skipw-in32-bf16")
    paces = [round(pace[n], 3) for n in ("paper", *text, *pixels)]
    assert paces == [0.232, 0.046, 0.046, 0.062, 0.072, 0.053, 0.049]
    args = _shipped_table(
        "presets-cpu-thirteenth.json", "presets-cpu-eleventh.json", "speed-intel-thirteenth.json", "2,3,4"
    )
    assert presets.main(args) == 0
    out = capsys.readouterr().out
    assert (
        "| n32to128-skipw-in32-bf16 | inpaint 50% pixels | -0.25, -0.72 | 0.20, 0.22 | not reached on 1 of 3 |" in out
    )
    assert "| n32to128-in32-bf16 | inpaint 50% pixels | -0.43, -0.61 | 0.22, 0.23 | not reached on 2 of 3 |" in out
    assert (
        "| n48to128-skipw-in8-nearest-bf16 | inpaint text | -0.41, -0.57 | 0.23, 0.24 | not reached on 1 of 3 |" in out
    )
    assert "| n64to128-skipw-in32-bf16 | inpaint 50% pixels | 0.110 | 32.42 | 7976 |" in out
    assert (
        "| n32to128-skipw-in32-bf16 | inpaint 50% pixels | 0.049 | 3 | -1.24, -2.33 | -0.77, -1.64 | -0.50, -1.25 |"
        in out
    )
    assert "| n32to128-in32-bf16 | inpaint 50% pixels | 0.053 | 3 | -1.95, -3.02 | -1.34, -2.02 | -0.93, -1.30 |" in out
    # Seeds: the best by iteration 3000 of each wide-skip fit against the 4-channel-skip fit of the same seed and crop
    seeds = json.loads((results / "presets-cpu-seeds-thirteenth.json").read_text())["rows"]
    wide = seeds + json.loads((results / "presets-cpu-thirteenth.json").read_text())["rows"]
    narrow = [
        r
        for name in ("presets-cpu-eleventh.json", "presets-cpu-seeds-eleventh.json")
        for r in json.loads((results / name).read_text())["rows"]
    ]

    def by_3000(rows: list[dict], name: str) -> dict[tuple[str, int], float]:
        steps = 3000 // presets.CURVE_STEP
        return {(r["image"], r.get("seed", 0)): max(r["curve"][:steps]) for r in rows if r["network"] == name}

    new, old = by_3000(wide, "n32to128-skipw-in32-bf16"), by_3000(narrow, "n32to128-in32-bf16")
    assert sorted(new) == sorted(old) and len(new) == 9
    gains = [new[k] - old[k] for k in new]
    assert round(sum(gains) / 9, 2) == 0.52 and min(gains) > 0
    # and astronaut given 8000 iterations with seeds 1 and 2: the wide skips end a little lower
    ends = json.loads((results / "presets-cpu-astronaut-thirteenth.json").read_text())["rows"]
    best = {(r["network"], r["seed"]): r["best"] for r in ends}
    gains = [best[("n32to128-skipw-in32-bf16", seed)] - best[("n32to128-in32-bf16", seed)] for seed in (1, 2)]
    assert [round(g, 2) for g in gains] == [-0.21, 0.04]


def test_the_shipped_paper_network_timing_without_amx_is_the_docs_row(speed):
    # speed-intel-noamx-256.json: the engine and the reference loop at 256×256 on a CPU without AMX tiles
    record = json.loads((ROOT / "benchmarks" / "results" / "speed-intel-noamx-256.json").read_text())
    assert record["amx"] is False
    (engine,), (reference,), (kept,) = record["paper"], record["reference"], record["reference_memory_reused"]
    line = speed._line("paper", engine, reference, kept)
    assert line == "| paper | 256 | 0.660 | 482 | 0.938 | 0.70× | 88.0 min | 0.675 | 0.98× |"
    assert line in (ROOT / "docs" / "performance.md").read_text()
    ratios = [e / r for e, r in zip(engine["rounds"], reference["rounds"], strict=True)]
    assert 0.69 < min(ratios) and max(ratios) < 0.72  # "0.70–0.72 round by round"


def test_the_targets_summary_quotes_only_numbers_its_sections_give():
    # docs/performance.md opens with a table of where each target stands; every number in it must be one the
    # page's sections give (which the tests above check against the result files), and every section it names
    # must be a heading of the page, so the summary cannot drift from what it summarises
    page = (ROOT / "docs" / "performance.md").read_text().replace("−", "-")
    head, rest = page.split("## The targets at a glance\n", 1)
    summary, body = rest.split("\n## ", 1)
    body = head + "\n## " + body
    rows = [line.split(" | ") for line in summary.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) >= 14
    headings = {h.strip().lower() for h in re.findall(r"^#+ (.+)$", body, re.M)}
    for cells in rows:
        assert len(cells) == 5, cells
        section = cells[4].rstrip(" |").lower()
        assert any(h.startswith(section) for h in headings), section
        for number in re.findall(r"[+-]?\d+\.\d+(?:–\d+\.\d+)?×?", cells[2]):
            assert number in body, (number, cells[2])


def test_the_shipped_fourteenth_round_gives_the_numbers_the_docs_quote(presets, capsys):
    # presets-cpu-fourteenth.json: the text and pixel networks with 4-channel, half-width and wide skips in float32
    # on a CPU without AMX tiles (4000 iterations, seed 0), at that CPU's paces (speed-intel-noamx-fourteenth.json)
    results = ROOT / "benchmarks" / "results"
    speed_file = results / "speed-intel-noamx-fourteenth.json"
    assert json.loads(speed_file.read_text())["amx"] is False
    pace = presets.pace_from(str(speed_file))
    text = ("n32to128-in8-nearest", "n32to128-skiph-in8-nearest", "n32to128-skipw-in8-nearest")
    pixels = ("n32to128-in32", "n32to128-skiph-in32", "n32to128-skipw-in32")
    paces = [round(pace[n], 3) for n in ("paper", "paper-bf16", *text, *pixels, "lesson-pixels-bf16")]
    assert paces == [0.167, 0.543, 0.036, 0.037, 0.042, 0.041, 0.043, 0.048, 0.100]
    assert presets.main(_shipped_table("presets-cpu-fourteenth.json", None, speed_file.name, "1.5,2")) == 0
    out = capsys.readouterr().out
    assert "| n32to128-in8-nearest | inpaint text | 0.036 | 3 | -3.15, -3.53 | -2.38, -2.77 |" in out
    assert "| n32to128-skipw-in8-nearest | inpaint text | 0.042 | 3 | -2.49, -2.56 | -1.70, -1.85 |" in out
    assert "| n32to128-skiph-in8-nearest | inpaint text | 0.037 | 3 | -2.25, -2.74 | -1.57, -1.95 |" in out
    assert "| n32to128-in32 | inpaint 50% pixels | 0.041 | 3 | -2.06, -3.40 | -1.52, -2.55 |" in out
    assert "| n32to128-skipw-in32 | inpaint 50% pixels | 0.048 | 3 | -1.58, -2.85 | -1.19, -2.18 |" in out
    assert "| n32to128-skiph-in32 | inpaint 50% pixels | 0.043 | 3 | -1.60, -2.69 | -1.23, -2.09 |" in out
    rows = json.loads((results / "presets-cpu-fourteenth.json").read_text())["rows"]
    assert all(r["precision"] == "float32" and r["iters"] == 4000 and r["seed"] == 0 for r in rows) and len(rows) == 18
    # With seeds 1 and 2 (presets-cpu-seeds-fourteenth.json), nine pairs: half-width against wide skips, level in the
    # same two minutes and behind in the same 3000 iterations; wide against 4-channel skips in the same two minutes,
    # still ahead, by less than seed 0 alone says
    rows += json.loads((results / "presets-cpu-seeds-fourteenth.json").read_text())["rows"]

    def best(name: str, iters: int | None = None) -> dict[tuple[str, int], float]:
        iters = iters or int(120 / pace[name])  # two minutes at this CPU's pace, unless iterations are given
        return {(r["image"], r["seed"]): presets.best_within(r, iters) for r in rows if r["network"] == name}

    compared = [(text[1], text[2], None, 0.06), (text[1], text[2], 3000, -0.21), (text[2], text[0], None, 0.39)]
    compared += [(pixels[1], pixels[2], None, 0.05), (pixels[1], pixels[2], 3000, -0.12)]
    compared += [(pixels[2], pixels[0], None, 0.22)]
    for mine, other, iters, mean in compared:
        a, b = best(mine, iters), best(other, iters)
        assert sorted(a) == sorted(b) and len(a) == 9
        assert round(sum(a[k] - b[k] for k in a) / 9, 2) == mean


def test_the_shipped_sixteenth_round_gives_the_numbers_the_docs_quote(presets, capsys):
    # presets-cpu-sixteenth.json: the two lesson networks' whole 8000 iterations in float32 on a CPU without AMX
    # tiles (seed 0), at that CPU's paces (speed-intel-noamx-fourteenth.json), against the paper network's 8000
    results = ROOT / "benchmarks" / "results"
    rows = json.loads((results / "presets-cpu-sixteenth.json").read_text())["rows"]
    assert all(r["precision"] == "float32" and r["iters"] == 8000 and r["seed"] == 0 for r in rows) and len(rows) == 6
    speed_file = "speed-intel-noamx-fourteenth.json"
    assert presets.main(_shipped_table("presets-cpu-sixteenth.json", None, speed_file, "2,3,4")) == 0
    out = capsys.readouterr().out
    assert "| n32to128-skipw-in8-nearest | inpaint text | -0.52, -1.07 | 0.21, 0.24 | not reached on 2 of 3 |" in out
    assert "| n32to128-skipw-in32 | inpaint 50% pixels | -0.29, -0.73 | 0.25, 0.29 | not reached on 1 of 3 |" in out
    minutes = "| n32to128-skipw-in8-nearest | inpaint text | 0.042 | 3 | -1.70, -1.85 | -0.96, -1.30 | -0.71, -1.10 |"
    assert minutes in out
    minutes = "| n32to128-skipw-in32 | inpaint 50% pixels | 0.048 | 3 | -1.19, -2.18 | -0.69, -1.46 | -0.48, -1.09 |"
    assert minutes in out
    pace = presets.pace_from(str(results / speed_file))
    h100 = json.loads((results / "presets-h100.json").read_text())["rows"]
    paper = {(r["task"], r["image"]): r for r in h100 if r["network"] == "paper" and r.get("seed", 0) == 0}
    # Seeds 1 and 2 (presets-cpu-seeds-sixteenth.json): nine fits a network against the paper network's seed-0 runs
    seeds = json.loads((results / "presets-cpu-seeds-sixteenth.json").read_text())["rows"]
    text, pixels = "n32to128-skipw-in8-nearest", "n32to128-skipw-in32"
    crops = ("astronaut", "chelsea", "coffee")
    assert sorted((r["network"], r["seed"], r["iters"], r["precision"]) for r in seeds) == sorted(
        [(name, seed, 8000, "float32") for name in (text, pixels) for seed in (1, 2) for _ in crops]
    )
    # The same networks' earlier fits: seed 0 in bf16 (twelfth and thirteenth rounds), and in float32 seed 0 for 4000
    # iterations (fourteenth round) and seeds 1 and 2 for 3500; the new fits repeat the float32 ones exactly
    earlier = {}
    for name in ("presets-cpu-twelfth.json", "presets-cpu-thirteenth.json", "presets-cpu-fourteenth.json"):
        for r in json.loads((results / name).read_text())["rows"]:
            earlier[(r["network"], r["image"], r.get("seed", 0))] = r
    for r in json.loads((results / "presets-cpu-seeds-fourteenth.json").read_text())["rows"]:
        earlier[(r["network"], r["image"], r["seed"])] = r
    expected = {  # seed 0's bests, time ratios and float32 - bf16; the seeds' bests; mean, standard error, fits
        # within 0.5 dB; by crop; time ratios where reached
        text: (
            ([37.83, 36.66, 39.06], [0.14, None, None], [0.55, 0.15, -0.43]),
            ([37.35, 36.35, 39.99, 37.54, 36.38, 39.33], (-0.54, 0.20, 5), [-0.18, -1.27, -0.18], (5, 0.14, 0.24)),
        ),
        pixels: (
            ([32.47, 31.95, 33.30], [None, 0.15, 0.08], [-0.01, 0.14, -0.24]),
            ([32.78, 31.79, 33.61, 32.65, 32.01, 33.34], (-0.20, 0.12, 7), [-0.57, -0.28, 0.24], (7, 0.08, 0.29)),
        ),
    }
    for name, ((bests, times, apart), (seed_bests, summary, by_crop, reached)) in expected.items():
        gaps, ratios = {}, {}
        for r in [r for r in rows + seeds if r["network"] == name]:
            ref = paper[(r["task"], r["image"])]
            gaps[(r["image"], r["seed"])] = r["best"] - ref["best"]
            at = presets.reached(r, ref["best"] - 0.5)
            if at:
                ratios[(r["image"], r["seed"])] = presets.seconds_to(r, pace, at) / presets.seconds_to(ref, pace)
            before = earlier[(name, r["image"], r["seed"])]["curve"]
            assert r["curve"][: len(before)] == before
        seed_0 = {r["image"]: r["best"] for r in rows if r["network"] == name}
        assert [round(seed_0[c], 2) for c in crops] == bests
        assert [round(ratios[(c, 0)], 2) if (c, 0) in ratios else None for c in crops] == times
        assert [round(seed_0[c] - earlier[(name + "-bf16", c, 0)]["best"], 2) for c in crops] == apart
        assert [round(r["best"], 2) for r in seeds if r["network"] == name] == seed_bests
        assert len(gaps) == 9
        mean = sum(gaps.values()) / 9
        standard_error = math.sqrt(sum((g - mean) ** 2 for g in gaps.values()) / 8 / 9)
        assert (round(mean, 2), round(standard_error, 2), sum(g >= -0.5 for g in gaps.values())) == summary
        assert [round(sum(gaps[(c, seed)] for seed in (0, 1, 2)) / 3, 2) for c in crops] == by_crop
        assert (len(ratios), round(min(ratios.values()), 2), round(max(ratios.values()), 2)) == reached
        if name == text:
            assert [round(-gaps[("chelsea", seed)], 2) for seed in (0, 1, 2)] == [1.07, 1.38, 1.35]
        else:  # coffee within 0.5 dB in 0.08x the paper network's time with every seed
            assert [round(ratios[("coffee", seed)], 2) for seed in (0, 1, 2)] == [0.08, 0.08, 0.08]


def test_the_shipped_side_round_gives_the_numbers_the_docs_quote(presets, capsys):
    # presets-cpu-side96.json: the lesson networks and the paper network on 96×96 crops, at 96×96's paces
    # (speed-intel-noamx-96.json), and the same networks' 128×128 fits of earlier rounds
    results = ROOT / "benchmarks" / "results"
    rows = json.loads((results / "presets-cpu-side96.json").read_text())["rows"]
    assert len(rows) == 18 and {presets.side_of(r) for r in rows} == {96}
    pace = presets.pace_from(str(results / "speed-intel-noamx-96.json"), 96)
    paces = [round(pace[n], 3) for n in ("paper", "lesson", "lesson-text", "lesson-pixels")]
    assert paces == [0.104, 0.013, 0.030, 0.033]
    args = ["--table", "--json", str(results / "presets-cpu-side96.json"), "--minutes", "1.5,2,3"]
    assert presets.main([*args, "--speed", str(results / "speed-intel-noamx-96.json")]) == 0
    out = capsys.readouterr().out
    assert "| n16x5-in8-nearest | denoise σ=25 | +0.26, +0.06 | 0.15, 0.18 | 0.08, 0.10 | -0.24, -0.46 |" in out
    assert "| n32to128-skipw-in8-nearest | inpaint text | +0.39, -0.65 | 0.30, 0.37 | not reached on 1 of 3 |" in out
    assert "| n32to128-skipw-in32 | inpaint 50% pixels | -0.03, -0.16 | 0.49, 0.53 | 0.27, 0.38 |" in out
    # each crop's best against the paper network's within its first 5000 iterations, at both sides
    wide = json.loads((results / "presets-cpu-twelfth.json").read_text())["rows"]
    wide += json.loads((results / "presets-cpu-thirteenth.json").read_text())["rows"]
    paper = json.loads((results / "presets-h100.json").read_text())["rows"]

    def gaps(mine: list[dict], theirs: list[dict], name: str, task: str, iters: int) -> dict[tuple[str, int], float]:
        ref = {r["image"]: r for r in theirs if r["network"] == "paper" and r["task"] == task}
        runs = [r for r in mine if r["network"] == name and r["task"] == task]
        return {
            (r["image"], r.get("seed", 0)): presets.best_within(r, iters) - presets.best_within(ref[r["image"]], 5000)
            for r in runs
        }

    compared = [
        (rows, rows, "n32to128-skipw-in8-nearest", "inpaint text", [-0.51, 0.81, 1.23], 0.00),
        (wide, paper, "n32to128-skipw-in8-nearest-bf16", "inpaint text", [0.92, 0.50, 1.21], -0.12),
        (rows, rows, "n32to128-skipw-in32", "inpaint 50% pixels", [-0.13, 0.04, 0.11], -0.72),
        (wide, paper, "n32to128-skipw-in32-bf16", "inpaint 50% pixels", [-0.25, -0.09, 0.54], -0.57),
    ]
    for mine, theirs, name, task, per_crop, by_3000 in compared:
        late, early = (gaps(mine, theirs, name, task, iters) for iters in (8000, 3000))
        assert [round(late[(i, 0)], 2) for i in presets.IMAGES] == per_crop
        assert round(sum(early[(i, 0)] for i in presets.IMAGES) / 3, 2) == by_3000
    # text with seeds 1 and 2 as well (presets-cpu-seeds-side96.json), against the paper network's seed-0 runs; at
    # 128×128 the twelfth round's nine 3000-iteration fits
    rows += json.loads((results / "presets-cpu-seeds-side96.json").read_text())["rows"]
    wide += json.loads((results / "presets-cpu-seeds-twelfth.json").read_text())["rows"]
    small = gaps(rows, rows, "n32to128-skipw-in8-nearest", "inpaint text", 8000)
    small_early = gaps(rows, rows, "n32to128-skipw-in8-nearest", "inpaint text", 3000)
    large_early = gaps(wide, paper, "n32to128-skipw-in8-nearest-bf16", "inpaint text", 3000)
    assert len(small) == len(small_early) == len(large_early) == 9
    assert [round(small[("astronaut", s)], 2) for s in (0, 1, 2)] == [-0.51, -0.93, -0.99]
    mean = [round(sum(g.values()) / 9, 2) for g in (small, small_early, large_early)]
    assert mean == [0.25, -0.33, -0.31]


def test_the_shipped_seed_runs_give_the_numbers_the_docs_quote(presets, capsys):
    # benchmarks/results/presets-cpu-seeds.json: seeds 1 and 2 of the two text networks on chelsea (seed 0 is in
    # presets-cpu.json); docs/performance.md's ninth round quotes these lines
    results = ROOT / "benchmarks" / "results"
    path = results / "presets-cpu-seeds.json"
    assert presets.main(["--table", "--json", str(path), "--paper-from", str(results / "presets-h100.json")]) == 0
    out = capsys.readouterr().out
    assert "| n32to128-in8-nearest | inpaint text | -1.93, -1.94 |" in out
    assert "| n64to128-in8-nearest | inpaint text | -0.65, -0.77 |" in out
    rows = json.loads(path.read_text())["rows"]
    assert {(r["image"], r["seed"], r["iters"]) for r in rows} == {("chelsea", 1, 8000), ("chelsea", 2, 8000)}


def test_presets_fit_one_returns_what_the_tables_read(presets):
    row = presets.fit_one("n16x5-in8-nearest", "inpaint 50% pixels", "coffee", 20, "cpu")
    assert row["iters"] == 20 and 1 <= row["best_iter"] <= 20 and row["device"] == "cpu" and row["seed"] == 0
    assert row["precision"] == "float32"
    half = presets.fit_one("n16x5-in8-nearest-bf16", "inpaint 50% pixels", "coffee", 20, "cpu")
    assert half["precision"] == "bfloat16" and half["curve"] != row["curve"]
    assert len(row["curve"]) == len(row["curve_ema"]) == 2 and math.isfinite(row["best"]) and row["s_per_iter"] > 0
    other = presets.fit_one("n16x5-in8-nearest", "inpaint 50% pixels", "coffee", 20, "cpu", seed=1)
    assert other["seed"] == 1 and other["curve"] != row["curve"]  # another draw of weights and input
    small = presets.fit_one("n16x5-in8-nearest", "inpaint 50% pixels", "coffee", 20, "cpu", side=64)
    assert (row["side"], small["side"]) == (128, 64) and small["curve"] != row["curve"]


def test_the_reference_is_the_paper_networks_seed_0_run(presets):
    runs = [{**_row("paper", "coffee", 32.0 + s, 100, [32.0]), "seed": s} for s in (2, 0, 1)]
    assert presets._reference(runs)[("inpaint 50% pixels", "coffee")]["best"] == 32.0
    assert presets._reference([_row("paper", "coffee", 31.0, 100, [31.0])])[("inpaint 50% pixels", "coffee")]


def test_speed_exponent_is_the_slope_in_log_log(speed):
    rows = [{"side": s, "per_iter": 0.001 * s**2.2} for s in (128, 256, 512)] + [{"side": 64, "per_iter": 9.0}]
    assert speed.exponent(rows) == pytest.approx(2.2)  # sides below 128 are left out
    assert speed.exponent(rows[:1]) is None


def test_speed_line_states_the_ratio_and_the_8000_iteration_time(speed):
    row = {"side": 256, "per_iter": 0.9, "peak_mib": 400}
    line = speed._line("paper", row, {"per_iter": 1.5}, {"per_iter": 1.0})
    assert line == "| paper | 256 | 0.900 | 400 | 1.500 | 0.60× | 120.0 min | 1.000 | 0.90× |"
    gpu = speed._line("paper", {"side": 128, "per_iter": 0.00369, "peak_mib": 170}, {"per_iter": 0.0312})
    assert gpu == "| paper | 128 | 0.0037 | 170 | 0.031 | 0.12× | 0.5 min | — | — |"
    assert "failed: out of memory" in speed._line("paper", {"side": 512, "error": "out of memory"}, None)


def test_speed_interleaves_the_presets_rounds_and_shows_each_ones_median(speed, monkeypatch, tmp_path, capsys):
    calls = []

    def fake(kind, preset, side, device, seconds, env=None):  # a machine that slows down as the run goes on
        calls.append(preset)
        row = {"kind": kind, "preset": preset, "side": side, "per_iter": 0.01 * len(calls), "peak_mib": 9.0}
        return {**row, "device": "cpu"}

    monkeypatch.setattr(speed, "measure", fake)
    out = tmp_path / "speed.json"
    args = ["--sizes", "", "--presets", "lesson,lesson-bf16", "--rounds", "3", "--json", str(out)]
    assert speed.main(args) == 0
    assert calls == ["lesson", "lesson-bf16"] * 3  # a drift reaches both alike, not one's three rounds
    rows = json.loads(out.read_text())["presets"]
    assert [r["rounds"] for r in rows] == [[0.01, 0.03, 0.05], [0.02, 0.04, 0.06]]
    assert [r["per_iter"] for r in rows] == [0.03, 0.04] and "| lesson-bf16 | 128 | 0.040 |" in capsys.readouterr().out


def test_speed_records_whether_the_cpu_has_amx_tiles(speed, monkeypatch, tmp_path, capsys):
    # bf16 is several times faster with AMX tiles and several times slower without: a speed file must say which
    monkeypatch.setattr(speed, "measure", lambda kind, preset, side, device, seconds, env=None: {"device": "cpu"})
    for amx, words in ((True, "x86_64, AMX tiles;"), (False, "x86_64, no AMX tiles;")):
        monkeypatch.setattr(speed.cpu, "has_amx", lambda amx=amx: amx)
        monkeypatch.setattr(speed.platform, "machine", lambda: "x86_64")
        out = tmp_path / f"speed-{amx}.json"
        assert speed.main(["--sizes", "", "--presets", "", "--json", str(out)]) == 0
        assert json.loads(out.read_text())["amx"] is amx and words in capsys.readouterr().out


def test_speed_measures_a_small_network_in_a_fresh_process(speed):
    row = speed.measure("engine", "tiny", 32, "cpu", 0.5)
    assert "error" not in row, row.get("error")
    assert row["per_iter"] > 0 and row["device"].startswith("cpu")


def test_gpu_variants_run_on_a_cpu_and_compare_with_the_bare_loop(tmp_path, capsys):
    gpu = _script("gpu")
    out = tmp_path / "gpu.json"
    assert (
        gpu.main(
            [
                "--runs",
                "tiny:32",
                "--iters",
                "12",
                "--device",
                "cpu",
                "--variants",
                "engine,base,channels-last,graph",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    record = json.loads(out.read_text())
    rows = {r["variant"]: r for r in record["rows"]}
    assert set(rows) == {"engine", "base", "channels-last"}  # the CUDA graph is skipped on a CPU
    assert all(r["ms"] > 0 and math.isfinite(r["psnr"]) and r["gflop"] > 0 for r in rows.values())
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "| channels-last |" in ln)
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert float(cells[4]) == pytest.approx(rows["channels-last"]["ms"] / rows["base"]["ms"], abs=0.01)


def test_speed_shows_the_median_round_and_keeps_them_all(speed):
    rows = [
        {"per_iter": 3.0, "peak_mib": 1},
        {"error": "killed"},
        {"per_iter": 1.0, "peak_mib": 2},
        {"per_iter": 2.0, "peak_mib": 3},
    ]
    row = speed.median_round(rows)
    assert row["per_iter"] == 2.0 and row["peak_mib"] == 3 and row["rounds"] == [3.0, 1.0, 2.0]
    assert speed.median_round([{"per_iter": 1.0}, {"per_iter": 5.0}])["per_iter"] == 1.0  # the lower of two
    assert speed.median_round([{"error": "killed"}]) == {"error": "killed"}
    assert speed.median_round([]) is None


def test_curve_table_compares_the_two_loops_at_every_step_asked():
    curve = _script("curve")
    engine = {"psnr": [10.0, 12.0, 14.0], "psnr_ema": [9.0, 10.0, 11.0]}
    reference = {"psnr": [10.0, 11.5, 14.5], "psnr_ema": [9.0, 10.5, 11.2]}
    rows = curve.table(engine, reference, every=2)
    assert rows[2] == "| 2 | 12.00 | 11.50 | +0.50 | 10.00 | 10.50 | -0.50 |"
    assert rows[3] == "| 3 | 14.00 | 14.50 | -0.50 | 11.00 | 11.20 | -0.20 |"
    assert rows[-1].endswith("over 3 iterations: 0.50 dB")


def test_curve_runs_the_engine_at_either_precision_from_the_same_start():
    curve = _script("curve")
    exact, half = curve.curve("engine", 64, 3), curve.curve("engine", 64, 3, "bfloat16")
    assert len(exact["psnr"]) == len(half["psnr"]) == 3
    assert exact["psnr"][0] == pytest.approx(half["psnr"][0], abs=0.1)  # the same weights and input
    assert exact["psnr"] != half["psnr"]  # and the convolutions rounded to bf16
