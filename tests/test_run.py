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
    for name in ("history.npz", "images.npz"):
        with np.load(tmp_path / name, allow_pickle=False) as data:
            assert all(data[k].dtype != object for k in data.files)


def test_a_run_saved_with_png_images_is_read_back_within_half_a_step(run, tmp_path):
    """The format of the shipped replays: 8-bit PNGs, each value within 0.5/255 of the fit's."""
    run.save(tmp_path, images="png", extra={"about": "a test"})
    assert not (tmp_path / "images.npz").exists() and (tmp_path / "out-00010.png").is_file()
    back = dip.Run.load(tmp_path)
    pairs = [(back.observation, run.observation), (back.clean, run.clean), (back.early_image, run.early_image)]
    pairs += [(a.out, b.out) for a, b in zip(back.snapshots, run.snapshots, strict=True)]
    for stored, made in pairs:
        assert stored.shape == made.shape and np.abs(stored - made).max() <= 0.5 / 255 + 1e-6
    assert np.array_equal(back.mask, run.mask)  # a mask is 0 or 1: exact in 8 bits
    assert np.allclose(back.history["psnr"], run.history["psnr"], equal_nan=True, atol=1e-4)
    assert back.early_stop == run.early_stop and back.status == run.status
    assert json.loads((tmp_path / "run.json").read_text())["about"] == "a test"


def test_a_record_of_another_format_says_so(run, tmp_path):
    run.save(tmp_path)
    meta = json.loads((tmp_path / "run.json").read_text())
    (tmp_path / "run.json").write_text(json.dumps({**meta, "format": 1}))
    with pytest.raises(dip.DipError, match="format 1, expected 2"):
        dip.Run.load(tmp_path)


def test_peak_is_the_best_psnr_against_the_clean_image(run):
    it, value = run.peak()
    assert value == pytest.approx(np.nanmax(run.history["psnr"]))
    assert run.history["psnr"][it - 1] == value


def test_a_damaged_record_is_reported_not_raised_raw(run, tmp_path):
    run.save(tmp_path)
    (tmp_path / "images.npz").write_bytes(b"truncated")
    with pytest.raises(dip.DipError, match="unreadable"):
        dip.Run.load(tmp_path)


def test_summary_is_json_with_the_documented_fields(run):
    summary = json.loads(json.dumps(run.summary()))
    expected = {"task", "image", "size", "preset", "params", "device", "iters", "seconds", "sec_per_iter"}
    assert expected | {"psnr_input", "history", "checkpoints", "peak", "final", "early_stop"} <= set(summary)
    assert set(summary["history"]) == {"iter", "loss", "psnr", "psnr_ema"}
    assert [c["iter"] for c in summary["checkpoints"]] == [10, 20, 30]
