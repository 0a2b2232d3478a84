"""bf16 convolutions: chosen on request or by "auto" on an AMX CPU; the loop's record stays float32."""

import numpy as np
import pytest
import torch

import dip_edu as dip
from dip_edu import cli
from dip_edu.fast import cpu

CPU = torch.device("cpu")
WIDE = dip.nets.NetSpec(down=(64,) * 2, up=(64,) * 2, skip=(4,) * 2, input_depth=8)  # small, but wide enough for bf16


def test_float32_and_bfloat16_are_taken_as_asked():
    assert dip.pick_precision("float32", CPU) is None
    assert dip.pick_precision("bfloat16", CPU) is torch.bfloat16


@pytest.mark.parametrize("amx", [True, False])
def test_a_fit_by_default_runs_a_wide_network_in_bf16_exactly_where_the_cpu_has_amx(monkeypatch, astronaut64, amx):
    monkeypatch.setattr(cpu, "has_amx", lambda: amx)
    run = dip.fit(dip.noisy(astronaut64, 25), WIDE, iters=3, device="cpu")
    assert run.config["precision"] == ("bfloat16" if amx else "float32")
    assert dip.fit(dip.noisy(astronaut64, 25), "tiny", iters=3, device="cpu").config["precision"] == "float32"


@pytest.mark.parametrize("amx", [True, False])
def test_auto_picks_bf16_only_on_a_cpu_with_amx(monkeypatch, amx):
    monkeypatch.setattr(cpu, "has_amx", lambda: amx)
    assert dip.pick_precision("auto", CPU) is (torch.bfloat16 if amx else None)
    assert dip.pick_precision("auto", CPU, dip.nets.spec("paper")) is (torch.bfloat16 if amx else None)
    for wide in ("lesson-text", "lesson-pixels"):  # 32 channels at the finest scales: faster in bf16
        assert dip.pick_precision("auto", CPU, dip.nets.spec(wide)) is (torch.bfloat16 if amx else None)
    assert dip.pick_precision("auto", CPU, dip.nets.spec("lesson")) is None  # 16 channels: slower in bf16
    assert dip.pick_precision("auto", CPU, dip.NetSpec(down=(16, 32, 32), up=(32,) * 3, skip=(4,) * 3)) is None
    assert dip.pick_precision("bfloat16", CPU, dip.nets.spec("lesson")) is torch.bfloat16  # asked for, it is bf16
    assert dip.pick_precision("auto", torch.device("cuda")) is None  # measured slower on a GPU
    assert dip.pick_precision("auto", torch.device("mps")) is None


@pytest.mark.parametrize(("precision", "device"), [("half", CPU), ("bf16", CPU), ("bfloat16", torch.device("mps"))])
def test_precisions_the_loop_cannot_run_are_refused_in_one_line(precision, device):
    with pytest.raises(dip.DipError, match=f"precision {precision!r}|precision bfloat16 on mps"):
        dip.pick_precision(precision, device)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [("fpu avx512f amx_bf16 amx_tile amx_int8 avx512_bf16", True), ("fpu avx512f avx512_bf16", False)],
)
def test_amx_is_read_from_the_cpu_flags(tmp_path, flags, expected):
    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    assert cpu.has_amx(info) is (expected and torch.backends.mkldnn.is_available())
    assert cpu.has_amx(tmp_path / "absent") is False  # not Linux: no flags to read


def test_a_bf16_fit_keeps_float32_weights_and_record_and_tracks_the_float32_fit(astronaut64):
    problem = dip.noisy(astronaut64, 25)
    exact = dip.fit(problem, "tiny", iters=60, device="cpu", checkpoints=(30,), precision="float32")
    half = dip.fit(problem, "tiny", iters=60, device="cpu", checkpoints=(30,), precision="bfloat16")
    assert exact.config["precision"] == "float32" and half.config["precision"] == "bfloat16"
    assert all(p.dtype == torch.float32 for p in half.net.parameters())  # autocast: the weights stay float32
    conv = next(m for m in half.net.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)  # oneDNN's fast bf16 layout
    for key in ("loss", "psnr", "psnr_ema", "psnr_obs"):
        assert half.history[key].dtype == np.float64 and np.isfinite(half.history[key]).all()
    assert not np.array_equal(half.history["loss"], exact.history["loss"])  # the setting took effect
    # the same fit to within bf16's rounding: the PSNRs against the clean image stay close all the way
    assert np.abs(half.history["psnr"] - exact.history["psnr"]).max() < 1.0
    assert half.snapshots[0].psnr == pytest.approx(exact.snapshots[0].psnr, abs=1.0)
    assert half.final.out.dtype == exact.final.out.dtype and half.final.out.shape == exact.final.out.shape


def test_the_command_line_passes_the_precision_and_refuses_others(capsys, tmp_path):
    summary = tmp_path / "run.json"
    base = ["run", "--task", "denoise", "--image", "builtin:astronaut", "--size", "64", "--preset", "tiny"]
    assert cli.main([*base, "--resize", "--iters", "5", "--precision", "bfloat16", "--json", str(summary)]) == 0
    assert '"precision": "bfloat16"' in summary.read_text()
    capsys.readouterr()
    assert cli.main([*base, "--precision", "float16"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dip-edu: error: ") and "float16" in err[0]


def test_the_panel_fits_at_its_precision_and_says_when_it_is_bf16():
    panel = dip.Panel(task="denoise", size=64, preset="tiny", iters=5, precision="bfloat16")
    run = panel.run()
    assert run.config["precision"] == "bfloat16" and "(bf16 convolutions)" in panel.status.value
    run = panel.run(precision="float32")  # a notebook may ask for another per run
    assert run.config["precision"] == "float32" and "bf16" not in panel.status.value


@pytest.mark.parametrize("amx", [True, False])
def test_the_setup_check_says_which_precision_the_fits_will_use(monkeypatch, amx):
    from dip_edu import lessons

    monkeypatch.setattr(cpu, "has_amx", lambda: amx)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    info = lessons.environment()
    assert info["convolutions"].startswith("bf16 for networks 32 channels wide" if amx else "float32")
