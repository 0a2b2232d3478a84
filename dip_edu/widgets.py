"""ipywidgets panels: thin views over the same API a script uses (load → degrade → fit → Run → plots).

`Panel` holds an image picker, corruption controls with a live preview, Run / Stop, a live view while the
fit runs (in a background thread, so Stop is processed), a scrubber over the snapshots and the progression
strip. `panel.run()` is the blocking path notebooks and tests use.
"""

from __future__ import annotations

import threading
import time

import ipywidgets as W
import numpy as np

from . import degrade, images, plots
from .errors import DipError
from .fit import DEFAULT_CHECKPOINTS, Progress, fit
from .nets import PRESETS
from .problem import Problem
from .run import Run

TASKS = {
    "reconstruct": "fit the image itself",
    "denoise": "denoising",
    "inpaint-text": "inpainting: text",
    "inpaint-pixels": "inpainting: random pixels",
    "inpaint-region": "inpainting: region",
    "sr": "super-resolution",
}
MAX_UPLOAD_MB = 15
REFRESH_SECONDS = 1.0  # live view refresh interval while a fit runs


def _image(width: int = 160) -> W.Image:
    return W.Image(format="png", layout=W.Layout(width=f"{width}px", height=f"{width}px", object_fit="contain"))


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
    """Corrupt an image, run Deep Image Prior on it, watch it restore, scrub the snapshots."""

    def __init__(
        self,
        task: str = "denoise",
        image: str = "builtin:astronaut",
        size: int = 128,
        iters: int | None = None,
        preset: str = "lesson",
        tasks: tuple[str, ...] | None = None,
        upload: bool = False,
        checkpoints: tuple[int, ...] = DEFAULT_CHECKPOINTS,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        tasks = tasks or tuple(TASKS)
        self.size, self.seed, self.device = size, seed, device
        self.checkpoints = checkpoints
        self.result: Run | None = None
        self.problem: Problem | None = None
        self._clean: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._source_shape: tuple[int, int] = (0, 0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_refresh = 0.0

        builtin = image.split(":", 1)[1] if image.startswith("builtin:") else "astronaut"
        self.picker = W.Dropdown(options=images.builtin_names(), value=builtin, description="image")
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="upload image")
        self.mask_upload = W.FileUpload(accept="image/*", multiple=False, description="upload mask")
        self.task = W.Dropdown(options=[(TASKS[t], t) for t in tasks], value=task, description="task")
        style = {"description_width": "initial"}
        self.sigma = W.FloatSlider(value=25, min=0, max=100, step=5, description="noise σ (0-255)", style=style)
        self.text = W.Text(value="Deep Image Prior", description="text")
        self.font_size = W.IntSlider(value=max(8, size // 10), min=6, max=max(12, size // 3), description="font size")
        self.fraction = W.FloatSlider(value=0.5, min=0, max=0.95, step=0.05, description="pixels dropped")
        self.box = [
            W.IntSlider(value=v, min=0, max=size, description=name)
            for name, v in zip(
                ("top", "left", "height", "width"), (3 * size // 8, 3 * size // 8, size // 4, size // 4), strict=True
            )
        ]
        self.factor = W.Dropdown(options=[2, 4, 8], value=4, description="factor ×")
        self.preset = W.Dropdown(options=list(PRESETS), value=preset, description="network")
        self.iters = W.BoundedIntText(value=iters or 3000, min=1, max=100_000, description="iterations")
        self.run_button = W.Button(description="Run", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.message = W.HTML()
        self.preview = _image()
        self.preview_label = W.HTML()
        self.progress = W.IntProgress(value=0, min=0, max=1, description="progress")
        self.status = W.HTML()
        self.live_out, self.live_avg = _image(), _image()
        self.live_curves = W.Image(format="png", layout=W.Layout(width="640px"))
        self.scrubber = W.IntSlider(value=0, min=0, max=0, description="snapshot", continuous_update=True)
        self.play = W.Play(value=0, min=0, max=0, interval=800, description="play")
        W.jslink((self.play, "value"), (self.scrubber, "value"))
        self.snapshot_view = _image(200)
        self.snapshot_label = W.HTML()
        self.strip = W.Image(format="png", layout=W.Layout(width="100%"))

        self._controls = {
            "denoise": [self.sigma],
            "inpaint-text": [self.text, self.font_size],
            "inpaint-pixels": [self.fraction],
            "inpaint-region": [*self.box, self.mask_upload],
            "sr": [self.factor],
            "reconstruct": [],
        }
        for w in (self.picker, self.task, self.sigma, self.text, self.font_size, self.fraction, self.factor, *self.box):
            w.observe(self._on_change, names="value")
        self.upload.observe(self._on_upload, names="value")
        self.mask_upload.observe(self._on_mask_upload, names="value")
        self.scrubber.observe(lambda change: self.show_snapshot(change["new"]), names="value")
        self.run_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())

        chooser = [self.picker, self.upload] if upload else [self.picker]
        corruption = W.VBox([self.task, *[w for ws in self._controls.values() for w in ws]])
        controls = W.VBox([*chooser, corruption, self.preset, self.iters, W.HBox([self.run_button, self.stop_button])])
        observed = W.VBox([self.preview, self.preview_label])
        live = W.HBox(
            [W.VBox([W.HTML("<b>output</b>"), self.live_out]), W.VBox([W.HTML("<b>average</b>"), self.live_avg])]
        )
        scrub = W.HBox([W.VBox([self.play, self.scrubber, self.snapshot_label]), self.snapshot_view])
        super().__init__(
            [
                W.HBox([controls, observed]),
                self.message,
                W.HBox([self.progress, self.status]),
                live,
                self.live_curves,
                scrub,
                self.strip,
            ]
        )
        self._load_image()
        self._rebuild()

    # ---- the corruption and its preview ----

    def _load_image(self, source: images.Source | None = None) -> None:
        raw = images.read(source if source is not None else f"builtin:{self.picker.value}")
        self._clean = images.load(raw, size=self.size, resize=True)
        self._source_shape = raw.shape[:2]

    def _on_upload(self, change) -> None:
        try:
            data = _uploaded(self.upload, "upload")
        except DipError as exc:
            self.say(str(exc), error=True)
            return
        if data is not None:
            self.set_image(data)

    def set_image(self, source: images.Source) -> bool:
        """Use another image (a path, bytes or builtin:NAME); on bad input say why and keep the current one."""
        previous = self._clean, self._source_shape
        try:
            self._load_image(source)
        except DipError as exc:
            self.say(f"{exc} (kept the previous image)", error=True)
            return False
        if self._rebuild():
            return True
        self._clean, self._source_shape = (
            previous  # the new image does not suit the current settings (a mask of another size)
        )
        return False

    def set_mask(self, source: images.Source | None) -> bool:
        """Use a mask image (white = known, black = missing) for region inpainting; None goes back to the box."""
        previous = self._mask
        self._mask = None if source is None else (source if isinstance(source, np.ndarray) else images.read(source))
        self.task.value = "inpaint-region"
        if self._rebuild():
            return True
        refusal = self.message.value
        self._mask = previous
        self._rebuild()
        self.message.value = refusal  # keep saying why the mask was refused
        return False

    def _on_mask_upload(self, change) -> None:
        try:
            data = _uploaded(self.mask_upload, "mask")
        except DipError as exc:
            self.say(str(exc), error=True)
            return
        if data is not None:
            self.set_mask(data)

    def _on_change(self, change) -> None:
        if change["owner"] is self.picker:
            self._load_image()
        self._rebuild()

    def build_problem(self) -> Problem:
        """The Problem the controls describe (raises DipError for an impossible setting)."""
        img, task = self._clean, self.task.value
        if task == "denoise":
            return degrade.noisy(img, sigma=self.sigma.value, seed=self.seed)
        if task == "inpaint-text":
            return degrade.text_over(img, text=self.text.value, font_size=self.font_size.value, seed=self.seed)
        if task == "inpaint-pixels":
            return degrade.drop_pixels(img, fraction=self.fraction.value, seed=self.seed)
        if task == "inpaint-region":
            if self._mask is not None:
                return degrade.region(img, mask=self._fit_mask(self._mask))
            return degrade.region(img, boxes=[tuple(b.value for b in self.box)])
        if task == "sr":
            return degrade.downsample(img, factor=self.factor.value)
        return degrade.reconstruct(img)

    def _fit_mask(self, mask: np.ndarray) -> np.ndarray:
        """Bring a mask drawn on the original image to the panel's size, as the image was (same crop, resize)."""
        if mask.shape[:2] == self._clean.shape[:2]:
            return mask
        h, w = self._source_shape
        if mask.shape[:2] != (h, w):
            raise DipError(
                f"mask {mask.shape[1]}x{mask.shape[0]}: the image is {w}x{h}; draw the mask at the image's size"
            )
        return images.load(mask, size=self.size, resize=True).round()

    def _rebuild(self) -> bool:
        for name, ws in self._controls.items():
            for w in ws:
                w.layout.display = None if name == self.task.value else "none"
        try:
            problem = self.build_problem()
        except DipError as exc:
            self.say(f"{exc} (kept the previous setting)", error=True)
            return False
        self.problem = problem
        self.preview.value = images.png_bytes(problem.preview())
        value = problem.psnr_input
        what = "bicubic from the low-resolution image" if problem.factor > 1 else "corrupted image x̂"
        psnr = "" if value is None or not np.isfinite(value) else f": PSNR {value:.2f} dB"
        self.preview_label.value = f"{what}{psnr}"
        self.say("")
        return True

    def say(self, text: str, error: bool = False) -> None:
        """Show a one-line message in the panel (red for an error)."""
        colour = "#b00020" if error else "#333"
        self.message.value = f"<span style='color:{colour}'>{text}</span>" if text else ""

    # ---- running ----

    def run(self, iters: int | None = None, **fit_options) -> Run | None:
        """Fit now and block until done (the path notebooks and tests use); returns the run."""
        if self.problem is None:
            self.say("nothing to run: fix the settings above first", error=True)
            return None
        iterations = iters or self.iters.value
        self._stop.clear()
        self._set_running(True, iterations)
        try:
            run = fit(
                self.problem,
                self.preset.value,
                iters=iterations,
                seed=self.seed,
                device=self.device,
                checkpoints=self.checkpoints,
                callback=self._on_progress,
                every=10,
                stop=self._stop,
                **fit_options,
            )
        except DipError as exc:
            self.say(str(exc), error=True)
            return None
        finally:
            self._set_running(False, iterations)
        self.show_result(run)
        return run

    def start(self) -> None:
        """Fit in a background thread, so Stop (and the rest of the notebook) stays responsive."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the running fit to stop; it returns what it has so far."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> Run | None:
        """Wait for a background run to finish."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    def _set_running(self, running: bool, iterations: int) -> None:
        self.run_button.disabled, self.stop_button.disabled = running, not running
        if running:
            self.progress.max, self.progress.value = iterations, 0
            self.status.value = "starting…"
            self._last_refresh = 0.0

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
        self.live_curves.value = plots.png(plots.curves_figure(p.history, ax_size=(8, 2.6)))

    def show_result(self, run: Run) -> None:
        """Point the scrubber, curves and progression strip at a finished (or stopped) run."""
        self.result = run
        peak = run.peak()
        summary = f"{run.status} after {run.iters} iterations in {run.seconds:.0f} s"
        if peak:
            summary += f"; best PSNR {peak[1]:.2f} dB at iteration {peak[0]}"
        self.status.value = summary
        self.live_curves.value = plots.png(plots.curves_figure(run, ax_size=(8, 2.6)))
        last = len(run.snapshots) - 1
        self.scrubber.max = self.play.max = last
        self.scrubber.value = last
        self.show_snapshot(last)
        self.strip.value = plots.png(plots.progression_figure(run), dpi=70)

    def show_snapshot(self, index: int) -> None:
        """Show snapshot `index` of the current run with its iteration and PSNR."""
        if self.result is None or not self.result.snapshots:
            return
        snap = self.result.snapshots[min(index, len(self.result.snapshots) - 1)]
        self.snapshot_view.value = images.png_bytes(snap.out)
        psnr = "" if snap.psnr is None else f"<br>PSNR {snap.psnr:.2f} dB (average {snap.psnr_ema:.2f} dB)"
        self.snapshot_label.value = f"<b>iteration {snap.iter}</b>{psnr}"
