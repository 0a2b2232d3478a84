"""Drop-in layers that compute what `nn.Conv2d` (1×1) and `nn.ReflectionPad2d` compute, faster on a CPU.

`nets` builds the paper's network from plain layers; `swap_layers` puts these in their place, sharing the same
parameter tensors, so a fit starts from the same weights and takes the same steps up to rounding. Each swap is
made only where it was measured to help (docs/performance.md).
"""

from __future__ import annotations

import torch
from torch import nn

GEMM_BELOW = 256 * 256  # maps of this many pixels or more run as oneDNN convolutions: as fast there, memory reused


class Pointwise(nn.Conv2d):
    """A 1×1 convolution that runs as one matrix product (weights × pixels) on a CPU, on maps below `GEMM_BELOW`.

    The same parameters and the same sums as `nn.Conv2d`; on the lesson networks' maps the plain matrix product and
    its two backward products are a little faster than oneDNN's 1×1 kernels.
    """

    def __init__(self, cin: int, cout: int, device: torch.device | str | None = None) -> None:
        super().__init__(cin, cout, 1, device=device)

    @classmethod
    def of(cls, conv: nn.Conv2d) -> Pointwise:
        """The same layer as `conv`, sharing its weight and bias tensors (no new random numbers are drawn)."""
        layer = torch.nn.utils.skip_init(cls, conv.in_channels, conv.out_channels, device=conv.weight.device)
        layer.weight, layer.bias = conv.weight, conv.bias
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if n != 1 or x.device.type != "cpu" or not x.is_contiguous() or h * w >= GEMM_BELOW:
            return super().forward(x)
        out = torch.addmm(self.bias[:, None], self.weight.view(self.out_channels, c), x.view(c, h * w))
        return out.view(1, self.out_channels, h, w)


class ReflectionPad(nn.ReflectionPad2d):
    """Reflection padding in the map's own dtype under autocast.

    CPU autocast runs `reflection_pad2d` in float32, so in a bf16 fit every padded map would go bf16 → float32 →
    bf16 (four copies a layer, forward and backward) for values the next convolution rounds back to bf16 anyway.
    Padding copies values, so the forward is the same to the bit; in the backward the few sums at the borders are
    rounded in bf16.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32 or not _autocasting(x.device.type):
            return super().forward(x)
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x)


def _autocasting(device_type: str) -> bool:
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # PyTorch before 2.4 has no device argument
        return torch.is_autocast_cpu_enabled() if device_type == "cpu" else torch.is_autocast_enabled()


def swap_layers(net: nn.Module, *, pointwise: bool = True, padding: bool = True) -> nn.Module:
    """Replace `net`'s plain 1×1 convolutions by `Pointwise` and its reflection pads by `ReflectionPad`, in place.

    Parameters
    ----------
    net : nn.Module
        A network built by `nets.build` (any module tree works).
    pointwise : bool
        Swap the 1×1, stride-1 convolutions (worth it on a CPU).
    padding : bool
        Swap the reflection pads (worth it when the network runs under CPU autocast).

    Returns
    -------
    nn.Module
        `net` itself; its parameters are the same tensors as before.
    """
    for parent in list(net.modules()):
        for name, child in parent.named_children():
            if pointwise and type(child) is nn.Conv2d and child.kernel_size == (1, 1) and child.stride == (1, 1):
                setattr(parent, name, Pointwise.of(child))
            elif padding and type(child) is nn.ReflectionPad2d:
                setattr(parent, name, ReflectionPad(child.padding))
    return net
