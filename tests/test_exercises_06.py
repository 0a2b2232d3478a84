"""Lesson 06's exercises: a wrong answer gets "not yet" and a hint, a right one written another way gets "right"."""

import dip_edu as dip
from dip_edu import exercises


def _per_scale(spec, count):
    ins = (spec.input_depth, *spec.down[:-1])
    return sum(count(s, cin, up) for s, cin, up in zip(spec.skip, ins, spec.up, strict=True))


# Answers a learner might give that are wrong, with a word the hint must contain.
WRONG = {
    "6.0": [("bilinear upsampling", "not so"), ("plain hourglass (no skip)", "23,023"), ("three scales", "choose one")],
    "6.1": [
        (lambda spec: _per_scale(spec, lambda s, cin, up: s * (cin + 1)), "1×1 convolution alone"),
        (lambda spec: _per_scale(spec, lambda s, cin, up: s * (cin + 3)), "wider"),
        (lambda spec: _per_scale(spec, lambda s, cin, up: s * (cin + 5)), "3×3"),
        (lambda spec: _per_scale(spec, lambda s, cin, up: s * (cin + 3 + 9 * up)), "concatenation grows"),
        (lambda spec: _per_scale(spec, lambda s, cin, up: s * (cin + 4 + 9 * up)), "bias"),
        (lambda spec: _per_scale(spec, lambda s, cin, up: s * (spec.input_depth + 5 + 9 * up)), "input_depth"),
        (lambda spec: _per_scale(spec, lambda s, cin, up: spec.skip[0] * (cin + 5 + 9 * up)), "skip[i]"),
        (lambda spec: dip.count_params(dip.build(spec)), "per scale"),
    ],
    "6.2": [
        (lambda spec, side: (side // 2 ** (spec.depth - 1), spec.down[-1]), "finest one too"),
        (lambda spec, side: (side // (2 * spec.depth), spec.down[-1]), "power of 2"),
        (lambda spec, side: (side // 32, spec.down[-1]), "spec.depth"),
        (lambda spec, side: (side // 2**spec.depth, spec.down[0]), "finest first"),
        (lambda spec, side: (side // 2**spec.depth, spec.skip[-1]), "crosses over"),
        (lambda spec, side: (side // 2**spec.depth, spec.up[-1]), "way up"),
        (lambda spec, side: side // 2**spec.depth, "two numbers"),
    ],
    "6.3": [
        ("bilinear upsampling", "measure all four"),
        ("lesson (skip, nearest)", "neighbouring pixels"),
        ("3 scales", "neighbouring pixels"),
        ("the smooth one", "name one of the variants"),
        (1, "variant's name"),
    ],
}


def test_other_right_answers_are_accepted_too():
    alt = {
        "6.1": lambda spec: dip.count_params(dip.build(spec)) - dip.count_params(dip.build(dip.hourglass(spec))),
        "6.2": lambda spec, side: (side // spec.multiple, spec.down[spec.depth - 1]),
        "6.3": "hourglass",
    }
    for key, answer in alt.items():
        verdict = exercises.verdict(key, answer)
        assert verdict.ok, (key, verdict)
