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


def test_announce_times_each_network_once_and_adds_up_the_runs(monkeypatch, capsys):
    timed = []

    def fake(net, size, seconds):
        timed.append(net)
        return {"lesson": 0.01, "lesson-text": 0.02, "lesson-pixels": 0.03}[net]

    monkeypatch.setattr(lessons, "seconds_per_iter", fake)
    _, iters = lessons.budget("03")
    assert lessons.announce("03") == pytest.approx((0.02 + 0.03 + 0.01) * iters / 60)
    assert sorted(timed) == ["lesson", "lesson-pixels", "lesson-text"] and "3 run(s)" in capsys.readouterr().out
    timed.clear()
    assert lessons.announce("03", preset="lesson") == pytest.approx(3 * 0.01 * iters / 60)
    assert timed == ["lesson"]
