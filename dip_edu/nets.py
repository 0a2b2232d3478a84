"""The generator f_θ: the paper's encoder-decoder `skip` network, configurable, with named presets.

Built exactly as the authors' code builds it, so the `paper` preset with a 32-channel input has 2,217,831
parameters: per scale, a stride-2 3×3 conv and a 3×3 conv going down, a 1×1 skip branch concatenated
before the way up, BatchNorm + LeakyReLU(0.2) after every conv, reflection padding, ×2 upsampling, then a
3×3 and a 1×1 conv; a final 1×1 conv to the image's channels and a sigmoid.

Only plain `torch.nn` layers, so what a learner prints is what the paper describes; `dip_edu.fast` swaps in
faster equivalents where a fit runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from . import tasks
from .errors import require


@dataclass(frozen=True)
class NetSpec:
    """Everything that defines the network's shape; one entry per scale, finest first."""

    down: tuple[int, ...] = (128,) * 5
    up: tuple[int, ...] = (128,) * 5
    skip: tuple[int, ...] = (4,) * 5
    input_depth: int = 32
    upsample: str = "bilinear"  # or "nearest"
    downsample: str = "stride"  # or "avg", "max"
    act: str = "leaky"  # LeakyReLU(0.2); or "relu", "elu"

    def __post_init__(self) -> None:
        require(
            len(self.down) == len(self.up) == len(self.skip) >= 1,
            "network: down, up and skip need one width per scale",
        )
        require(self.upsample in ("bilinear", "nearest"), f"upsample {self.upsample!r}: bilinear or nearest")
        require(self.downsample in ("stride", "avg", "max"), f"downsample {self.downsample!r}: stride, avg or max")
        require(self.act in ACTIVATIONS, f"activation {self.act!r}: one of {', '.join(ACTIVATIONS)}")

    @property
    def depth(self) -> int:
        """Number of scales: the image side must divide by 2**depth."""
        return len(self.down)

    @property
    def multiple(self) -> int:
        return 2**self.depth

    @property
    def min_side(self) -> int:
        """Smallest image side: the coarsest scale must keep at least 2 pixels for reflection padding."""
        return 2 ** (self.depth + 1)

    def describe(self) -> dict:
        return asdict(self)

    @classmethod
    def from_description(cls, described: dict) -> NetSpec:
        """The spec back from `describe()`'s dict, also after a JSON round trip (lists become tuples again)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in described.items()})


ACTIVATIONS = {
    "leaky": lambda: nn.LeakyReLU(0.2, inplace=True),
    "relu": lambda: nn.ReLU(inplace=True),
    "elu": lambda: nn.ELU(inplace=True),
}

# The two wider lesson networks share their widths, 32 channels at the two finest scales widening to 128, and
# skips as wide as the scales (as the reference code's text network has them): wide skips carry the known pixels'
# detail to the output, which inpainting needs more than denoising does.
_WIDTHS = (32, 32, 64, 64, 128)
_WIDE = NetSpec(down=_WIDTHS, up=_WIDTHS, skip=_WIDTHS, input_depth=8, upsample="nearest")

PRESETS: dict[str, NetSpec] = {
    # The network of the paper's denoising, super-resolution and dropped-pixel experiments. For text the public
    # reference code widens the skips to 128 channels and upsamples nearest (docs/performance.md).
    "paper": NetSpec(),
    # The lessons' network for a 2-core CPU at 128×128, chosen by quality per second (benchmarks/presets.py,
    # docs/performance.md): the same five scales and skips, 16 channels throughout, an 8-channel input and
    # nearest upsampling (which fitted faster and restored better than bilinear at this width); several times
    # cheaper per iteration than `paper`.
    "lesson": NetSpec(down=(16,) * 5, up=(16,) * 5, skip=(4,) * 5, input_depth=8, upsample="nearest"),
    # The lessons' network for inpainting text, where the narrow one stays far below the paper's: 32 channels at
    # the two finest scales widening to 128, nearest upsampling, and skips as wide as their scales; the best
    # network searched within the minutes a lesson gives text on a CPU (gaps in docs/performance.md).
    "lesson-text": _WIDE,
    # The lessons' network for dropped pixels: the same widths and skips with the paper's 32-channel input and
    # bilinear upsampling. With nearest upsampling every network searched stalled 1 dB or more below the paper
    # network on 50 % pixels on average; with bilinear this one keeps climbing towards it, slowly (most of its
    # 8000 iterations; docs/performance.md).
    "lesson-pixels": replace(_WIDE, input_depth=32, upsample="bilinear"),
}


def lesson_for(task: str) -> str:
    """The preset the lessons use for `task`: `lesson`, or the task's own where the search chose another
    (the registry's `tasks.Task.network`; docs/performance.md says why); DipError for a name that is not a task."""
    return tasks.get(task).network


def spec(preset: str | NetSpec, **overrides) -> NetSpec:
    """A NetSpec from a preset name (or a spec), with fields overridden, e.g. spec("paper", upsample="nearest")."""
    if isinstance(preset, NetSpec):
        base = preset
    else:
        require(preset in PRESETS, f"preset {preset!r}: choose one of {', '.join(PRESETS)}")
        base = PRESETS[preset]
    return replace(base, **overrides) if overrides else base


def hourglass(preset: str | NetSpec = "paper", **overrides) -> NetSpec:
    """The same network without skip connections: the plain hourglass the paper compares against."""
    base = spec(preset, **overrides)
    return replace(base, skip=(0,) * base.depth)


class Concat(nn.Module):
    """Run branches on the same input and stack their outputs along the channels."""

    def __init__(self, *branches: nn.Module) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], dim=1)


def _conv(cin: int, cout: int, k: int, stride: int = 1, downsample: str = "stride") -> nn.Module:
    if k == 1 and stride == 1:
        return nn.Conv2d(cin, cout, 1)
    layers: list[nn.Module] = []
    if k > 1:
        layers.append(nn.ReflectionPad2d((k - 1) // 2))
    if stride > 1 and downsample != "stride":
        layers += [nn.Conv2d(cin, cout, k), nn.AvgPool2d(2) if downsample == "avg" else nn.MaxPool2d(2)]
    else:
        layers.append(nn.Conv2d(cin, cout, k, stride=stride))
    return nn.Sequential(*layers)


def _conv_bn_act(cin: int, cout: int, k: int, act: str, stride: int = 1, downsample: str = "stride") -> list:
    return [_conv(cin, cout, k, stride, downsample), nn.BatchNorm2d(cout), ACTIVATIONS[act]()]


def build(net: str | NetSpec = "paper", out_channels: int = 3) -> nn.Module:
    """The generator for a spec: input (1, input_depth, H, W) noise, output (1, out_channels, H, W) in (0, 1)."""
    s = spec(net)
    root = nn.Sequential()
    level, cin = root, s.input_depth
    for i in range(s.depth):
        last = i == s.depth - 1
        deeper = nn.Sequential(
            *_conv_bn_act(cin, s.down[i], 3, s.act, stride=2, downsample=s.downsample),
            *_conv_bn_act(s.down[i], s.down[i], 3, s.act),
        )
        inner = nn.Sequential()
        if not last:
            deeper.append(inner)
        deeper.append(nn.Upsample(scale_factor=2, mode=s.upsample))
        below = s.down[i] if last else s.up[i + 1]
        if s.skip[i]:
            level.append(Concat(nn.Sequential(*_conv_bn_act(cin, s.skip[i], 1, s.act)), deeper))
        else:
            level.append(deeper)
        level.append(nn.BatchNorm2d(s.skip[i] + below))
        level.extend(_conv_bn_act(s.skip[i] + below, s.up[i], 3, s.act))
        level.extend(_conv_bn_act(s.up[i], s.up[i], 1, s.act))
        level, cin = inner, s.down[i]
    root.append(nn.Conv2d(s.up[0], out_channels, 1))
    root.append(nn.Sigmoid())
    return root


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
