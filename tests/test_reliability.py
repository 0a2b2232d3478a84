"""Hostile input and hostile conditions: only the project's own error escapes, and a broken run keeps its work.

Property-based tests throw arbitrary bytes, arrays and settings at the loaders and degradations; the fit is
sabotaged with NaN and with an out-of-memory error; the memory guard refuses a fit that cannot fit.
"""

import io
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from PIL import Image

import dip_edu as dip
from dip_edu import degrade, images, memory
from dip_edu.errors import DipError, DipNotice
from dip_edu.problem import Problem

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _png(arr: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def _quietly(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DipNotice)
        return call(*args, **kwargs)


# ---- images: bytes, arrays, formats ----


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_load_or_raise_the_projects_error(data):
    try:
        img = _quietly(images.read, data)
    except DipError:
        return
    assert img.ndim == 3 and img.dtype == np.float32


@FUZZ
@given(st.integers(8, 600), st.sampled_from(["PNG", "JPEG", "GIF", "BMP"]))
def test_truncated_files_are_refused_not_crashed(cut, fmt):
    whole = _png(np.random.default_rng(cut).integers(0, 255, (40, 40, 3), dtype=np.uint8), fmt)
    try:
        img = _quietly(images.read, whole[: min(cut, len(whole) - 1)])
    except DipError as exc:
        assert "not a readable image" in str(exc) or "too large" in str(exc)
        return
    assert np.isfinite(img).all()


@FUZZ
@given(
    arrays(
        st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.int32, np.bool_]),
        array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=70),
    ),
    st.sampled_from([None, 32, 64]),
)
def test_arbitrary_arrays_load_as_images_or_raise_the_projects_error(arr, size):
    try:
        img = _quietly(images.load, arr, size=size)
    except DipError:
        return
    assert img.ndim == 3 and img.shape[2] in (1, 3) and np.isfinite(img).all()
    assert 0 <= img.min() and img.max() <= 1
    if size is not None:
        assert img.shape[:2] == (size, size)


def test_a_renamed_non_image_and_a_decompression_bomb_are_refused(tmp_path):
    fake = tmp_path / "photo.png"
    fake.write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(200))  # an HEIC header, renamed to .png
    with pytest.raises(DipError, match="not a readable image"):
        images.read(fake)
    bomb = Image.new("1", (9000, 9000))  # 81 megapixels, a few kilobytes of PNG
    buf = io.BytesIO()
    bomb.save(buf, format="PNG")
    with pytest.raises(DipError, match="too large to decode"):
        images.read(buf.getvalue())


def test_exif_orientation_is_honoured():
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = 255  # white on the left, landscape
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    buf = io.BytesIO()
    im.save(buf, format="JPEG", exif=exif)
    img = images.read(buf.getvalue())
    assert img.shape[:2] == (40, 20)  # displayed upright: portrait
    assert img[:20].mean() > 0.8 and img[20:].mean() < 0.2  # white ends up on top


# ---- degradations and parameters ----

SETTINGS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(-5, 300),
)


@FUZZ
@given(st.sampled_from(["noisy", "drop_pixels", "downsample", "text_over", "region"]), SETTINGS)
def test_every_degradation_setting_gives_a_problem_or_the_projects_error(astronaut64, kind, value):
    make = {
        "noisy": lambda: degrade.noisy(astronaut64, sigma=value),
        "drop_pixels": lambda: degrade.drop_pixels(astronaut64, fraction=value),
        "downsample": lambda: degrade.downsample(astronaut64, factor=value),
        "text_over": lambda: degrade.text_over(astronaut64, font_size=value),
        "region": lambda: degrade.region(astronaut64, boxes=[(value, value, 10, 10)]),
    }[kind]
    try:
        problem = make()
    except DipError:
        return
    assert isinstance(problem, Problem) and np.isfinite(problem.observation).all()


@FUZZ
@given(
    arrays(np.uint8, st.tuples(st.integers(1, 80), st.integers(1, 80)), elements=st.sampled_from([0, 128, 255])),
)
def test_arbitrary_masks_are_used_or_refused_with_the_projects_error(astronaut64, mask):
    try:
        problem = degrade.region(astronaut64, mask=mask)
    except DipError as exc:
        assert "mask" in str(exc)
        return
    known = problem.mask[..., 0]
    assert known.shape == (64, 64) and 0 < known.sum() < known.size  # some known, some missing


@pytest.mark.parametrize(
    ("option", "value"),
    [("iters", 0), ("iters", -3), ("lr", 0.0), ("lr", float("nan")), ("reg_noise_std", -1.0), ("ema", 1.0)],
)
def test_fit_options_out_of_range_are_refused(astronaut64, option, value):
    with pytest.raises(DipError):
        dip.fit(dip.noisy(astronaut64, 25), "tiny", **{option: value})


# ---- numerical faults and memory ----


class _Sabotaged(torch.nn.Module):
    """An identity operator that misbehaves on chosen calls (NaN, or the device running out of memory)."""

    def __init__(self, fault: str, on: set[int]) -> None:
        super().__init__()
        self.fault, self.on, self.calls = fault, on, 0

    def forward(self, x):
        self.calls += 1
        if self.calls in self.on:
            if self.fault == "nan":
                return x * float("nan")
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return x


def _problem_with(operator: torch.nn.Module, img: np.ndarray) -> Problem:
    problem = dip.noisy(img, 25)
    problem.operator = lambda: operator
    return problem


def test_a_nan_in_the_loss_is_recovered_not_written(astronaut64):
    run = dip.fit(_problem_with(_Sabotaged("nan", {33}), astronaut64), "tiny", iters=60, checkpoints=(35, 60))
    assert any("restored weights and optimiser state" in e for e in run.events)
    assert run.status == "finished"
    assert all(np.isfinite(s.out).all() and np.isfinite(s.ema).all() for s in run.snapshots)
    assert np.isfinite(run.history["loss"][40:]).all()


def test_out_of_memory_mid_run_stops_and_keeps_the_partial_run(astronaut64, tmp_path):
    run = dip.fit(_problem_with(_Sabotaged("oom", {25}), astronaut64), "tiny", iters=100, checkpoints=(10,))
    assert run.status == "out-of-memory" and run.iters == 24
    assert [s.iter for s in run.snapshots] == [10, 24]
    assert any("out of memory" in e for e in run.events)
    loaded = dip.Run.load(run.save(tmp_path / "partial"))
    assert loaded.status == "out-of-memory" and loaded.iters == 24


def test_the_measured_peak_sees_an_allocation():
    cpu = torch.device("cpu")
    base = memory.in_use(cpu)
    block = np.ones(64 * 2**20 // 8)  # 64 MiB, written so it is resident
    assert memory.peak_since(cpu, base) >= 60 * 2**20 and block[-1] == 1
    assert memory.peak_since(cpu, 2**62) == 0  # never negative


def test_the_memory_estimate_grows_with_the_pixels():
    small, large = memory.estimate("paper", (128, 128, 3)), memory.estimate("paper", (256, 256, 3))
    assert 2.5 < large / small < 4.2  # activations dominate: close to 4x the pixels, less the fixed state
    assert memory.estimate("lesson", (256, 256, 3)) < large / 2  # narrow fine scales: far less to keep


def test_a_fit_that_cannot_fit_is_refused_before_it_starts_with_a_size_that_would(astronaut64, monkeypatch):
    budget = memory.estimate("tiny", (64, 64, 3)) * 2
    monkeypatch.setattr(memory, "available", lambda device: budget)
    big = dip.noisy(_quietly(dip.load, "builtin:astronaut", size=256, resize=True), 25)
    with pytest.raises(DipError, match=r"needs about .* GiB .* use a side of at most (\d+)") as info:
        dip.fit(big, "tiny", iters=5)
    side = int(info.value.args[0].split("size=")[1].split(")")[0])
    assert 64 <= side < 256 and memory.estimate("tiny", (side, side, 3)) <= budget
    assert dip.fit(dip.noisy(astronaut64, 25), "tiny", iters=2).iters == 2  # the suggested scale runs


def test_the_cli_refuses_a_run_too_big_for_memory_in_one_line(monkeypatch, capsys, tmp_path):
    from dip_edu import cli

    monkeypatch.setattr(memory, "available", lambda device: 10_000_000)
    out = tmp_path / "out"
    code = cli.main(["run", "--task", "denoise", "--image", "builtin:astronaut", "--size", "512", "--iters", "5",
                     "--preset", "paper", "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "GiB" in err[0] and not out.exists()
