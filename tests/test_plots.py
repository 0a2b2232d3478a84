"""The figures read on a projector and for colour-blind eyes: text large enough, curves told apart by style too."""

import matplotlib.colors as mcolors

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
