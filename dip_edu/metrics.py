"""Image quality: PSNR and SSIM from scikit-image, and the paper's Y-channel PSNR for super-resolution."""

from __future__ import annotations

import numpy as np
import torch
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def psnr(img: np.ndarray, ref: np.ndarray) -> float:
    """PSNR in dB of `img` against `ref`, both in [0, 1] (infinite for identical images)."""
    return _psnr(np.clip(img, 0, 1).astype(np.float64), ref.astype(np.float64), 1.0)


def _psnr(img: np.ndarray, ref: np.ndarray, peak: float) -> float:
    if np.array_equal(img, ref):
        return float("inf")
    return float(peak_signal_noise_ratio(ref, img, data_range=peak))


def ssim(img: np.ndarray, ref: np.ndarray) -> float:
    """Structural similarity of `img` against `ref` (channels averaged)."""
    return float(
        structural_similarity(
            ref.astype(np.float64), np.clip(img, 0, 1).astype(np.float64), data_range=1, channel_axis=-1
        )
    )


def luma(img: np.ndarray) -> np.ndarray:
    """The Y channel (ITU-R BT.601, 16..235 on the 0..255 scale) as super-resolution papers measure it."""
    if img.shape[-1] == 1:
        return img[..., 0] * 219.0 + 16.0
    return rgb2ycbcr(np.clip(img, 0, 1))[..., 0]


def psnr_y(img: np.ndarray, ref: np.ndarray, border: int = 4) -> float:
    """PSNR on the Y channel with `border` pixels cropped from each side (the paper's SR protocol)."""
    a, b = luma(img), luma(ref)
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    return _psnr(a, b, 255.0)


def psnr_tensor(out: torch.Tensor, ref: torch.Tensor, y_border: int | None = None) -> torch.Tensor:
    """PSNR on the device (no host copy), for every iteration of a fit.

    With `y_border` set, the paper's super-resolution protocol: the Y channel, `y_border` pixels cropped.
    """
    out = out.clamp(0, 1)
    if y_border is None:
        mse = ((out - ref) ** 2).mean()
        return -10 * torch.log10(mse.clamp_min(1e-12))
    a, b = _luma_tensor(out), _luma_tensor(ref)
    if y_border:
        a = a[..., y_border:-y_border, y_border:-y_border]
        b = b[..., y_border:-y_border, y_border:-y_border]
    mse = ((a - b) ** 2).mean()
    return 10 * torch.log10(255.0**2 / mse.clamp_min(1e-12))


def _luma_tensor(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x[:, 0] * 219.0 + 16.0
    w = torch.tensor(_Y_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1) + 16.0


_Y_WEIGHTS = (65.481, 128.553, 24.966)
