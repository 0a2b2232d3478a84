import json

import pytest
import torch

import dip_edu as dip
from dip_edu import nets


def test_paper_network_has_the_published_parameter_count():
    assert nets.count_params(nets.build("paper")) == 2_217_831


@pytest.mark.parametrize("preset", sorted(nets.PRESETS))
def test_presets_map_noise_to_an_image_of_the_same_size(preset):
    spec = nets.spec(preset)
    net = nets.build(spec, out_channels=3)
    side = 2 * spec.min_side
    with torch.no_grad():
        out = net(torch.rand(1, spec.input_depth, side, side) * 0.1)
    assert out.shape == (1, 3, side, side)
    assert 0 < float(out.min()) and float(out.max()) < 1  # the sigmoid


def test_hourglass_has_no_skip_branches_and_fewer_parameters():
    plain = nets.build(nets.hourglass("paper"))
    assert not any(isinstance(m, nets.Concat) for m in plain.modules())
    assert nets.count_params(plain) < 2_217_831


def test_options_change_the_network():
    nearest = nets.build(nets.spec("paper", upsample="nearest"))
    assert {m.mode for m in nearest.modules() if isinstance(m, torch.nn.Upsample)} == {"nearest"}
    pooled = nets.build(nets.spec("tiny", downsample="avg"))
    assert any(isinstance(m, torch.nn.AvgPool2d) for m in pooled.modules())
    relu = nets.build(nets.spec("tiny", act="relu"))
    assert not any(isinstance(m, torch.nn.LeakyReLU) for m in relu.modules())


@pytest.mark.parametrize(
    "overrides",
    [{"upsample": "cubic"}, {"act": "swish"}, {"down": (8, 8), "up": (8,), "skip": (1, 1)}],
)
def test_bad_specs_are_refused_with_the_projects_error(overrides):
    with pytest.raises(dip.DipError):
        nets.spec("tiny", **overrides)


def test_unknown_preset_names_the_choices():
    with pytest.raises(dip.DipError, match="paper"):
        nets.spec("huge")


def test_the_lesson_preset_is_the_narrow_one_and_far_cheaper_than_the_paper():
    lesson = nets.spec("lesson")
    assert lesson.down == lesson.up == (16,) * 5 and lesson.input_depth == 8 and lesson.upsample == "nearest"
    assert nets.count_params(nets.build("lesson")) * 40 < nets.count_params(nets.build("paper"))


def test_each_task_has_a_lesson_network_and_text_and_dropped_pixels_get_wider_ones():
    assert nets.lesson_for("denoise") == nets.lesson_for("inpaint-region") == nets.lesson_for("sr") == "lesson"
    assert nets.lesson_for("inpaint-text") == "lesson-text" and nets.lesson_for("inpaint-pixels") == "lesson-pixels"
    text, pixels, narrow = nets.spec("lesson-text"), nets.spec("lesson-pixels"), nets.spec("lesson")
    assert text.depth == pixels.depth == narrow.depth and text.upsample == narrow.upsample == "nearest"
    assert min(text.down) > max(narrow.down) and text.input_depth == narrow.input_depth
    # Text: skips as wide as the scales, as the reference code's text network has them.
    assert text.skip == text.down and max(narrow.skip) < min(text.skip)
    # Dropped pixels: the same widths and skips as text, with the paper's input depth and upsampling.
    paper = nets.spec("paper")
    assert pixels.down == text.down and pixels.up == text.up and pixels.skip == text.skip
    assert (pixels.input_depth, pixels.upsample) == (paper.input_depth, paper.upsample) == (32, "bilinear")


def test_a_spec_comes_back_from_its_description_after_json():
    for name in nets.PRESETS:
        spec = nets.spec(name)
        assert nets.NetSpec.from_description(json.loads(json.dumps(spec.describe()))) == spec
