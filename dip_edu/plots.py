"""Views of a run: the paper-style progression strip, loss and PSNR curves with the peak marked, image grids."""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .errors import require
from .fit import DEFAULT_CHECKPOINTS
from .run import Run

# Okabe and Ito's palette, told apart by people with any common colour blindness; every curve also has its own
# line style or marker, so it reads in grey on a washed-out projector too.
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#555555"
STYLES = [(BLUE, "-"), (ORANGE, "--"), (GREEN, "-."), (VERMILLION, ":"), (PURPLE, (0, (5, 1, 1, 1)))]
FONT = {"font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11, "legend.fontsize": 10}  # from a room's back


def _readable(make):
    """Draw a figure with its text at `FONT` sizes (matplotlib reads the sizes as each piece of text is made)."""

    @functools.wraps(make)
    def drawn(*args, **kwargs):
        with matplotlib.rc_context(FONT):
            return make(*args, **kwargs)

    return drawn


def _show(ax, img: np.ndarray, title: str) -> None:
    ax.imshow(np.clip(img[..., 0] if img.shape[-1] == 1 else img, 0, 1), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=FONT["axes.titlesize"])
    ax.axis("off")


def _db(value: float | None) -> str:
    return "" if value is None or not np.isfinite(value) else f"\n{value:.2f} dB"


@_readable
def _strip(panels: list[tuple[str, np.ndarray]]) -> Figure:
    """One row of titled images."""
    fig = Figure(figsize=(2.2 * len(panels), 2.8))
    for ax, (title, img) in zip(np.atleast_1d(fig.subplots(1, len(panels))), panels, strict=True):
        _show(ax, img, title)
    fig.tight_layout()
    return fig


def preview_of(run: Run) -> np.ndarray:
    """The observation at output size (bicubic for super-resolution), as the progression strip shows it."""
    if run.observation.shape == run.final.out.shape:
        return run.observation
    from skimage.transform import resize

    return resize(run.observation, run.final.out.shape, order=3).clip(0, 1)


@_readable
def progression_figure(run: Run, iters: Sequence[int] | None = None, use_average: bool = False) -> Figure:
    """corrupted · snapshots (0 · 500 · 1500 · 2500 · 8000 by default) · original, each titled with its PSNR."""
    if iters is None:  # the paper's checkpoints when the run has them (a replay has one every 250), else all
        paper = [s.iter for s in run.snapshots if s.iter in (0, *DEFAULT_CHECKPOINTS)]
        iters = paper + [run.final.iter] if len(paper) > 1 else [s.iter for s in run.snapshots]
    snaps = [s for s in run.snapshots if s.iter in set(iters)] or run.snapshots
    first = "target" if run.task == "reconstruct" else "corrupted"  # lesson 01 fits clean targets, damaging nothing
    panels = [(first + _db(run.config.get("psnr_input")), preview_of(run))]
    for s in snaps:
        img, value = (s.ema, s.psnr_ema) if use_average else (s.out, s.psnr)
        panels.append((f"iteration {s.iter}" + _db(value), img))
    if run.clean is not None:
        panels.append(("original", run.clean))
    return _strip(panels)


@_readable
def curves_figure(run: Run | dict, ax_size: tuple[float, float] = (9, 4.0)) -> Figure:
    """Loss (log scale) and PSNR against the clean image over iterations; the peaks of the output's and of the
    average's PSNR are marked.

    Overfitting reads off this plot: the loss keeps falling while the PSNR rises, peaks and falls.
    Accepts a Run or a live history dict (as a fit's callback sees it).
    """
    history = run.history if isinstance(run, Run) else run
    fig = Figure(figsize=ax_size)
    left, right = fig.subplots(1, 2)
    it = history["iter"]
    left.semilogy(it, history["loss"], color=GREY, lw=1)
    left.set(xlabel="iteration", ylabel="loss (MSE to the observation)", title="loss keeps falling")
    if len(it) and np.isfinite(history["psnr"]).any():
        right.plot(it, history["psnr"], color=BLUE, lw=1, alpha=0.6, label="output")
        right.plot(it, history["psnr_ema"], color=ORANGE, lw=2, ls="--", label="average of outputs")
        # Both peaks: lessons score the output at some points and the average at others, and the two can peak
        # far apart (the average lags the output, and keeps climbing while the output overfits).
        for series, name, marker, colour in (("psnr", "output", "v", VERMILLION), ("psnr_ema", "average", "o", ORANGE)):
            if np.isfinite(history[series]).any():
                k = int(np.nanargmax(history[series]))
                label = f"{name}'s peak {history[series][k]:.2f} dB, iteration {it[k]}"
                right.plot(it[k], history[series][k], marker, color=colour, mec="black", ms=9, label=label)
        lo = np.nanpercentile(history["psnr"], 5)
        right.set_ylim(lo - 1, np.nanmax(history["psnr_ema"].tolist() + history["psnr"].tolist()) + 1)
        early = run.early_stop if isinstance(run, Run) else None
        if early and early.get("iter"):
            right.axvline(early["iter"], color=GREEN, ls=":", lw=2, label=f"ES-WMV stop ({early['iter']})")
        right.set(xlabel="iteration", ylabel="PSNR to the clean image (dB)", title=psnr_story(history))
        handles, labels = right.get_legend_handles_labels()  # below both plots: never over the curves
        columns = 2 if len(handles) <= 4 else 3
        fig.legend(handles, labels, loc="lower center", ncol=columns, frameon=False)
        rows = -(-len(handles) // columns)
        fig.tight_layout(rect=(0, (0.22 * rows + 0.1) / ax_size[1], 1, 1))  # a legend row takes about 0.22 inch
        return fig
    right.plot(it, history["psnr_obs"], color=BLUE, lw=1)
    right.set(xlabel="iteration", ylabel="PSNR to the observation (dB)", title="no clean image to compare")
    fig.tight_layout()
    return fig


@_readable
def early_stopping_figure(run: Run) -> Figure:
    """What ES-WMV watched and where it stopped: the windowed variance of the outputs and the PSNR, with the stop,
    the true peak and the end marked; below, the output at each of the three."""
    history, early, peak = run.history, run.early_stop, run.peak()
    require("variance" in history and early, "this run did not watch for early stopping: fit with early_stop=True")
    fig = Figure(figsize=(9, 6.2))
    grid = fig.add_gridspec(2, 3, height_ratios=(1.1, 1))
    top = fig.add_subplot(grid[0, :])
    top.semilogy(history["iter"], history["variance"], color=PURPLE, lw=1.5, label="variance of the last W outputs")
    top.set(xlabel="iteration", ylabel="windowed variance")
    psnr = top.twinx()
    psnr.plot(history["iter"], history["psnr"], color=BLUE, lw=1, alpha=0.5, label="PSNR (needs the clean image)")
    psnr.set_ylabel("PSNR (dB)")
    marks = [("ES-WMV keeps", early["iter"], GREEN, ":")]
    watched = np.flatnonzero(np.isfinite(history["variance"]))
    if early.get("triggered") and len(watched):  # it noticed the minimum P iterations late, and stopped watching
        marks.append(("ES-WMV stops", int(history["iter"][watched[-1]]), GREEN, "-"))
    if peak:
        marks.append(("true peak", peak[0], VERMILLION, "--"))
    marks.append(("end", run.iters, GREY, "-."))
    for label, k, colour, style in marks:
        top.axvline(k, color=colour, ls=style, lw=2, label=f"{label} ({k})")
    lines = top.get_legend_handles_labels()[0] + psnr.get_legend_handles_labels()[0]
    top.legend(lines, [line.get_label() for line in lines], loc="upper right", fontsize=9)
    top.set_title(
        "ES-WMV watches only the outputs: it stops once their variance has not fallen for P iterations,\n"
        "and keeps the output where the variance was lowest"
    )
    images = [(f"ES-WMV's pick, iteration {early['iter']}", run.early_image, early.get("psnr"))]
    if peak:
        near = run.snapshot(peak[0])
        images.append((f"near the peak, iteration {near.iter}", near.out, near.psnr))
    images.append((f"the end, iteration {run.final.iter}", run.final.out, run.final.psnr))
    for i, (title, img, value) in enumerate(images):
        _show(fig.add_subplot(grid[1, i]), img, title + _db(value))
    fig.tight_layout()
    return fig


@_readable
def network_figure(spec, title: str = "") -> Figure:
    """The hourglass as a picture: the way down (stride-2 convolutions) on the left, the way up (upsampling) on the
    right, a skip connection across at each scale that has one, the channel count and map size in every box."""
    from .nets import spec as make_spec

    s = make_spec(spec)
    n = s.depth
    fig = Figure(figsize=(0.8 * (2 * n + 3), 1.0 + 0.8 * (n + 1)))
    ax = fig.subplots()
    ax.set_xlim(-0.8, 2 * n + 2.1)
    ax.set_ylim(-n - 0.6, 0.6)
    ax.axis("off")

    def box(x, y, text, colour):
        ax.text(x, y, text, ha="center", va="center", fontsize=9, zorder=3,
                bbox={"boxstyle": "round,pad=0.3", "fc": colour, "ec": GREY})  # fmt: skip

    def arrow(a, b, colour=GREY, style="-"):
        ax.annotate("", b, a, zorder=2, arrowprops={"arrowstyle": "->", "color": colour, "ls": style, "lw": 1.5,
                                                     "shrinkA": 14, "shrinkB": 14})  # fmt: skip

    # level i takes its input at (i, -i): z, or the way down's box above it; its skip goes across to (2n - i, -i)
    box(0, 0, f"z\n{s.input_depth} ch", "#FFFFFF")
    box(2 * n + 1.3, 0, "x = f(z)\nthe image", "#FFFFFF")
    arrow((2 * n, 0), (2 * n + 1.3, 0))
    for i in range(n):
        down, up = (i + 1, -(i + 1)), (2 * n - i, -i)
        box(*down, f"↓ {s.down[i]} ch\n1/{2 ** (i + 1)}", "#DCEBF7")
        box(*up, f"↑ {s.up[i]} ch\n1/{2**i}", "#FBE8C8")
        arrow((i, -i), down)
        arrow(down if i == n - 1 else (2 * n - i - 1, -(i + 1)), up)
        if s.skip[i]:
            arrow((i, -i), up, GREEN, "--")
            ax.text(i + 0.45, -i + 0.12, f"skip: {s.skip[i]} ch", color=GREEN, ha="left", fontsize=9)
    ax.set_title(title or f"{n} scales, {s.upsample} upsampling, {'with' if any(s.skip) else 'no'} skip connections")
    fig.tight_layout()
    return fig


def psnr_story(history: dict) -> str:
    """What the PSNR curve did, in a few words: still rising at the end, or peaked and fell by how much."""
    psnr = np.asarray(history["psnr"], dtype=float)
    if not np.isfinite(psnr).any():
        return "no clean image to compare"
    k = int(np.nanargmax(psnr))
    drop = float(psnr[k] - psnr[-1])
    if drop < 0.1:
        return "PSNR still rising at the end"
    return f"PSNR peaks at iteration {history['iter'][k]},\nthen falls {drop:.1f} dB"


@_readable
def grid_figure(images: dict[str, np.ndarray], columns: int = 4, side: float = 2.4) -> Figure:
    """Images in a grid, each titled by its key."""
    n = len(images)
    rows = (n + columns - 1) // columns
    fig = Figure(figsize=(side * min(n, columns), side * rows + 0.4))
    axes = np.atleast_1d(fig.subplots(rows, min(n, columns))).ravel()
    for ax, (title, img) in zip(axes, images.items(), strict=False):
        _show(ax, img, title)
    for ax in axes[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


@_readable
def comparison_figure(problem, run: Run | None = None, names: Sequence[str] | None = None) -> Figure:
    """corrupted · DIP (average of outputs) · each classical method · original, each with its PSNR."""
    from . import baselines

    damaged = "observed, enlarged" if problem.factor > 1 else "corrupted"  # a small image is shown at full size
    panels = [(damaged + _db(problem.psnr_input), problem.preview())]
    if run is not None:
        panels.append(("DIP (average)" + _db(problem.score(run.final.ema)), run.final.ema))
    for r in baselines.compare(problem, list(names) if names else None):
        panels.append((r.name + _db(r.psnr), r.image))
    if problem.clean is not None:
        panels.append(("original", problem.clean))
    return _strip(panels)


@_readable
def downsampler_figure(factor: int) -> Figure:
    """The super-resolution operator d as a picture: its Lanczos taps along one axis, and the square window of
    weights one small pixel takes from the large image (the taps' outer product)."""
    from .problem import lanczos_kernel

    taps = lanczos_kernel(factor)
    offsets = np.arange(len(taps)) - (len(taps) - 1) / 2
    fig = Figure(figsize=(9, 3.2))
    left, right = fig.subplots(1, 2, width_ratios=(1.6, 1))
    left.axhline(0, color=GREY, lw=0.8)
    left.vlines(offsets, 0, taps, color=BLUE, lw=2)
    left.plot(offsets, taps, "o", color=BLUE)
    left.axvspan(-factor / 2, factor / 2, color=ORANGE, alpha=0.25, label=f"the {factor} pixels it stands for")
    left.set_xlabel("large-image pixel, from the small pixel's centre")
    left.set_ylabel("weight")
    left.set_title(f"{len(taps)} Lanczos taps; negative lobes sharpen")
    left.legend(loc="upper left")
    window = np.outer(taps, taps)
    limit = float(np.abs(window).max())
    right.imshow(window, cmap="RdBu_r", vmin=-limit, vmax=limit)
    right.set_title(f"one small pixel's {len(taps)}×{len(taps)} window")
    right.axis("off")
    fig.tight_layout()
    return fig


@_readable
def learning_curves_figure(runs: dict[str, Run]) -> Figure:
    """MSE to the fitted target against iterations, one line per run (the paper's Fig. 2)."""
    fig = Figure(figsize=(6.5, 4))
    ax = fig.subplots()
    for (label, run), (colour, style) in zip(runs.items(), STYLES * len(runs), strict=False):
        ax.loglog(run.history["iter"], run.history["loss"], color=colour, ls=style, lw=2, label=label)
    ax.set(xlabel="iteration", ylabel="MSE to the target", title="how fast the network fits each target")
    ax.legend()
    fig.tight_layout()
    return fig


def png(fig: Figure, dpi: int = 80) -> bytes:
    """A figure as PNG bytes (for widgets), without touching pyplot's state."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _display(fig: Figure, alt: str) -> None:
    """Show a figure in a notebook as a PNG, with `alt` as its text alternative; elsewhere do nothing.

    The figures here never touch pyplot, so IPython may have no formatter for them (then a notebook would print
    ``<Figure size ...>``): the PNG is sent explicitly. Scripts use the ``*_figure`` functions instead.
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    if get_ipython() is not None:
        display({"image/png": png(fig, dpi=100), "text/plain": alt}, raw=True)


def _peak_text(run: Run) -> str:
    peak, average = run.peak(), run.peak("psnr_ema")
    text = f"; best PSNR {peak[1]:.2f} dB at iteration {peak[0]}" if peak else ""
    return text + (f", the average's best {average[1]:.2f} dB at iteration {average[0]}" if average else "")


def show_progression(run: Run, iters: Sequence[int] | None = None, use_average: bool = False) -> None:
    """Show the progression strip in a notebook (`progression_figure` returns it for a script)."""
    fig = progression_figure(run, iters, use_average)
    shown = [s for s in run.snapshots if iters is None or s.iter in set(iters)] or run.snapshots
    values = ", ".join(
        f"{s.iter}: {(s.psnr_ema if use_average else s.psnr):.2f} dB"
        for s in shown
        if (s.psnr_ema if use_average else s.psnr) is not None
    )
    _display(fig, f"progression of {run.status} run of {run.iters} iterations (PSNR by iteration: {values})")


def show_curves(run: Run) -> None:
    """Show the loss and PSNR curves with the peak marked (`curves_figure` returns them for a script)."""
    _display(curves_figure(run), f"loss and PSNR curves over {run.iters} iterations{_peak_text(run)}")


def show_comparison(problem, run: Run | None = None, names: Sequence[str] | None = None) -> None:
    """Show DIP beside the classical methods for the same problem (see `comparison_figure`)."""
    fig = comparison_figure(problem, run, names)
    _display(fig, "comparison: " + ", ".join(ax.get_title().replace("\n", " ") for ax in fig.axes))


def show_images(images: dict[str, np.ndarray], columns: int = 4) -> None:
    """Show images side by side with their titles (`grid_figure` returns them for a script)."""
    _display(grid_figure(images, columns), "images: " + "; ".join(t.replace("\n", " ") for t in images))


def show_early_stopping(run: Run) -> None:
    """Show what ES-WMV watched and where it stopped (`early_stopping_figure` returns it for a script)."""
    early, peak = run.early_stop or {}, run.peak()
    at_peak = f"; the true peak {peak[1]:.2f} dB at iteration {peak[0]}" if peak else ""
    stop = f"ES-WMV stop at iteration {early.get('iter')}" + (
        f" ({early['psnr']:.2f} dB)" if early.get("psnr") is not None else ""
    )
    _display(early_stopping_figure(run), f"windowed variance and PSNR over {run.iters} iterations; {stop}{at_peak}")


def show_network(spec, title: str = "") -> None:
    """Show the network as a picture (`network_figure` returns it for a script)."""
    from .nets import spec as make_spec

    s = make_spec(spec)
    skips = ", ".join(str(k) for k in s.skip)
    alt = f"hourglass of {s.depth} scales: down {s.down}, up {s.up}, skip channels {skips}, input {s.input_depth} ch"
    _display(network_figure(s, title), alt)


def show_downsampler(factor: int) -> None:
    """Show the Lanczos downsampler d of a super-resolution ×`factor` (`downsampler_figure` returns it)."""
    from .problem import lanczos_kernel

    taps = lanczos_kernel(factor)
    alt = f"Lanczos downsampler ×{factor}: {len(taps)} taps " + ", ".join(f"{t:.3f}" for t in taps)
    _display(downsampler_figure(factor), alt)


def show_learning_curves(runs: dict[str, Run]) -> None:
    """Show several runs' loss curves on one log-log plot (`learning_curves_figure` returns it)."""
    finals = "; ".join(f"{label}: MSE {run.history['loss'][-1]:.5f}" for label, run in runs.items())
    _display(learning_curves_figure(runs), f"loss curves, final values: {finals}")
