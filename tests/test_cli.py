import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from dip_edu import cli
from dip_edu.run import Run

SMALL = ["--size", "64", "--preset", "tiny", "--resize"]


def _run(capsys, *argv):
    code = cli.main(["run", *argv])
    return code, capsys.readouterr().err


def test_a_run_writes_the_documented_json_and_the_snapshots(capsys, tmp_path):
    out, summary = tmp_path / "out", tmp_path / "run.json"
    args = ["--task", "denoise", "--image", "builtin:astronaut", *SMALL, "--iters", "12"]
    code, err = _run(capsys, *args, "--checkpoints", "5,10", "--out", str(out), "--json", str(summary))
    assert code == 0, err
    data = json.loads(summary.read_text())
    assert data["task"] == "denoise" and data["iters"] == 12 and data["preset"] == "tiny"
    assert [c["iter"] for c in data["checkpoints"]] == [5, 10, 12]
    assert len(data["history"]["loss"]) == 12 and data["psnr_input"] > 15
    assert data["params"] > 0 and data["final"]["ssim"] is not None and data["early_stop"] is None
    assert {"iter00005.png", "iter00012.png", "observation.png", "run.json", "history.npz", "images.npz"} <= set(
        os.listdir(out)
    )
    assert Run.load(out).iters == 12


@pytest.mark.parametrize("task", ["reconstruct", "inpaint-text", "inpaint-pixels", "inpaint-region", "sr"])
def test_every_task_runs_from_the_command_line(capsys, tmp_path, task):
    code, err = _run(capsys, "--task", task, "--image", "builtin:camera", *SMALL, "--iters", "3")
    assert code == 0, err


def test_the_default_network_is_the_tasks_lesson_network(capsys, tmp_path):
    summary = tmp_path / "run.json"
    args = ["--size", "64", "--resize", "--iters", "2", "--json", str(summary)]
    code, err = _run(capsys, "--task", "inpaint-pixels", "--image", "builtin:camera", *args)
    assert code == 0, err
    assert json.loads(summary.read_text())["preset"] == "lesson-pixels" and "preset lesson-pixels" in err


def test_a_user_mask_and_an_observed_image(capsys, tmp_path):
    mask = np.full((64, 64), 255, np.uint8)
    mask[20:40, 20:40] = 0
    Image.fromarray(mask).save(tmp_path / "mask.png")
    base = ["--image", "builtin:camera", *SMALL, "--iters", "3", "--mask", str(tmp_path / "mask.png")]
    assert _run(capsys, "--task", "inpaint-region", *base)[0] == 0
    summary = tmp_path / "s.json"
    assert _run(capsys, "--task", "inpaint-region", "--observed", *base, "--json", str(summary))[0] == 0
    assert json.loads(summary.read_text())["psnr_input"] is None


def _bad_inputs(tmp_path):
    (tmp_path / "junk.png").write_bytes(b"this is not a picture")
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "tiny.png")
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(tmp_path / "small_mask.png")
    Image.fromarray(np.full((64, 64), 128, np.uint8)).save(tmp_path / "grey_mask.png")
    img = ["--image", "builtin:camera", *SMALL]
    return {
        "missing file": ["--task", "denoise", "--image", str(tmp_path / "absent.png")],
        "not an image": ["--task", "denoise", "--image", str(tmp_path / "junk.png")],
        "too small": ["--task", "denoise", "--image", str(tmp_path / "tiny.png")],
        "mask size": ["--task", "inpaint-region", *img, "--mask", str(tmp_path / "small_mask.png")],
        "mask not binary": ["--task", "inpaint-region", *img, "--mask", str(tmp_path / "grey_mask.png")],
        "unknown builtin": ["--task", "denoise", "--image", "builtin:lena"],
        "iters 0": ["--task", "denoise", *img, "--iters", "0"],
        "negative sigma": ["--task", "denoise", *img, "--sigma", "-3"],
        "drop 1": ["--task", "inpaint-pixels", *img, "--drop", "1"],
        "factor 3": ["--task", "sr", *img, "--factor", "3"],
        "unknown task": ["--task", "deblur", *img],
        "iters not a number": ["--task", "denoise", *img, "--iters", "many"],
    }


def test_every_bad_input_gets_one_line_and_exit_2_and_writes_nothing(capsys, tmp_path):
    cases = _bad_inputs(tmp_path)
    for name, argv in cases.items():
        out = tmp_path / f"out-{name.replace(' ', '-')}"
        code, err = _run(capsys, *argv, "--out", str(out), "--json", str(out) + ".json")
        lines = [line for line in err.splitlines() if not line.startswith("dip-edu: note:")]
        assert code == 2, name
        assert len(lines) == 1 and lines[0].startswith("dip-edu: error: "), (name, err)
        assert "Traceback" not in err
        assert not out.exists() and not os.path.exists(str(out) + ".json"), name


def test_the_console_script_reports_bad_input_in_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "dip_edu.cli", "run", "--task", "sr", "--image", "builtin:camera", "--factor", "5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("dip-edu: error: factor 5")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_leaves_a_complete_partial_record(tmp_path, sig):
    out = tmp_path / "partial"
    small = ["--size", "64", "--preset", "lesson", "--resize"]  # a fresh process: the tests' `tiny` is not registered
    argv = ["run", "--task", "denoise", "--image", "builtin:astronaut", *small, "--iters", "100000"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dip_edu.cli", *argv, "--out", str(out), "--json", str(tmp_path / "p.json")],
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a job started in the background (`cmd &`) inherits SIGINT ignored, and Python
        # then installs no KeyboardInterrupt handler; the child gets the default back before it starts.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    buffer = ""
    counted = re.compile(r"\| *[1-9]\d*/100000")  # the bar has counted a finished step: no fixed wait
    while not counted.search(buffer[-40:]) and time.time() < deadline:
        buffer += proc.stderr.read(1)
    proc.send_signal(sig)
    proc.communicate(timeout=120)
    assert proc.returncode == 130
    run = Run.load(out)
    assert run.status == "interrupted" and 0 < run.iters < 100000 and run.final.iter == run.iters
    assert json.loads((tmp_path / "p.json").read_text())["status"] == "interrupted"
