import json

import numpy as np
import pytest

import dip_edu as dip


@pytest.fixture(scope="module")
def run(astronaut64):
    return dip.fit(dip.drop_pixels(astronaut64, 0.3), "tiny", iters=30, checkpoints=(10, 20), early_stop=True)


def test_save_and_load_round_trip(run, tmp_path):
    run.save(tmp_path / "rec")
    back = dip.Run.load(tmp_path / "rec")
    assert back.task == run.task and back.status == run.status and back.config == json.loads(json.dumps(run.config))
    for key, values in run.history.items():
        assert np.array_equal(back.history[key], values, equal_nan=True)
    assert [s.iter for s in back.snapshots] == [s.iter for s in run.snapshots]
    for a, b in zip(back.snapshots, run.snapshots, strict=True):
        assert np.array_equal(a.out, b.out) and np.array_equal(a.ema, b.ema) and a.psnr == b.psnr
    assert np.array_equal(back.mask, run.mask) and np.array_equal(back.clean, run.clean)
    assert back.peak() == run.peak()
    assert not list((tmp_path / "rec").glob("*.tmp"))  # written atomically: no leftovers


def test_records_hold_no_pickles(run, tmp_path):
    run.save(tmp_path)
    with np.load(tmp_path / "run.npz", allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)


def test_peak_is_the_best_psnr_against_the_clean_image(run):
    it, value = run.peak()
    assert value == pytest.approx(np.nanmax(run.history["psnr"]))
    assert run.history["psnr"][it - 1] == value


def test_a_damaged_record_is_reported_not_raised_raw(run, tmp_path):
    run.save(tmp_path)
    (tmp_path / "run.npz").write_bytes(b"truncated")
    with pytest.raises(dip.DipError, match="cannot be read"):
        dip.Run.load(tmp_path)


def test_summary_is_json_with_the_documented_fields(run):
    summary = json.loads(json.dumps(run.summary()))
    expected = {"task", "image", "size", "preset", "params", "device", "iters", "seconds", "sec_per_iter"}
    assert expected | {"psnr_input", "history", "checkpoints", "peak", "final", "early_stop"} <= set(summary)
    assert set(summary["history"]) == {"iter", "loss", "psnr", "psnr_ema"}
    assert [c["iter"] for c in summary["checkpoints"]] == [10, 20, 30]
