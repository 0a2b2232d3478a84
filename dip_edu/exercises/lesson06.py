"""Lesson 06's exercises: the parameters skip connections add, the coarsest map read from a spec, and which
variant's untrained output is smoothest."""

from __future__ import annotations

import torch

from . import among, exercise, not_yet, right


def _specs() -> list:
    from .. import nets

    return [
        nets.spec("lesson"),
        nets.spec("lesson", down=(16, 16, 16), up=(16, 16, 16), skip=(4, 4, 4)),
        nets.spec("lesson", skip=(2, 4, 8, 4, 2)),
        nets.spec("lesson-text"),
    ]


def _per_scale(spec, count) -> int:
    """The sum over scales of `count(s, cin, up)`: skip width, the scale's input channels, its way-up width."""
    ins = (spec.input_depth, *spec.down[:-1])
    return sum(count(s, cin, up) for s, cin, up in zip(spec.skip, ins, spec.up, strict=True))


def _wrong_counts(spec) -> list[tuple[str, int]]:
    """Counts a learner may reach by leaving something out, each with its hint."""
    first, skip0 = spec.input_depth, spec.skip[0]
    wrong = [
        (
            "that is the 1×1 convolution alone: a BatchNorm follows it, and the concatenation widens what comes next",
            lambda s, cin, up: s * (cin + 1),
        ),
        (
            "the branch is counted; the concatenation is s channels wider, so the layers after it grow too",
            lambda s, cin, up: s * (cin + 3),
        ),
        (
            "the 3×3 convolution after the concatenation takes s more input channels, 3×3 weights each per output",
            lambda s, cin, up: s * (cin + 5),
        ),
        (
            "the BatchNorm on the concatenation grows too: it has s more channels",
            lambda s, cin, up: s * (cin + 3 + 9 * up),
        ),
        ("BatchNorm has parameters too: a scale and a shift per channel", lambda s, cin, up: s * (cin + 1 + 9 * up)),
        (
            "a convolution has a bias per output channel as well as its weights",
            lambda s, cin, up: s * (cin + 4 + 9 * up),
        ),
        (
            "the branch at each scale reads that scale's input: input_depth channels at the finest, down[i-1] below",
            lambda s, cin, up: s * (first + 5 + 9 * up),
        ),
        ("each scale has its own skip width: spec.skip[i]", lambda s, cin, up: skip0 * (cin + 5 + 9 * up)),
    ]
    return [(hint, _per_scale(spec, count)) for hint, count in wrong]


@exercise("6.1")
def skip_params(answer) -> object:
    """`answer(spec)`: how many parameters the skip connections add to the network `spec` describes."""
    from .. import nets

    for spec in _specs():
        got = int(answer(spec))
        want = nets.count_params(nets.build(spec)) - nets.count_params(nets.build(nets.hourglass(spec)))
        if got == want:
            continue
        for hint, total in _wrong_counts(spec):
            if got == total:
                return not_yet(hint)
        return not_yet(
            "per scale: the 1×1 branch and its BatchNorm, plus what the s extra channels add to the layers "
            "after the concatenation; dip.count_params on the network with and without skips tells you the total"
        )
    lesson = _specs()[0]
    added = _per_scale(lesson, lambda s, cin, up: s * (cin + 5 + 9 * up))
    total = nets.count_params(nets.build(lesson))
    return right(
        f"the lesson network's skips add {added:,} of its {total:,} parameters, under a tenth: what they change "
        "is where detail can travel, not how much the network can store"
    )


@exercise("6.2")
def coarsest(answer) -> object:
    """`answer(spec, side)` = (side, channels) of the map at the coarsest scale, for a side × side image."""
    from .. import nets

    cases = [
        (nets.spec("lesson"), 128),
        (nets.spec("lesson", down=(16, 16, 16), up=(16, 16, 16), skip=(4, 4, 4)), 128),
        (nets.spec("lesson-text"), 64),
        (nets.spec("paper"), 512),
        (nets.spec("lesson", down=(16, 16, 16, 16, 24), up=(16, 16, 16, 16, 20)), 128),  # down and up differ there
    ]
    for spec, side in cases:
        got = answer(spec, side)
        if not isinstance(got, tuple) or len(got) != 2:
            return not_yet("return two numbers: (the map's side, its channels)")
        got_side, got_channels = got
        if got_side != side // 2**spec.depth:
            if got_side == side // 2 ** (spec.depth - 1):
                return not_yet("each scale halves the map, the finest one too: count every halving")
            if got_side == side // (2 * spec.depth):
                return not_yet("halving again and again divides by a power of 2, not by a multiple of 2")
            if got_side == side // 2**5:
                return not_yet("not every network has five scales: read the number from the spec (spec.depth)")
            return not_yet("the side halves once per scale, on the way down")
        if got_channels != spec.down[-1]:
            if got_channels == spec.down[0]:
                return not_yet("the widths are listed finest first: the coarsest scale is the last one")
            if got_channels == spec.skip[-1]:
                return not_yet("skip is what crosses over; the map itself has the way down's width")
            if got_channels == spec.up[-1]:
                return not_yet("spec.up is the way up's widths; the coarsest map is made on the way down")
            return not_yet("the coarsest map has as many channels as the way down's last width")
    lesson = nets.spec("lesson")
    n = 128 // 2**lesson.depth
    return right(
        f"at 128×128 the lesson network's coarsest map is {n}×{n}×{lesson.down[-1]}, {n * n * lesson.down[-1]} "
        "values for the image's 49,152: without skips, everything the output shows passes through it"
    )


VARIANTS = ("lesson (skip, nearest)", "plain hourglass (no skip)", "bilinear upsampling", "3 scales")


def _roughness(side: int = 64, seed: int = 0) -> dict[str, float]:
    """Each variant's untrained output: the mean absolute difference between horizontally neighbouring pixels."""
    from .. import nets

    specs = {
        VARIANTS[0]: nets.spec("lesson"),
        VARIANTS[1]: nets.hourglass("lesson"),
        VARIANTS[2]: nets.spec("lesson", upsample="bilinear"),
        VARIANTS[3]: nets.spec("lesson", down=(16, 16, 16), up=(16, 16, 16), skip=(4, 4, 4)),
    }
    out = {}
    for name, spec in specs.items():
        torch.manual_seed(seed)
        z = torch.rand(1, spec.input_depth, side, side) * 0.1
        with torch.no_grad():
            img = nets.build(spec)(z)
        out[name] = float((img[..., 1:] - img[..., :-1]).abs().mean())
    return out


def _variant(name: str) -> str | None:
    """The variant a learner's name means, written as in the lesson or shorter ("hourglass", "bilinear")."""
    name = name.lower()
    if "hourglass" in name or "no skip" in name:
        return VARIANTS[1]
    if "bilinear" in name:
        return VARIANTS[2]
    if "3 scales" in name or name.strip() == "3":
        return VARIANTS[3]
    if "lesson" in name or "nearest" in name:
        return VARIANTS[0]
    return None


@exercise("6.3")
def smoothest(answer) -> object:
    """`answer`: the variant (a key of the lesson's `variants`) whose untrained output is smoothest."""
    if not isinstance(answer, str):
        return not_yet("answer with the variant's name, one of the keys of variants")
    name = _variant(answer)
    if name is None:
        return not_yet(f"name one of the variants: {', '.join(VARIANTS)}")
    measured = _roughness()
    best = min(measured, key=measured.get)
    if name != best:
        if name == VARIANTS[2]:
            return not_yet(
                "bilinear upsampling is smoother than nearest, but it is not the smoothest: measure all four"
            )
        return not_yet("measure all four: the mean absolute difference between neighbouring pixels of each output")
    rest = ", ".join(f"{key} {value:.3f}" for key, value in measured.items() if key != best)
    return right(
        f"{measured[best]:.3f} against {rest}: without skips every pixel is drawn from the coarsest map, so the "
        "untrained network already draws smooth images, and fits detail last"
    )


FEWEST = ("plain hourglass (no skip)", "bilinear upsampling", "3 scales")


@exercise("6.0")
def fewest_parameters(answer) -> object:
    """A prediction: which of the lesson's variants has the fewest parameters (counted from the variants' specs)."""
    from ..nets import build, count_params, hourglass, spec

    if (wrong := among(answer, FEWEST)) is not None:
        return wrong
    counts = {
        "plain hourglass (no skip)": count_params(build(hourglass("lesson"))),
        "bilinear upsampling": count_params(build(spec("lesson", upsample="bilinear"))),
        "3 scales": count_params(build(spec("lesson", down=(16, 16, 16), up=(16, 16, 16), skip=(4, 4, 4)))),
    }
    truth = min(counts, key=counts.get)
    seen = ", ".join(f"{name}: {count:,}" for name, count in counts.items())
    if answer != truth:
        return not_yet(f"not so ({seen}). Which change removes whole layers, and which only changes how maps grow?")
    return right(
        f"{seen}. Upsampling has no weights; a skip adds a 1×1 convolution and widens the 3×3 one after it by a few "
        "input channels; two scales less is 40 %"
    )
