"""The panel as a learner drives it, without a browser: controls change the preview, runs fill the views."""

import io
import threading

import numpy as np
import pytest
from PIL import Image

import dip_edu as dip
from dip_edu import plots
from dip_edu.widgets import OWN_IMAGE


@pytest.fixture
def panel():
    return dip.Panel(task="denoise", size=64, preset="tiny", iters=20, checkpoints=(5, 10))


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_the_noise_slider_changes_the_preview_and_its_psnr(panel):
    before, label = panel.preview.value, panel.preview_label.value
    panel.sigma.value = 60
    assert panel.preview.value != before and panel.preview_label.value != label
    assert panel.problem.params["sigma"] == 60


def test_only_the_current_tasks_controls_are_shown(panel):
    panel.task.value = "inpaint-pixels"
    assert panel.fraction.layout.display is None and panel.sigma.layout.display == "none"
    assert panel.problem.task == "inpaint-pixels"


def test_an_impossible_setting_shows_a_message_and_keeps_the_previous_problem(panel):
    panel.task.value = "inpaint-region"
    good = panel.problem
    panel.box[0].value = 64  # a box starting at the bottom edge: nothing of it inside
    assert "must lie inside" in panel.message.value and panel.problem is good


def test_an_unreadable_upload_keeps_the_image(panel):
    before = panel.preview.value
    assert not panel.set_image(b"definitely not a png")
    assert "not a readable image" in panel.message.value and panel.preview.value == before


def test_the_picker_names_the_image_in_use(panel, tmp_path):
    assert panel.set_image("builtin:camera") and panel.picker.value == "camera"
    assert panel.problem.observation.shape[2] == 1
    own = tmp_path / "own.png"
    own.write_bytes(_png(np.full((64, 64), 128, np.uint8)))
    assert panel.set_image(str(own)) and panel.picker.value == OWN_IMAGE  # not a bundled image: the picker says so
    panel.picker.value = "astronaut"  # choosing a bundled image again loads it
    assert panel.problem.observation.shape[2] == 3


def test_the_panel_opens_on_the_image_it_is_given(tmp_path):
    own = tmp_path / "own.png"
    own.write_bytes(_png(np.full((64, 64), 128, np.uint8)))
    mine = dip.Panel(task="denoise", image=str(own), size=64, preset="tiny", iters=20)
    assert mine.picker.value == OWN_IMAGE and mine.problem.clean.shape == (64, 64, 1)
    assert np.allclose(mine.problem.clean, 128 / 255, atol=1e-3)  # the file itself, not a bundled image
    camera = dip.Panel(task="denoise", image="builtin:camera", size=64, preset="tiny", iters=20)
    assert camera.picker.value == "camera" and camera.problem.clean.shape[2] == 1


def test_the_network_follows_the_task_unless_the_learner_chose_one():
    mine = dip.Panel(task="denoise", size=64, iters=5)
    assert mine.preset.value == "lesson"
    mine.task.value = "inpaint-pixels"
    assert mine.preset.value == "lesson-pixels"
    mine.task.value = "inpaint-text"
    assert mine.preset.value == "lesson-text"
    mine.task.value = "denoise"
    assert mine.preset.value == "lesson"
    mine.preset.value = "tiny"  # the learner's own choice stays through task changes
    mine.task.value = "inpaint-pixels"
    assert mine.preset.value == "tiny"


def test_a_mask_of_the_wrong_size_is_refused_with_a_message(panel):
    assert not panel.set_mask(_png(np.full((40, 70), 255, np.uint8)))
    assert "draw the mask at the image's size" in panel.message.value


def test_a_mask_at_the_images_own_size_is_used(panel):
    mask = np.full((512, 512), 255, np.uint8)  # the astronaut's own size: resized along with the image
    mask[200:300, 200:300] = 0
    assert not panel.has_mask  # the box until a mask is painted or uploaded
    assert panel.set_mask(_png(mask))
    assert panel.problem.task == "inpaint-region" and 0 < 1 - panel.problem.mask.mean() < 0.2
    assert panel.has_mask
    assert panel.set_mask(None) and not panel.has_mask


def test_a_blocking_run_fills_the_scrubber_and_the_strip(panel):
    run = panel.run()
    assert run.status == "finished" and [s.iter for s in run.snapshots] == [5, 10, 20]
    assert panel.scrubber.max == 2 and panel.scrubber.value == 2 and not panel.scrubber.readout  # the last one
    assert "iteration 20" in panel.snapshot_label.value and panel.strip.value and panel.live_out.value
    panel.scrubber.value = 0
    assert "iteration 5" in panel.snapshot_label.value  # the label names the iteration, not the index
    assert not panel.run_button.disabled and panel.stop_button.disabled


def test_stop_ends_a_background_run_with_its_partial_result():
    panel = dip.Panel(task="denoise", size=64, preset="tiny", iters=100_000)
    started = threading.Event()
    original = panel._on_progress

    def watch(progress):
        started.set()
        original(progress)

    panel._on_progress = watch
    panel.start()
    assert started.wait(60)
    panel.stop()
    run = panel.wait(60)
    assert run is not None and run.status == "stopped" and 0 < run.iters < 100_000
    assert "stopped" in panel.status.value


def test_plots_render_for_runs_with_and_without_ground_truth(astronaut64):
    run = dip.fit(dip.noisy(astronaut64, 25), "tiny", iters=12, checkpoints=(4, 8), early_stop=dip.EsWmv(3, 2))
    blind = dip.fit(dip.observed(astronaut64), "tiny", iters=5)
    for fig in (
        plots.progression_figure(run),
        plots.curves_figure(run),
        plots.curves_figure(blind),
        plots.learning_curves_figure({"a": run, "b": blind}),
    ):
        assert plots.png(fig).startswith(b"\x89PNG")
    assert len(plots.progression_figure(run).axes) == 1 + 3 + 1  # corrupted, 4, 8, 12, original


def test_a_mouse_stroke_on_the_painter_becomes_the_region_to_restore():
    panel = dip.Panel(task="denoise", draw=True, size=64, preset="tiny", iters=20)
    panel.painter.brush.value = 3
    panel.painter.stroke([(10, 10), (40, 10)])  # a horizontal drag along row 10
    missing = panel.problem.mask[..., 0] == 0
    assert panel.problem.task == "inpaint-region"
    assert missing[10, 10:41].all() and not missing[30:, :].any()
    assert np.array_equal(missing, panel.painter.mask == 0)
    panel.painter.clear()  # nothing painted: back to the rectangle
    assert panel.problem.params.get("boxes")


def test_a_new_image_starts_without_the_old_images_mask_in_every_view():
    panel = dip.Panel(task="inpaint-region", draw=True, upload=True, size=64, preset="tiny", iters=20)
    panel.painter.stroke([(20, 20), (40, 20)])
    assert (
        panel.has_mask and "boxes" not in panel.problem.params and all(b.layout.display == "none" for b in panel.box)
    )  # mask rules
    assert panel.painter.mask.min() == 0 and panel.mask_note.value
    assert panel.set_image(_png(np.full((64, 64), 128, np.uint8)))  # an upload
    assert panel.picker.value == OWN_IMAGE and panel.painter.image is panel._clean
    assert not panel.has_mask and panel.painter.mask.all() and panel.problem.params.get("boxes")  # the box again
    assert all(b.layout.display is None for b in panel.box) and not panel.mask_note.value


def test_a_square_mask_of_another_size_is_scaled_to_the_panel(panel):
    mask = np.full((256, 256), 255, np.uint8)
    mask[:128, :128] = 0  # the top-left quarter is missing
    assert panel.set_mask(_png(mask)), panel.message.value
    missing = panel.problem.mask[..., 0] == 0
    assert missing[:30, :30].all() and not missing[34:, :].any() and not missing[:, 34:].any()


def test_the_classical_toggle_shows_a_baseline_for_the_current_task(panel):
    assert "non-local means" in panel.classic.options and panel.classic.value == "off"
    panel.classic.value = "non-local means"
    assert panel.classic_view.value and "PSNR" in panel.classic_label.value
    panel.task.value = "sr"  # the denoisers are no longer offered; the toggle resets
    assert panel.classic.value == "off" and "bicubic" in panel.classic.options
    assert panel.classic_view.layout.display == "none"


def test_an_unreadable_mask_upload_shows_a_message_and_keeps_the_previous_mask(panel):
    panel.task.value = "inpaint-region"
    good = panel.problem
    assert not panel.set_mask(b"not an image at all")
    assert "not a readable image" in panel.message.value and panel.problem is good


def _shown_problem(panel):
    """The problem the panel says it shows: the replay's in Replay mode, else the one its controls describe."""
    return panel._replay_problem if panel.mode.value == "Replay" else panel.problem


def _views_agree(panel, step: str) -> None:
    """Every view shows one problem, or nothing of a run at all."""
    from dip_edu import baselines, images

    problem = _shown_problem(panel)
    run = panel.result
    if panel.mode.value == "Replay":
        assert run is not None and run.config.get("replay"), step
        assert panel.preview.value == images.png_bytes(plots.preview_of(run)), step
        degradation = run.config["degradation"]
        assert panel.sigma.value == degradation.get("sigma", panel.sigma.value), step  # the replay's own σ
        assert panel.picker.value == dip.replay.RECIPES[run.config["replay"]].image, step
        assert panel.run_button.disabled, step
    else:
        assert panel.preview.value == images.png_bytes(problem.preview()), step
        assert not panel.run_button.disabled, step
    if run is None:  # nothing of an older run stays on screen
        assert panel._scrub.layout.display == "none" and panel.strip.layout.display == "none", step
        assert panel.live_out.value == panel.live_avg.value == panel.snapshot_view.value, step
    else:
        assert run.task == problem.task and np.array_equal(run.observation, problem.observation), step
        assert panel.scrubber.max == len(run.snapshots) - 1 and panel.strip.layout.display != "none", step
        assert panel.live_out.value == images.png_bytes(run.final.out), step
    if panel.classic.value != "off":
        expected = baselines.restore(problem, panel.classic.value)
        assert panel.classic_view.value == images.png_bytes(expected), step


def test_every_view_shows_one_problem_whatever_the_order_of_changes():
    import itertools

    steps = {
        "task": lambda p: setattr(p.task, "value", "inpaint-pixels" if p.task.value == "denoise" else "denoise"),
        "mode": lambda p: setattr(p.mode, "value", "Live" if p.mode.value == "Replay" else "Replay"),
        "sigma": lambda p: setattr(p.sigma, "value", 40 if p.sigma.value != 40 else 10),
        "image": lambda p: setattr(p.picker, "value", "camera" if p.picker.value != "camera" else "coffee"),
    }
    options = {"task": "denoise", "tasks": ("denoise", "inpaint-pixels"), "size": 64, "preset": "tiny", "iters": 10}
    first = dip.Panel(**options)
    finished = first.run()
    for order in itertools.permutations(steps):
        panel = dip.Panel(**options)
        panel.show_result(finished)  # the end of the same live run as `first` made
        panel.classic.value = panel.classic.options[1]  # a classical method beside the snapshots
        _views_agree(panel, "after a live run")
        done = []
        for name in order:
            steps[name](panel)
            done.append(name)
            _views_agree(panel, " → ".join(done))


def test_an_awaited_run_hears_stop_and_a_second_run_waits_for_the_first():
    import asyncio
    import concurrent.futures

    panel = dip.Panel(task="denoise", size=64, preset="tiny", iters=100_000)

    async def learner():
        async def click_stop_once_running():
            while panel.progress.value < 20:  # the fit is under way
                await asyncio.sleep(0.05)
            panel.stop_button.click()  # what a Stop click runs, while the cell still awaits

        clicker = asyncio.create_task(click_stop_once_running())
        run = await asyncio.wait_for(panel.run_async(), timeout=120)
        await clicker
        return run

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a loop of its own: the suite's thread may hold one
        run = pool.submit(asyncio.run, learner()).result()
    assert run is not None and run.status == "stopped" and 20 <= run.iters < 100_000
    assert panel.result is run and "stopped" in panel.status.value

    panel.start()  # the Run button: another 100 000 iterations
    threading.Timer(3.0, panel.stop).start()  # Stop, three seconds later
    again = panel.run()  # a cell run meanwhile waits for that run instead of starting a second one
    assert "waiting for it" in panel.message.value and again is panel.result and again.status == "stopped"


def test_the_curve_title_says_what_the_psnr_did():
    rising = {"iter": np.arange(1, 101), "psnr": np.linspace(20, 30, 100)}
    assert plots.psnr_story(rising) == "PSNR still rising at the end"
    peaked = {"iter": np.arange(1, 101), "psnr": np.r_[np.linspace(20, 30, 50), np.linspace(30, 27, 50)]}
    assert plots.psnr_story(peaked) == "PSNR peaks at iteration 50,\nthen falls 3.0 dB"
