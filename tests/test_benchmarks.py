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


def test_the_performance_page_and_the_result_files_name_each_other():
    # docs/performance.md names the result files its numbers come from: each must be there, each file there must be
    # one the page names (no result kept that backs nothing), and each must hold what the scripts write
    page = (ROOT / "docs" / "performance.md").read_text()
    results = ROOT / "benchmarks" / "results"
    named = set(re.findall(r"\b((?:presets|speed|curve)-[a-z0-9-]+\.json)", page))
    assert named == {path.name for path in results.glob("*.json")}
    for name in named:
        record = json.loads((results / name).read_text())
        assert record.get("rows") or record.get("paper") or record.get("engine"), name


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


def test_threads_times_every_case_in_its_own_process(capsys):
    threads = _script("threads")
    assert threads.main(["--side", "64", "--iters", "3"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line[:30].strip() in threads.CASES]
    assert [r[:30].strip() for r in rows] == list(threads.CASES)
    assert all(float(r[30:]) > 0 for r in rows)
