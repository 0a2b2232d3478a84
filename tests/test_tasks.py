"""The task registry: each task defined once, and every part of the package that names a task reads it."""

import numpy as np
import pytest

import dip_edu as dip
from dip_edu import baselines, cli, degrade, lessons, metrics, nets, problem, replay, tasks, widgets
from dip_edu.errors import DipError

NAMES = ("reconstruct", "denoise", "inpaint-text", "inpaint-pixels", "inpaint-region", "sr")


@pytest.fixture(scope="module")
def img():
    return dip.load("builtin:astronaut", size=64, resize=True)


def test_the_registry_holds_the_six_tasks_in_the_order_the_command_line_and_panel_offer_them():
    assert tuple(tasks.TASKS) == NAMES
    assert all(name == task.name for name, task in tasks.TASKS.items())


@pytest.mark.parametrize("name", NAMES)
def test_every_task_builds_a_problem_of_its_own_name(img, name):
    made = tasks.get(name).build(img)
    assert made.task == name and made.clean is img and made.shape == img.shape


def test_a_task_takes_only_its_own_settings_and_ignores_the_others(img):
    every = {"sigma": 50, "fraction": 0.3, "factor": 2, "text": "hi", "seed": 3, "boxes": [(1, 2, 10, 10)]}
    built = {name: tasks.get(name).build(img, **every) for name in NAMES}
    assert np.array_equal(built["denoise"].observation, degrade.noisy(img, sigma=50, seed=3).observation)
    assert built["inpaint-pixels"].params == {"fraction": 0.3, "seed": 3}
    assert built["inpaint-text"].params["text"] == "hi" and built["sr"].factor == 2
    assert built["inpaint-region"].params == {"boxes": [[1, 2, 10, 10]]}
    assert tasks.get("denoise").inputs == ("sigma", "seed") and tasks.get("reconstruct").inputs == ()
    assert [name for name in NAMES if "mask" in tasks.get(name).inputs] == ["inpaint-region"]


def test_an_unknown_task_is_one_line_naming_every_valid_one():
    for wrong in ("nonsense", "observed", "", None):
        with pytest.raises(DipError) as caught:
            tasks.get(wrong)
        message = str(caught.value)
        assert "\n" not in message and all(name in message for name in NAMES), message
    with pytest.raises(DipError, match="choose one of reconstruct, denoise"):
        problem.default_settings("observed")


def test_the_papers_settings_are_the_papers_values(img):
    expected = {
        ("reconstruct", 1): {"lr": 0.01, "reg_noise_std": 0.0, "iters": 3000},  # lesson 01's, not the paper's
        ("denoise", 1): {"lr": 0.01, "reg_noise_std": 1 / 30, "iters": 3000},  # σ = 25
        ("inpaint-text", 1): {"lr": 0.01, "reg_noise_std": 0.03, "iters": 6000},
        ("inpaint-region", 1): {"lr": 0.01, "reg_noise_std": 0.03, "iters": 6000},
        ("inpaint-pixels", 1): {"lr": 0.001, "reg_noise_std": 0.03, "iters": 11000},  # 50 % of the pixels
        ("sr", 2): {"lr": 0.01, "reg_noise_std": 0.03, "iters": 2000},
        ("sr", 4): {"lr": 0.01, "reg_noise_std": 0.03, "iters": 2000},
        ("sr", 8): {"lr": 0.01, "reg_noise_std": 0.05, "iters": 4000},
    }
    for (name, factor), settings in expected.items():
        assert problem.default_settings(name, factor) == settings, (name, factor)
        assert list(problem.default_settings(name, factor)) == ["lr", "reg_noise_std", "iters"]  # the fit's order
        made = tasks.get(name).build(img, factor=factor)
        assert made.settings == settings, (name, factor)  # what the degradation hands the fit
    first = problem.default_settings("denoise")
    first["lr"] = 1.0  # a caller changing its copy changes nothing for the next
    assert problem.default_settings("denoise")["lr"] == 0.01


def test_each_task_has_its_lesson_network(img):
    networks = {name: nets.lesson_for(name) for name in NAMES}
    assert networks == {
        "reconstruct": "lesson",
        "denoise": "lesson",
        "inpaint-text": "lesson-text",
        "inpaint-pixels": "lesson-pixels",
        "inpaint-region": "lesson",
        "sr": "lesson",
    }
    assert all(net in nets.PRESETS for net in networks.values())
    assert dip.lesson_for("inpaint-pixels") == tasks.get("inpaint-pixels").network


@pytest.mark.parametrize("name", NAMES)
def test_each_task_is_scored_by_its_protocol(img, name):
    made = tasks.get(name).build(img)
    out = np.clip(img + 0.05, 0, 1).astype(np.float32)
    if name == "sr":
        assert tasks.get(name).protocol == tasks.PSNR_Y
        assert made.score(out) == metrics.psnr_y(out, img, border=made.factor)
    else:
        assert tasks.get(name).protocol == tasks.PSNR
        assert made.score(out) == metrics.psnr(out, img)
    # The fit picks the Y-channel protocol by the factor: it must agree with the registry for every task.
    assert (made.factor > 1) == (tasks.get(name).protocol == tasks.PSNR_Y)


def test_the_command_line_the_panel_the_replays_and_the_lessons_name_only_registry_tasks():
    parser = cli.build_parser()
    assert all(parser.parse_args(["run", "--task", name, "--image", "builtin:camera"]).task == name for name in NAMES)
    with pytest.raises(DipError, match=", ".join(repr(name) for name in NAMES)):  # argparse lists the choices
        parser.parse_args(["run", "--task", "deblur", "--image", "builtin:camera"])
    assert widgets.TASKS == {name: task.label for name, task in tasks.TASKS.items()}
    assert widgets.TASKS["denoise"] == "denoising" and widgets.TASKS["inpaint-text"] == "inpainting: text"
    assert {recipe.task for recipe in replay.RECIPES.values()} <= set(NAMES)
    assert {t for lesson in lessons.LESSONS.values() for t in (lesson.task, *lesson.tasks)} <= set(NAMES)
    with pytest.raises(DipError, match="task 'deblur': choose one of"):
        replay.Recipe("99", "deblur", "astronaut")


def test_each_replay_recipe_makes_a_problem_of_its_task(img):
    for key, recipe in replay.RECIPES.items():
        assert recipe.corrupt(img).task == recipe.task, key
    noise = replay.RECIPES["01-noise"].corrupt(img)
    assert not np.array_equal(noise.clean, img)  # lesson 01 fits uniform noise, not the image


def test_the_panel_builds_each_tasks_problem_from_its_controls():
    panel = dip.Panel(task="denoise", size=64, preset="tiny", iters=5)
    for name in NAMES:
        panel.task.value = name
        assert panel.build_problem().task == name
    panel.task.value = "sr"
    panel.factor.value = 8
    assert panel.build_problem().factor == 8 and panel.build_problem().settings["iters"] == 4000


@pytest.mark.parametrize("name", NAMES)
def test_each_tasks_classical_methods_exist_and_apply_to_it(img, name):
    task = tasks.get(name)
    made = task.build(img)
    assert all(method in baselines.METHODS for method in task.classics)
    assert baselines.for_task(name) == [m for m in task.classics if baselines.available(baselines.METHODS[m])]
    for method in baselines.for_task(name):
        assert name in baselines.METHODS[method].tasks
        assert baselines.restore(made, method).shape == img.shape
    others = [m for m in baselines.METHODS if m not in task.classics]
    for method in others:
        with pytest.raises(DipError, match="does not apply"):
            baselines.restore(made, method)


def test_every_classical_method_serves_some_task_and_none_names_a_task_outside_the_registry():
    for method in baselines.METHODS.values():
        assert method.tasks and set(method.tasks) <= set(NAMES), method.name
    assert "observed" not in {t for m in baselines.METHODS.values() for t in m.tasks}


def test_an_already_degraded_image_is_one_of_the_registry_tasks(img):
    small = degrade.downsample(img, 4).observation
    for made in (
        degrade.observed(img),
        degrade.observed(img, mask=np.full((64, 64), 255, np.uint8)),
        degrade.observed(small, factor=4),
    ):
        assert made.task in tasks.TASKS and made.clean is None
        assert made.settings == tasks.get(made.task).paper_settings(made.factor)


def test_a_mask_on_the_command_line_is_refused_for_a_task_without_one(capsys, tmp_path):
    from PIL import Image

    Image.fromarray(np.full((64, 64), 255, np.uint8)).save(tmp_path / "mask.png")
    argv = [
        "run",
        "--task",
        "denoise",
        "--image",
        "builtin:camera",
        "--size",
        "64",
        "--mask",
        str(tmp_path / "mask.png"),
    ]
    assert cli.main(argv) == 2
    assert "--mask: only for inpaint-region" in capsys.readouterr().err
