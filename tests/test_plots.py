"""The figures read on a projector and for colour-blind eyes: text large enough, curves told apart by style too."""

import matplotlib.colors as mcolors
import numpy as np
import pytest

import dip_edu as dip
from dip_edu import plots

OKABE_ITO = {plots.BLUE, plots.ORANGE, plots.GREEN, plots.VERMILLION, plots.PURPLE, plots.GREY}


def _texts(fig):
    return [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text")) if t.get_text()]


def test_curves_differ_in_style_and_use_the_colour_blind_safe_palette(astronaut64):
    run = dip.fit(dip.noisy(astronaut64, 25), "tiny", iters=60, checkpoints=(), early_stop=True)
    run.early_stop = {"iter": 30, "psnr": 20.0, "triggered": True}
    fig = plots.curves_figure(run)
    lines = [line for ax in fig.axes for line in ax.get_lines() if len(line.get_xdata())]
    colours = {mcolors.to_hex(line.get_color()).upper() for line in lines}
    assert colours <= {c.upper() for c in OKABE_ITO}, colours
    right = fig.axes[1].get_lines()
    looks = {(line.get_linestyle(), line.get_marker()) for line in right}
    assert len(looks) == len(right), "two curves differ only in colour"
    assert min(t.get_fontsize() for t in _texts(fig)) >= 10


def test_learning_curves_pair_each_colour_with_its_own_line_style():
    runs = {name: dip.load_replay(key) for name, key in (("image", "01-reconstruct"), ("noise", "01-noise"))}
    fig = plots.learning_curves_figure({**runs, "image again": runs["image"], "noise again": runs["noise"]})
    lines = fig.axes[0].get_lines()
    assert len({line.get_linestyle() for line in lines}) == len(lines) == 4
    assert min(t.get_fontsize() for t in _texts(fig)) >= 10


def test_strip_titles_are_readable():
    fig = plots.progression_figure(dip.load_replay("02-denoise"))
    assert min(t.get_fontsize() for t in _texts(fig)) >= 10


def test_a_run_that_watched_for_early_stopping_keeps_the_variance_and_shows_it(astronaut64, tmp_path):
    problem = dip.noisy(astronaut64, 25)
    run = dip.fit(problem, "tiny", iters=300, early_stop=dip.EsWmv(window=10, patience=50), checkpoints=(150,))
    variance = run.history["variance"]
    assert len(variance) == run.iters and np.isnan(variance[:9]).all() and np.isfinite(variance[9]).all()
    assert variance[run.early_stop["iter"] - 1] == np.nanmin(variance)  # the pick is the lowest variance
    back = dip.Run.load(run.save(tmp_path / "run"))
    assert np.array_equal(back.history["variance"], variance, equal_nan=True)
    fig = plots.early_stopping_figure(run)
    assert len(fig.axes) == 5  # the curves (variance and PSNR) and three images: the pick, near the peak, the end
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert any(label.startswith(f"ES-WMV keeps ({run.early_stop['iter']})") for label in labels)
    assert "variance" not in dip.fit(problem, "tiny", iters=5, checkpoints=()).history
    with pytest.raises(dip.DipError, match="early_stop=True"):
        plots.early_stopping_figure(dip.fit(problem, "tiny", iters=5, checkpoints=()))


def test_the_network_picture_draws_a_box_per_scale_and_a_skip_only_where_there_is_one():
    def drawn(spec):
        fig = plots.network_figure(spec)
        texts = [t.get_text() for t in fig.axes[0].texts]
        return sum(t.startswith(("↓", "↑")) for t in texts), sum(t.startswith("skip") for t in texts)

    assert drawn("lesson") == (10, 5)
    assert drawn(dip.hourglass("lesson")) == (10, 0)
    assert drawn(dip.spec("lesson", down=(16,) * 3, up=(16,) * 3, skip=(4, 0, 4))) == (6, 2)
