"""The lessons' time predictions: each run is timed with the network its task uses."""

import pytest

from dip_edu import lessons


def test_each_run_of_a_lesson_gets_its_tasks_network():
    assert lessons.networks("03") == ["lesson-text", "lesson-pixels", "lesson"]
    assert lessons.networks("02") == ["lesson"] and lessons.networks("01") == ["lesson"] * 4


def test_a_wider_network_lengthens_the_prediction_by_its_share():
    base = lessons.expected_minutes(0.03)
    wider = lessons.expected_minutes(0.03, {"lesson-text": 0.06, "lesson-pixels": 0.06})
    side, iters = lessons.budget("03")
    one_run_more = 2 * 0.03 * (side / 128) ** 2 * iters / 60  # the text and pixel runs at twice the pace
    assert wider["03"] - base["03"] == pytest.approx(one_run_more)
    assert all(wider[key] == base[key] for key in base if key != "03")


def test_the_estimate_times_each_network_once_and_adds_up_the_runs(monkeypatch):
    timed = []

    def fake(net, size, seconds):
        timed.append(net)
        return [{"lesson": 0.01, "lesson-text": 0.02, "lesson-pixels": 0.03}[net]] * 5

    monkeypatch.setattr(lessons, "block_paces", fake)
    side, iters = lessons.budget("03")
    scale = (128 / side) ** 2 * (side / 128) ** 2  # timed at the lesson's side, predicted at it too
    assert lessons.estimate("03").minutes == pytest.approx((0.02 + 0.03 + 0.01) * scale * iters / 60)
    assert sorted(timed) == ["lesson", "lesson-pixels", "lesson-text"]
    timed.clear()
    assert lessons.estimate("03", preset="lesson").minutes == pytest.approx(3 * 0.01 * iters / 60)
    assert timed == ["lesson"]


def test_one_slow_timing_on_a_busy_machine_widens_the_range_but_not_the_estimate(monkeypatch, capsys):
    steady = [0.010, 0.011, 0.009, 0.010, 0.010]
    monkeypatch.setattr(lessons, "block_paces", lambda net, size, seconds: steady)
    calm = lessons.estimate("02")
    monkeypatch.setattr(lessons, "block_paces", lambda net, size, seconds: [0.010, 0.011, 0.009, 0.010, 0.200])
    busy = lessons.estimate("02")
    assert busy.minutes == pytest.approx(calm.minutes)  # the median ignores the one slow block
    assert busy.high > 15 * calm.high and busy.low == pytest.approx(calm.low)
    assert lessons.announce("02") is None  # a lesson's first cell prints, and shows no bare number
    assert f"{busy.minutes:.1f}" in capsys.readouterr().out


def test_block_paces_time_a_real_fit_in_equal_blocks():
    paces = lessons.block_paces("lesson", size=64, seconds=0.5)
    assert len(paces) == 5 and all(p > 0 for p in paces)
    assert max(paces) < 20 * min(paces)  # blocks of the same fit on an idle machine are alike
