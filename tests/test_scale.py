"""The scale the lessons run at: lesson networks on a CPU, the paper network on a CUDA GPU, DIP_EDU_SCALE over both."""

import pytest
import torch

import dip_edu as dip
from dip_edu import lessons, scale


@pytest.fixture
def on(monkeypatch):
    """on("cuda") or on("cpu"): CUDA present or not, no DIP_EDU_SCALE, outside the test mode."""

    def machine(kind: str) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: kind == "cuda")
        monkeypatch.delenv(scale.ENV, raising=False)
        monkeypatch.setattr(lessons, "TEST_MODE", False)

    return machine


def test_on_a_cpu_nothing_changes(on):
    on("cpu")
    assert scale.current() == "lesson"
    assert {key: lesson.budget for key, lesson in lessons.LESSONS.items()} == {
        key: (lesson.size, lesson.iters) for key, lesson in lessons.LESSONS.items()
    }
    assert lessons.networks("03") == ["lesson-text", "lesson-pixels", "lesson"]
    assert lessons.networks("02") == ["lesson"] and lessons.budget("02") == (128, 8000)
    assert dip.Panel(task="inpaint-text", size=64, iters=5).preset.value == "lesson-text"


def test_on_a_gpu_the_paper_network_at_the_side_that_keeps_the_headers_minutes(on):
    on("cuda")
    assert scale.current() == "paper"
    for key, lesson in lessons.LESSONS.items():
        side, iters = lessons.budget(key)
        assert iters == lesson.iters and side % 32 == 0 and side >= lesson.size
        assert set(lessons.networks(key)) == {"paper"}
        runs = len(lesson.run_tasks) * iters
        minutes = runs * scale.teaching_gpu_seconds(side) / 60
        assert minutes <= lesson.cpu_minutes or side == lesson.size, key  # within the header, or its own side
        bigger = [s for s in scale.SIDES if s > side]
        if bigger:  # and the next side up would not be
            assert runs * scale.teaching_gpu_seconds(bigger[0]) / 60 > lesson.cpu_minutes, key
    assert lessons.LESSONS["03"].paper_size > 128  # three runs, five minutes: room for a larger image


def test_the_headers_minutes_are_the_lesson_scale_prediction_at_the_intel_paces(on):
    on("cpu")
    minutes = lessons.expected_minutes(lessons.CPU_PACE["lesson"], lessons.CPU_PACE)
    assert {key: lesson.cpu_minutes for key, lesson in lessons.LESSONS.items()} == pytest.approx(minutes)


def test_the_environment_overrides_either_way_and_a_bad_value_is_one_line(on, monkeypatch):
    on("cuda")
    monkeypatch.setenv(scale.ENV, "lesson")
    assert scale.current() == "lesson" and lessons.networks("02") == ["lesson"]
    on("cpu")
    monkeypatch.setenv(scale.ENV, "paper")
    assert scale.current() == "paper" and lessons.budget("03") == (lessons.LESSONS["03"].paper_size, 3000)
    monkeypatch.setenv(scale.ENV, "huge")
    with pytest.raises(dip.DipError) as error:
        lessons.budget("02")
    assert str(error.value) == "DIP_EDU_SCALE='huge': choose lesson or paper (or unset it)"


def test_the_test_mode_still_shrinks_the_budget_at_either_scale(on, monkeypatch):
    for kind in ("cpu", "cuda"):
        on(kind)
        monkeypatch.setattr(lessons, "TEST_MODE", True)
        assert all(lesson.budget == (lesson.test_size, lesson.test_iters) for lesson in lessons.LESSONS.values())


def test_the_panels_network_follows_the_scale_and_the_task(on):
    on("cuda")
    panel = dip.Panel(task="inpaint-text", size=64, iters=5)
    assert panel.preset.value == "paper"
    panel.task.value = "denoise"
    assert panel.preset.value == "paper"
    assert dip.Panel(task="denoise", size=64, iters=5, preset="tiny").preset.value == "tiny"  # a choice stays


def test_the_timing_cell_says_which_scale_it_picked(on, monkeypatch, capsys):
    timed = []
    monkeypatch.setattr(lessons, "block_paces", lambda net, size, seconds: timed.append((net, size)) or [0.01] * 5)
    on("cuda")
    lessons.announce("03")
    out = capsys.readouterr().out
    side = lessons.LESSONS["03"].paper_size
    assert f"Scale: paper (a CUDA GPU is here): network paper at {side}×{side}" in out
    assert timed == [("paper", side)]  # the timing measures what the lesson will run
    on("cpu")
    lessons.announce("02")
    assert "Scale: lesson (no CUDA GPU here): network lesson at 128×128" in capsys.readouterr().out


def test_the_estimate_starts_from_the_h100_measurements_and_grows_with_the_pixels():
    assert scale.teaching_gpu_seconds(512) == pytest.approx(scale.H100_MS[512] / 1000 * scale.T4_SLOWDOWN)
    assert scale.teaching_gpu_seconds(256) == pytest.approx(scale.H100_MS[256] / 1000 * scale.T4_SLOWDOWN)
    times = [scale.teaching_gpu_seconds(side) for side in scale.SIDES]
    assert times == sorted(times) and times[0] >= scale.LAUNCH_FLOOR_MS / 1000
    assert scale.paper_side(10**9, 1.0, least=96) == 96  # nothing fits: the lesson's own side


def test_the_flop_count_behind_the_estimate():
    # counted at 64×64 (seconds on a CPU); every layer's work is proportional to its map's area
    assert scale.count_gflop("paper", 64) * 4 == pytest.approx(scale.PAPER_GFLOP_128, rel=2e-3)
    assert scale.gflop(512) == pytest.approx(16 * scale.PAPER_GFLOP_128)
