"""ipywidgets panels: thin views over the same API a script uses (load → degrade → fit → Run → plots).

`Panel` holds an image picker, corruption controls with a live preview, Run / Stop, a live view while the fit runs,
a scrubber over the snapshots and the progression strip. The fit always runs in a background thread. A notebook
cell waits for it with `await panel.run_async()`: while the cell awaits, the kernel still handles the panel's
clicks, so Stop works even while the notebook runs all its cells (a blocking `panel.run()` cannot hear Stop until
it returns; Kernel ▸ Interrupt stops either and keeps the partial run). Every view shows one problem: a change of
setting clears the views of the run made for the old one, and a replay fills every view, its settings included.
"""

from __future__ import annotations

import contextlib
import threading
import time

import ipywidgets as W
import numpy as np

from . import baselines, images, lessons, plots, replay
from . import tasks as registry
from .errors import DipError, quiet_notices
from .fit import DEFAULT_CHECKPOINTS, Progress, fit
from .nets import PRESETS
from .problem import Problem
from .run import Run
from .scale import current as current_scale
from .scale import network_for

TASKS = {name: task.label for name, task in registry.TASKS.items()}  # the panel's wording for each task
MAX_UPLOAD_MB = 15
REFRESH_SECONDS = 1.0  # live view refresh interval while a fit runs
LIVE, REPLAY = "Live", "Replay"  # the two modes (the button that starts a fit is "Run")
OWN_IMAGE = "(your image)"  # the picker's entry for an uploaded or given image
CURVES_COST_RATIO = 10  # redraw the live curves only after 10x their drawing time: at most ~10 % of the run
CURVES_SIZE = (8, 3.3)  # inches: the panel's curves, with room for their legend below


_BLANK = images.png_bytes(np.full((4, 4, 3), 0.94, np.float32))  # an empty frame, never a broken-image icon


def _image(width: int = 160) -> W.Image:
    return W.Image(
        value=_BLANK, format="png", layout=W.Layout(width=f"{width}px", height=f"{width}px", object_fit="contain")
    )


def _uploaded(upload: W.FileUpload, what: str) -> bytes | None:
    """The newest uploaded file's bytes, refusing files over the size limit."""
    if not upload.value:
        return None
    item = upload.value[-1]
    data = bytes(item["content"])
    size_mb = len(data) / 1e6
    if size_mb > MAX_UPLOAD_MB:
        raise DipError(f"{what} {item['name']!r}: {size_mb:.0f} MB; the limit is {MAX_UPLOAD_MB} MB")
    return data


class Panel(W.VBox):
    """Corrupt an image, run Deep Image Prior on it, watch it restore, scrub the snapshots.

    Parameters
    ----------
    task : str
        The task shown first: one of ``TASKS``.
    image : str
        ``builtin:NAME``, a path, or bytes of an image.
    size : int
        The side of the square image the panel works on.
    iters : int, optional
        Iterations of a live run (3000 when not given).
    preset : str, optional
        The network; None uses the one the lessons give each task at the current scale (`scale.network_for`:
        the task's lesson network, or the paper's on a CUDA GPU) and follows the task as it changes.
    tasks : tuple of str, optional
        The tasks the picker offers (all of them when not given).
    upload, draw : bool
        Offer an image upload, and a canvas to paint the region to restore.
    checkpoints : tuple of int
        Iterations at which a live run keeps a snapshot for the scrubber.
    seed, device, precision
        Passed to `fit`.
    """

    def __init__(
        self,
        task: str = "denoise",
        image: str = "builtin:astronaut",
        size: int = 128,
        iters: int | None = None,
        preset: str | None = None,
        tasks: tuple[str, ...] | None = None,
        upload: bool = False,
        draw: bool = False,
        checkpoints: tuple[int, ...] = DEFAULT_CHECKPOINTS,
        seed: int = 0,
        device: str = "auto",
        precision: str = "auto",
    ) -> None:
        tasks = tasks or tuple(TASKS)
        self.size, self.seed, self.device, self.precision = size, seed, device, precision
        self.checkpoints = checkpoints
        self.result: Run | None = None
        self.problem: Problem | None = None
        self._clean: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._image_name: str | None = None  # the bundled image loaded, None for the learner's own
        self._source_shape: tuple[int, int] = (0, 0)
        self._stop = threading.Event()
        self._replay_problem: Problem | None = None  # what the replay shown was fitted to (Replay mode)
        self._switching = False  # controls are being set from code: their observers leave the work to it
        self._thread: threading.Thread | None = None
        self._last_refresh = self._last_curves = self._curves_seconds = 0.0

        wide = {"description_width": "initial"}
        builtin = images.builtin_name(image)
        self.picker = W.Dropdown(options=images.builtin_names(), value=None, description="image")
        self.upload = W.FileUpload(
            accept="image/*", multiple=False, description="upload image", layout=W.Layout(width="auto")
        )
        self.mask_upload = W.FileUpload(
            accept="image/*", multiple=False, description="upload mask", layout=W.Layout(width="auto")
        )
        self.task = W.Dropdown(options=[(TASKS[t], t) for t in tasks], value=task, description="task")
        self.sigma = W.FloatSlider(value=25, min=0, max=100, step=5, description="noise σ (0-255)", style=wide)
        self.text = W.Text(value="Deep Image Prior", description="text")
        self.font_size = W.IntSlider(
            value=max(8, size // 10), min=6, max=max(12, size // 3), description="font size", style=wide
        )
        self.fraction = W.FloatSlider(value=0.5, min=0, max=0.95, step=0.05, description="pixels dropped", style=wide)
        self.box = [
            W.IntSlider(value=v, min=0, max=size, description=name)
            for name, v in zip(
                ("top", "left", "height", "width"), (3 * size // 8, 3 * size // 8, size // 4, size // 4), strict=True
            )
        ]
        self.mask_note = W.HTML()
        self.factor = W.Dropdown(options=[2, 4, 8], value=4, description="factor ×")
        # the network the lessons fit the task with at the current scale (dip_edu.scale): paper's on a CUDA GPU
        self.preset = W.Dropdown(options=list(PRESETS), value=preset or network_for(task), description="network")
        self.iters = W.BoundedIntText(value=iters or 3000, min=1, max=100_000, description="iterations")
        self.mode = W.ToggleButtons(
            options=[LIVE, REPLAY],
            value=LIVE,
            description="mode",
            tooltips=["fit here, now, with the Run button", "scrub a full 8000-iteration run computed ahead"],
        )
        # Which run Replay shows, where paper-scale replays ship: the lesson-scale one or the paper's own scale.
        paper = bool(replay.available(scale="paper"))
        self.replay_scale = W.ToggleButtons(
            options=[("lesson scale", "lesson"), ("paper scale", "paper")],
            value="paper" if paper and current_scale() == "paper" else "lesson",
            description="replay",
            tooltips=["128×128, the lesson network, made on a CPU", "512×512, the paper's network, made on a GPU"],
            layout=W.Layout(display=None if paper else "none"),
        )
        self.run_button = W.Button(description="Run", button_style="success", icon="play", tooltip="fit now")
        self.stop_button = W.Button(
            description="Stop", button_style="danger", icon="stop", disabled=True, tooltip="end the fit, keep it"
        )
        self.message = W.HTML()
        self.preview = _image()
        self.preview_label = W.HTML()
        self.progress = W.IntProgress(value=0, min=0, max=1, description="progress")
        self.status = W.HTML()
        self.live_out, self.live_avg = _image(), _image()
        self.live_curves = W.Image(format="png", layout=W.Layout(width="640px", display="none"))
        # Snapshots sit at uneven iterations, so the slider steps through them and the label beside it names the
        # iteration (the slider's own readout, an index, is hidden).
        self.scrubber = W.IntSlider(value=0, min=0, max=0, description="snapshot", readout=False)
        self.play = W.Play(value=0, min=0, max=0, interval=800, description="play")
        W.jslink((self.play, "value"), (self.scrubber, "value"))
        self.snapshot_view = _image(200)
        self.snapshot_label = W.HTML()
        self.strip = W.Image(format="png", layout=W.Layout(width="100%", display="none"))
        self.classic = W.ToggleButtons(options=["off"], value="off", description="classical", style=wide)
        self.classic_view = _image(200)
        self.classic_label = W.HTML()

        self._load_image(image)
        self._show_source(builtin if builtin in images.builtin_names() else None)
        self.painter = MaskPainter(self._clean, on_change=self._on_drawn) if draw else None
        drawn = [self.painter] if self.painter is not None else []

        self._controls = {
            "denoise": [self.sigma],
            "inpaint-text": [self.text, self.font_size],
            "inpaint-pixels": [self.fraction],
            "inpaint-region": [*self.box, self.mask_note, self.mask_upload, *drawn],
            "sr": [self.factor],
            "reconstruct": [],
        }
        for w in (self.picker, self.task, self.sigma, self.text, self.font_size, self.fraction, self.factor, *self.box):
            w.observe(self._on_change, names="value")
        self.upload.observe(lambda _: self._take_upload(self.upload, "upload", self.set_image), names="value")
        self.mask_upload.observe(lambda _: self._take_upload(self.mask_upload, "mask", self.set_mask), names="value")
        self.scrubber.observe(lambda change: self.show_snapshot(change["new"]), names="value")
        self.classic.observe(lambda change: self.show_classic(), names="value")
        self.task.observe(self._follow_task, names="value")
        self.mode.observe(self._on_mode, names="value")
        self.replay_scale.observe(self._on_replay_scale, names="value")
        self.run_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())

        chooser = [self.picker, self.upload] if upload else [self.picker]
        corruption = W.VBox([self.task, *[w for ws in self._controls.values() for w in ws]])
        buttons = W.HBox([self.run_button, self.stop_button])
        controls = W.VBox([*chooser, corruption, self.preset, self.iters, self.mode, self.replay_scale, buttons])
        observed = W.VBox([self.preview, self.preview_label])
        live = W.HBox(
            [W.VBox([W.HTML("<b>output</b>"), self.live_out]), W.VBox([W.HTML("<b>average</b>"), self.live_avg])]
        )
        classic = W.VBox([self.classic_view, self.classic_label])
        self._scrub = W.HBox(
            [W.VBox([self.play, self.scrubber, self.snapshot_label]), self.snapshot_view, classic],
            layout=W.Layout(display="none", flex_flow="row wrap"),
        )
        super().__init__(
            [
                W.HBox([controls, observed], layout=W.Layout(flex_flow="row wrap")),
                self.message,
                W.HBox([self.progress, self.status]),
                live,
                self.live_curves,
                self._scrub,
                self.classic,
                self.strip,
            ],
            layout=W.Layout(max_width="100%", overflow="hidden"),
        )
        self._rebuild()
        if lessons.replay_first() and replay.for_task(self.task.value) is not None:
            self.replay()  # presenting on a machine too slow for the room: the full run made earlier, at once

    # ---- the corruption and its preview ----

    def _load_image(self, source: images.Source | None = None) -> None:
        source = source if source is not None else f"builtin:{self.picker.value}"
        raw = images.read(source)
        self._clean = images.load(raw, size=self.size, resize=True)
        self._source_shape = raw.shape[:2]
        self._image_name = images.builtin_name(source)

    def _take_upload(self, upload: W.FileUpload, what: str, use) -> None:
        """Pass the newest upload's bytes to `use`; a file over the size limit is refused in the panel."""
        try:
            data = _uploaded(upload, what)
        except DipError as exc:
            self.say(str(exc), error=True)
            return
        if data is not None:
            use(data)

    def set_image(self, source: images.Source) -> bool:
        """Use another image (a path, bytes or builtin:NAME); on bad input say why and keep the current one.

        A mask belongs to the image it was made for, so a new image starts without one (back to the box).
        """
        previous = self._clean, self._source_shape, self._image_name, self._mask
        try:
            self._load_image(source)
        except DipError as exc:
            self.say(f"{exc} (kept the previous image)", error=True)
            return False
        self._mask = None
        if self.painter is not None:
            self.painter.mask[:] = 1
        if self._rebuild():
            self._show_source(images.builtin_name(source))
            return True
        self._clean, self._source_shape, self._image_name, self._mask = previous  # the new image does not suit
        return False

    def _show_source(self, name: str | None) -> None:
        """Point the picker at the bundled image now in use, or at "(your image)" for the learner's own."""
        with self._quietly():
            if name in images.builtin_names():
                self.picker.options = images.builtin_names()
                self.picker.value = name
            else:
                self.picker.options = [OWN_IMAGE, *images.builtin_names()]
                self.picker.value = OWN_IMAGE

    @contextlib.contextmanager
    def _quietly(self):
        """Set controls from code without their observers rebuilding the problem on each one."""
        was, self._switching = self._switching, True
        try:
            yield
        finally:
            self._switching = was

    @property
    def has_mask(self) -> bool:
        """True once a mask was painted or uploaded: region inpainting then restores it instead of the box."""
        return self._mask is not None

    def set_mask(self, source: images.Source | None) -> bool:
        """Use a mask image (white = known, black = missing) for region inpainting; None goes back to the box."""
        previous = self._mask
        try:
            self._mask = source if source is None or isinstance(source, np.ndarray) else images.read(source)
        except DipError as exc:
            self.say(f"{exc} (kept the previous mask)", error=True)
            return False
        with self._quietly():
            self.task.value = "inpaint-region"
        if self._rebuild():
            return True
        refusal = self.message.value
        self._mask = previous
        self._rebuild()
        self.message.value = refusal  # keep saying why the mask was refused
        return False

    def _on_drawn(self, mask: np.ndarray) -> None:
        """A stroke ended in the painter: restore what was painted (nothing painted: back to the box)."""
        self.set_mask(None if mask.all() else mask.copy())

    def _on_change(self, change) -> None:
        if self._switching:
            return
        if change["owner"] is self.picker:
            if change["new"] in (None, OWN_IMAGE):
                return
            self.set_image(f"builtin:{change['new']}")
            if self.mode.value == REPLAY:
                self._leave_replay()
            return
        if self.mode.value == REPLAY:
            if change["owner"] is self.task:
                self._rebuild()
                if self.replay() is None:  # none ships for the new task: live, saying why
                    self._leave_replay(keep_message=True)
            else:
                self._leave_replay()  # a setting of the learner's own: back to live, for these settings
            return
        self._rebuild()

    def _follow_task(self, change) -> None:
        """Switch to the new task's lesson network, unless the learner picked another network."""
        if self.preset.value == network_for(change["old"]):
            self.preset.value = network_for(change["new"])

    def _on_mode(self, change) -> None:
        if self._switching:
            return
        if change["new"] == REPLAY:
            if self.replay() is None:
                self._leave_replay(keep_message=True)
        else:
            self._leave_replay()

    def _on_replay_scale(self, change) -> None:
        if not self._switching and self.mode.value == REPLAY and self.replay() is None:
            self._leave_replay(keep_message=True)

    def _leave_replay(self, keep_message: bool = False) -> None:
        """Back to live fitting: the views clear and show the settings in the controls."""
        message = self.message.value
        with self._quietly():
            self.mode.value = LIVE
        self._replay_problem = None
        self.run_button.disabled = self._running()
        if self.picker.value not in (None, OWN_IMAGE) and self.picker.value != self._image_name:
            self._load_image()  # the replay's image, which the picker showed
        self._rebuild()
        self.status.value = "live: press Run to fit these settings here"
        if keep_message:
            self.message.value = message

    # ---- replays ----

    def replay(self, key: str | None = None) -> Run | None:
        """Show a precomputed run (the task's own, or `key`) in every view, at once; returns it.

        The controls move to the replay's own settings (its image, task and degradation), so nothing on
        screen describes another problem; changing one of them goes back to live fitting.
        """
        if self._running():
            self.say("a fit is running: Stop it first, then switch to Replay", error=True)
            return None
        wanted = self.replay_scale.value
        other = "lesson" if wanted == "paper" else "paper"  # shown where the wanted scale has none for the task
        key = key or replay.for_task(self.task.value, scale=wanted) or replay.for_task(self.task.value, scale=other)
        if key is None:
            self.say(f"no replay of {TASKS[self.task.value]} ships with this copy; make one: dip-edu precompute")
            return None
        scale = wanted if wanted in replay.scales_of(key) else other
        try:
            run = replay.load(key, scale=scale)
        except DipError as exc:
            self.say(str(exc), error=True)
            return None
        recipe = replay.RECIPES[key]
        with self._quietly():
            self.mode.value = REPLAY
            if recipe.task in [v for _, v in self.task.options]:
                self.task.value = recipe.task
            self._set_controls(run.config.get("degradation", {}), int(run.config.get("factor", 1)))
            self._show_source(recipe.image)
        self._show_controls()
        self.run_button.disabled = True
        self._replay_problem = replay.problem_of(run)
        self.preview.value = images.png_bytes(plots.preview_of(run))
        value = run.config.get("psnr_input")
        psnr = "" if value is None or not np.isfinite(value) else f": PSNR {value:.2f} dB"
        self.preview_label.value = f"replay input, {recipe.about}{psnr}"
        self.say(
            ""
            if scale == wanted
            else f"no {wanted}-scale replay of {key} ships with this copy: this is the {scale}-scale one"
        )
        self._offer_classics(self._replay_problem)
        self.show_result(run, note=replay.describe(run))
        return run

    def _set_controls(self, degradation: dict, factor: int) -> None:
        """Move the controls to a replay's degradation settings (those the panel has a control for)."""
        for name, widget in (("sigma", self.sigma), ("fraction", self.fraction), ("text", self.text)):
            if name in degradation:
                widget.value = degradation[name]
        if "font_size" in degradation:
            self.font_size.value = min(max(degradation["font_size"], self.font_size.min), self.font_size.max)
        if factor in self.factor.options:
            self.factor.value = factor

    def build_problem(self) -> Problem:
        """The Problem the controls describe (raises DipError for an impossible setting)."""
        task = registry.get(self.task.value)
        settings = {
            "sigma": self.sigma.value,
            "text": self.text.value,
            "font_size": self.font_size.value,
            "fraction": self.fraction.value,
            "boxes": [tuple(b.value for b in self.box)],
            "factor": self.factor.value,
            "seed": self.seed,
        }
        if self._mask is not None and "mask" in task.inputs:  # a painted or uploaded mask rules over the boxes
            settings["mask"] = self._fit_mask(self._mask)  # fitted only for a task that takes it: it may not fit
        return task.build(self._clean, **settings)  # each task's degradation takes its own settings

    def _fit_mask(self, mask: np.ndarray) -> np.ndarray:
        """Bring a mask to the panel's size: one drawn on the original image is cropped and resized as the image
        was; a square one describes the square the panel shows and is resized to it."""
        if mask.shape[:2] == self._clean.shape[:2]:
            return mask
        h, w = self._source_shape
        if mask.shape[:2] != (h, w) and mask.shape[0] != mask.shape[1]:
            raise DipError(
                f"mask {mask.shape[1]}x{mask.shape[0]}: the image is {w}x{h}; draw the mask at the image's size "
                "or as a square"
            )
        with quiet_notices():  # the image's own crop was already announced
            return images.load(mask, size=self.size, resize=True).round()

    def _show_controls(self) -> None:
        """Show the current task's controls only; the box sliders hide while a painted or uploaded mask rules."""
        for name, ws in self._controls.items():
            for w in ws:
                w.layout.display = None if name == self.task.value else "none"
        if self._mask is not None:
            for b in self.box:
                b.layout.display = "none"
        self.mask_note.value = (
            "<i>restoring the painted or uploaded mask (clear it to use the box again)</i>"
            if self._mask is not None
            else ""
        )

    def _rebuild(self) -> bool:
        self._show_controls()
        try:
            problem = self.build_problem()
        except DipError as exc:
            self.say(f"{exc} (kept the previous setting)", error=True)
            return False
        if self.result is not None and not self._running() and self.mode.value == LIVE:
            self._clear_result("the settings changed: press Run to fit them")
        self.problem = problem
        if self.painter is not None and self.painter.image is not self._clean:
            self.painter.set_image(self._clean)
        self._offer_classics(problem)
        self.preview.value = images.png_bytes(problem.preview())
        value = problem.psnr_input
        what = "bicubic from the low-resolution image" if problem.factor > 1 else "corrupted image x̂"
        psnr = "" if value is None or not np.isfinite(value) else f": PSNR {value:.2f} dB"
        self.preview_label.value = f"{what}{psnr}"
        self.say("")
        return True

    def _offer_classics(self, problem: Problem) -> None:
        methods = ["off", *baselines.for_task(problem.task)]
        if list(self.classic.options) != methods:
            self.classic.options = methods  # resets the value to "off" when the choice is no longer offered
        self.show_classic()

    def say(self, text: str, error: bool = False) -> None:
        """Show a one-line message in the panel (red for an error)."""
        colour = "#b00020" if error else "#333"
        self.message.value = f"<span style='color:{colour}'>{text}</span>" if text else ""

    # ---- running ----

    def _running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self, iters: int | None = None, **fit_options) -> Run | None:
        """Fit the current settings and block until the result is in (the path scripts and tests use).

        In a notebook prefer ``await panel.run_async()``: a blocking call keeps the kernel from handling the
        panel's Stop button until the fit ends (Kernel ▸ Interrupt still stops it and keeps the partial run).
        If the panel's own run is already going, this waits for that run instead of starting another.
        """
        if not self._begin(iters, fit_options):
            return self.result
        try:
            while self._thread.is_alive():
                self._thread.join(0.1)
        except KeyboardInterrupt:  # Kernel ▸ Interrupt: stop, and keep what the fit has so far
            self.stop()
            self._thread.join()
        return self.result

    async def run_async(self, iters: int | None = None, **fit_options) -> Run | None:
        """Fit the current settings and wait for the result without blocking the kernel (``await`` it).

        While a notebook cell awaits this, the kernel keeps handling widget events, so the panel's Stop button
        ends the fit (its partial run is returned) even during Run All.
        """
        import asyncio

        if not self._begin(iters, fit_options):
            return self.result
        try:
            while self._thread.is_alive():
                await asyncio.sleep(0.1)
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.stop()
            self._thread.join()
        return self.result

    def _begin(self, iters: int | None, fit_options: dict) -> bool:
        """Start a fit for `run`/`run_async`, or say that the panel's own run is going; False if none to wait for."""
        if lessons.replay_first() and self.mode.value == REPLAY:
            self.say("presenting on a slow machine: this is the replay; switch to Live and press Run to fit here")
            return False
        if self._running():
            self.say("a run started with the Run button is going: waiting for it (Stop ends it)")
            return True
        return self.start(iters, **fit_options)

    def start(self, iters: int | None = None, **fit_options) -> bool:
        """Start a fit in the panel's thread and return at once (the Run button); False if none could start."""
        if self._running():
            self.say("a run is going already: Stop it first")
            return False
        if self.problem is None:
            self.say("nothing to run: fix the settings above first", error=True)
            return False
        if self.mode.value == REPLAY:
            self._leave_replay()  # a live run leaves the replay
        iterations = iters or self.iters.value
        self._stop.clear()
        self._clear_result("")
        self._set_running(True, iterations)
        self._thread = threading.Thread(target=self._fit, args=(self.problem, iterations, fit_options), daemon=True)
        self._thread.start()
        return True

    def _fit(self, problem: Problem, iterations: int, fit_options: dict) -> None:
        try:
            run = fit(
                problem,
                self.preset.value,
                iters=iterations,
                seed=self.seed,
                device=self.device,
                checkpoints=self.checkpoints,
                callback=self._on_progress,
                every=10,
                stop=self._stop,
                **{"precision": self.precision, **fit_options},
            )
        except DipError as exc:
            self.say(str(exc), error=True)
            return
        except Exception as exc:  # noqa: BLE001 - a thread's error would otherwise only reach the log
            self.say(f"the fit failed: {exc.__class__.__name__}: {exc}", error=True)
            return
        finally:
            self._set_running(False, iterations)
        self.show_result(run)

    def stop(self) -> None:
        """Ask the running fit to stop; it returns what it has so far."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> Run | None:
        """Wait for a run started with the Run button (or `start`) to finish; returns it."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    def _set_running(self, running: bool, iterations: int) -> None:
        self.run_button.disabled, self.stop_button.disabled = running, not running
        if running:
            self.progress.max, self.progress.value = iterations, 0
            self.status.value = "starting…"
            self._last_refresh = self._last_curves = self._curves_seconds = 0.0

    def _on_progress(self, p: Progress) -> None:
        self.progress.value = p.iter
        now = time.monotonic()
        if now - self._last_refresh < REFRESH_SECONDS and p.iter != p.iters:
            return
        self._last_refresh = now
        psnr = p.history["psnr"][-1]
        shown = "" if not np.isfinite(psnr) else f" · PSNR {psnr:.2f} dB"
        self.status.value = f"iteration {p.iter}/{p.iters}{shown} · {p.seconds:.0f} s, about {p.eta:.0f} s left"
        self.live_out.value = images.png_bytes(p.out)
        self.live_avg.value = images.png_bytes(p.ema)
        if now - self._last_curves >= CURVES_COST_RATIO * self._curves_seconds or p.iter == p.iters:
            self.live_curves.value = plots.png(plots.curves_figure(p.history, ax_size=CURVES_SIZE))
            self.live_curves.layout.display = None
            self._curves_seconds = time.monotonic() - now
            self._last_curves = now

    def _clear_result(self, status: str) -> None:
        """Empty every view of a run, so none shows a run of other settings beside the new ones."""
        self.result = None
        self._scrub.layout.display = self.strip.layout.display = self.live_curves.layout.display = "none"
        self.live_out.value = self.live_avg.value = self.snapshot_view.value = _BLANK
        self.snapshot_label.value = ""
        self.status.value = status

    def show_result(self, run: Run, note: str = "") -> None:
        """Point the scrubber, curves and progression strip at a finished (or stopped) run."""
        self.result = run
        peak = run.peak()
        summary = f"{run.status} after {run.iters} iterations in {run.seconds:.0f} s"
        if run.config.get("precision") == "bfloat16":
            summary += " (bf16 convolutions)"
        if peak:
            summary += f"; best PSNR {peak[1]:.2f} dB at iteration {peak[0]}"
        self.live_out.value = images.png_bytes(run.final.out)  # the result itself, from the clean input z
        self.live_avg.value = images.png_bytes(run.final.ema)
        self.live_curves.value = plots.png(plots.curves_figure(run, ax_size=CURVES_SIZE))
        self.live_curves.layout.display = None
        if run.snapshots:
            last = len(run.snapshots) - 1
            self.scrubber.max = self.play.max = last
            self.scrubber.value = self.play.value = last
            self.show_snapshot(last)
            self._scrub.layout.display = "flex"
            self.strip.value = plots.png(plots.progression_figure(run), dpi=70)
            self.strip.layout.display = None
        self.status.value = summary + (f"<br><small>{note}</small>" if note else "")  # last: every view holds it

    def show_classic(self) -> None:
        """Show the chosen classical method's restoration of the problem shown, beside DIP's snapshots."""
        name = self.classic.value
        problem = self._replay_problem or self.problem
        shown = name != "off" and problem is not None
        self.classic_view.layout.display = None if shown else "none"
        if not shown:
            self.classic_label.value = ""
            return
        try:
            img = baselines.restore(problem, name)
        except Exception as exc:  # noqa: BLE001 - an observer's error would otherwise only reach the log
            self.say(str(exc) if isinstance(exc, DipError) else f"{name} failed: {exc}", error=True)
            self.classic_view.value = _BLANK
            self.classic_label.value = ""
            return
        self.classic_view.value = images.png_bytes(img)
        value = problem.score(img)
        psnr = "" if value is None else f"<br>PSNR {value:.2f} dB"
        self.classic_label.value = f"<b>{name}</b>{psnr}"

    def show_snapshot(self, index: int) -> None:
        """Show snapshot `index` of the current run with its iteration and PSNR."""
        if self.result is None or not self.result.snapshots or index is None:
            return
        snap = self.result.snapshots[min(index, len(self.result.snapshots) - 1)]
        self.snapshot_view.value = images.png_bytes(snap.out)
        psnr = "" if snap.psnr is None else f"<br>PSNR {snap.psnr:.2f} dB (average {snap.psnr_ema:.2f} dB)"
        self.snapshot_label.value = f"<b>iteration {snap.iter}</b>{psnr}"


class MaskPainter(W.VBox):
    """Paint the pixels to restore with the mouse, over the image; `mask` is 1 = known, 0 = painted (missing).

    The mask lives in NumPy (the canvas only shows it), so the same strokes can be made from code or tests.
    """

    def __init__(self, image: np.ndarray, brush: int = 4, scale: int = 3, on_change=None) -> None:
        from ipycanvas import Canvas

        h, w = image.shape[:2]
        self.image = image
        self.mask = np.ones((h, w), np.float32)
        self.on_change = on_change
        self._last: tuple[float, float] | None = None
        self.canvas = Canvas(width=w, height=h, layout=W.Layout(width=f"{w * scale}px", height=f"{h * scale}px"))
        self.brush = W.IntSlider(value=brush, min=1, max=max(2, w // 8), description="brush")
        self.clear_button = W.Button(description="Clear mask", icon="eraser")
        self.clear_button.on_click(lambda _: self.clear())
        self.canvas.on_mouse_down(self._down)
        self.canvas.on_mouse_move(self._move)
        self.canvas.on_mouse_up(self._up)
        self.canvas.on_mouse_out(self._up)
        hint = W.HTML("<i>paint over what should be restored (drag with the mouse)</i>")
        super().__init__([hint, self.canvas, W.HBox([self.brush, self.clear_button])])
        self.redraw()

    def set_image(self, image: np.ndarray) -> None:
        """Paint over another image; a mask of another size is cleared."""
        if image.shape[:2] != self.mask.shape:
            self.mask = np.ones(image.shape[:2], np.float32)
            self.canvas.width, self.canvas.height = image.shape[1], image.shape[0]
        self.image = image
        self.redraw()

    def clear(self) -> None:
        """Forget every stroke."""
        self.mask[:] = 1
        self.redraw()
        self._changed()

    def stroke(self, points: list[tuple[float, float]]) -> None:
        """Paint a stroke through `points` (x, y in image pixels), as a mouse drag would."""
        self._down(*points[0])
        for x, y in points[1:]:
            self._move(x, y)
        self._up(*points[-1])

    def redraw(self) -> None:
        """Show the image with the painted pixels tinted red."""
        shown = np.repeat(self.image, 3, axis=2) if self.image.shape[2] == 1 else self.image.copy()
        hole = self.mask < 0.5
        shown[hole] = 0.4 * shown[hole] + 0.6 * np.array([1.0, 0.0, 0.0], np.float32)
        self.canvas.put_image_data((shown * 255).round().astype(np.uint8), 0, 0)

    def _paint(self, x: float, y: float) -> None:
        h, w = self.mask.shape
        r = self.brush.value
        start = self._last or (x, y)
        steps = max(1, int(np.hypot(x - start[0], y - start[1]) / max(1, r / 2)))
        yy, xx = np.ogrid[:h, :w]
        for t in np.linspace(0, 1, steps + 1):
            cx, cy = start[0] + t * (x - start[0]), start[1] + t * (y - start[1])
            self.mask[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = 0
        self.canvas.fill_style = "rgba(255, 0, 0, 0.6)"
        self.canvas.fill_circle(x, y, r)
        self._last = (x, y)

    def _down(self, x: float, y: float) -> None:
        self._last = None
        self._paint(x, y)

    def _move(self, x: float, y: float) -> None:
        if self._last is not None:
            self._paint(x, y)

    def _up(self, x: float, y: float) -> None:
        if self._last is None:
            return
        self._last = None
        self.redraw()
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.mask)
