"""Images in and out: load from a path, bytes or a bundled scikit-image picture; crop; convert to tensors.

An image is a float32 NumPy array of shape (H, W, C) with values in [0, 1] and C = 1 (grey) or 3 (colour).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DipError, notice, require

# scikit-image pictures that ship inside its wheel (no download): name -> loader name in skimage.data.
BUILTINS: dict[str, str] = {
    "astronaut": "astronaut",
    "camera": "camera",
    "coffee": "coffee",
    "chelsea": "chelsea",
    "coins": "coins",
    "rocket": "rocket",
    "hubble": "hubble_deep_field",
    "retina": "retina",
    "moon": "moon",
    "page": "page",
    "text": "text",
    "brick": "brick",
    "grass": "grass",
    "gravel": "gravel",
    "ihc": "immunohistochemistry",
    "motorcycle": "stereo_motorcycle",
    "colorwheel": "colorwheel",
}

MAX_PIXELS = 50_000_000  # refuse to decode anything larger (a decompression bomb, or a panorama)

Source = str | Path | bytes | np.ndarray


def builtin_names() -> list[str]:
    """The names `load("builtin:NAME")` accepts; all of them work offline."""
    return sorted(BUILTINS)


def load(source: Source, size: int | None = None, resize: bool = False, multiple: int = 32) -> np.ndarray:
    """Load an image as float32 (H, W, C) in [0, 1].

    `source` is a path, raw file bytes (an upload), `"builtin:NAME"` or an array. `size` makes a square of that
    side by centre-cropping (or, with `resize=True`, by resizing the short side first); the result is then
    cropped to a multiple of `multiple` (2^depth of the network), with a notice when anything was cut.
    """
    img = read(source)
    if size is not None:
        img = square(img, size, resize=resize)
    return crop_to_multiple(img, multiple)


def builtin_name(source: object) -> str | None:
    """NAME for a `"builtin:NAME"` source, None for any other source."""
    return source.removeprefix("builtin:") if isinstance(source, str) and source.startswith("builtin:") else None


def read(source: Source) -> np.ndarray:
    """The image as it is (converted to float, no crop): from a path, bytes, builtin:NAME or an array."""
    if isinstance(source, np.ndarray):
        return from_array(source)
    if (name := builtin_name(source)) is not None:
        return _builtin(name)
    if isinstance(source, (bytes, bytearray)):
        return _decode(bytes(source), "the uploaded data")
    path = Path(source)
    require(path.is_file(), f"image {str(path)!r}: no such file; give a path to a PNG/JPEG or builtin:NAME")
    return _decode(path.read_bytes(), repr(str(path)))


def _builtin(name: str) -> np.ndarray:
    import skimage.data

    require(name in BUILTINS, f"builtin:{name}: unknown bundled image; choose one of {', '.join(builtin_names())}")
    data = getattr(skimage.data, BUILTINS[name])()
    if isinstance(data, tuple):  # stereo pair: keep the left view
        data = data[0]
    return from_array(data)


def _decode(data: bytes, what: str) -> np.ndarray:
    """Decode file bytes with Pillow, refusing huge images before their pixels are decoded."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            require(w * h <= MAX_PIXELS, f"{what}: {w}x{h} is too large to decode; use an image under 50 megapixels")
            im = ImageOps.exif_transpose(im)
            return _from_pil(im)
    except DipError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DipError(f"{what}: not a readable image ({exc.__class__.__name__}); use a PNG or JPEG") from None


def _from_pil(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if arr.max() > 255 or mode.startswith("I;16") else 255.0
        notice(f"converted a {mode} (high bit depth) image to 8-bit range floats")
        return np.clip(arr / peak, 0, 1).astype(np.float32)[..., None]
    if mode == "F":
        arr = np.asarray(im, dtype=np.float32)
        notice("converted a floating-point image by scaling it to [0, 1]")
        return from_array(arr)
    if mode not in ("L", "RGB"):
        has_alpha = mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info)
        target = "L" if mode in ("1", "LA") else "RGB"
        if has_alpha:
            rgba = im.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, rgba).convert(target)
            notice(f"converted a {mode} image to {target}, transparent parts on white")
        else:
            im = im.convert(target)
            notice(f"converted a {mode} image to {target}")
    return from_array(np.asarray(im))


def from_array(arr: np.ndarray) -> np.ndarray:
    """Any reasonable array (uint8, uint16, bool, float; 2-D, grey, RGB or RGBA) as float32 (H, W, C)."""
    arr = np.asarray(arr)
    require(arr.ndim in (2, 3), f"image array of shape {arr.shape}: expected (H, W) or (H, W, C)")
    if arr.ndim == 2:
        arr = arr[..., None]
    require(arr.shape[2] in (1, 2, 3, 4), f"image array with {arr.shape[2]} channels: expected 1, 3 or 4")
    if arr.dtype == np.bool_:
        out = arr.astype(np.float32)
    elif arr.dtype == np.uint8:
        out = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        out = arr.astype(np.float32) / 65535.0
    elif np.issubdtype(arr.dtype, np.integer):
        out = arr.astype(np.float32) / max(float(arr.max()), 1.0)
    else:
        with np.errstate(over="ignore", invalid="ignore"):  # values beyond float32 become inf, refused below
            out = arr.astype(np.float32)
        require(bool(np.isfinite(out).all()), "image array contains NaN or infinity (or values too large)")
        lo, hi = float(out.min()), float(out.max())
        if lo < 0 or hi > 1:
            out = (out - lo) / max(hi - lo, 1e-12)
    if out.shape[2] in (2, 4):  # alpha: composite on white
        alpha = out[..., -1:]
        out = out[..., :-1] * alpha + (1 - alpha)
    return np.ascontiguousarray(np.clip(out, 0, 1), dtype=np.float32)


def square(img: np.ndarray, size: int, resize: bool = False) -> np.ndarray:
    """A centre square of side `size`; with `resize`, the short side is first resized to `size`."""
    require(isinstance(size, int) and size > 0, f"size {size!r}: must be a positive whole number")
    h, w = h0, w0 = img.shape[:2]
    scale = 1.0
    if resize and min(h, w) != size:
        from skimage.transform import resize as sk_resize

        scale = size / min(h, w)
        shape = (max(size, round(h * scale)), max(size, round(w * scale)), img.shape[2])
        img = sk_resize(img, shape, anti_aliasing=scale < 1, order=3).astype(np.float32).clip(0, 1)
        h, w = img.shape[:2]
    require(
        min(h, w) >= size,
        f"size {size}: the image is only {w}x{h}; ask for a smaller size or pass resize=True",
    )
    # Said in the learner's own pixels: shrinking a square needs no word, enlarging (it looks soft) and cropping do.
    if (h, w) != (size, size):
        verb = "enlarged" if scale > 1 else "resized"
        done = (
            f"{verb} the {w0}x{h0} image to {w}x{h} and centre-cropped it"
            if scale != 1
            else f"centre-cropped the {w}x{h} image"
        )
        notice(f"{done} to {size}x{size}")
    elif scale > 1:
        notice(f"enlarged the {w0}x{h0} image to {w}x{h} (it will look soft)")
    top, left = (h - size) // 2, (w - size) // 2
    return img[top : top + size, left : left + size]


def crop_to_multiple(img: np.ndarray, multiple: int) -> np.ndarray:
    """Centre-crop so both sides divide by `multiple` (the network halves the image depth times)."""
    h, w = img.shape[:2]
    nh, nw = h - h % multiple, w - w % multiple
    require(
        nh >= multiple and nw >= multiple,
        f"image {w}x{h}: too small for this network; it needs at least {multiple}x{multiple} pixels",
    )
    if (nh, nw) != (h, w):
        notice(f"centre-cropped {w}x{h} to {nw}x{nh} so that both sides divide by {multiple}")
        top, left = (h - nh) // 2, (w - nw) // 2
        img = img[top : top + nh, left : left + nw]
    return img


def to_tensor(img: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """(H, W, C) array to a (1, C, H, W) float tensor on `device`."""
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).unsqueeze(0).to(device)


def to_image(t: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) tensor to a float32 (H, W, C) array in [0, 1]."""
    return t.detach().clamp(0, 1)[0].permute(1, 2, 0).float().cpu().numpy()


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Float image to 8-bit, for PNG files and widgets."""
    out = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
    return out[..., 0] if out.shape[-1] == 1 else out


def save_png(img: np.ndarray, path: str | Path, optimize: bool = False) -> None:
    """Write an image as an 8-bit PNG (`optimize`: smaller file, same pixels, slower to write)."""
    Image.fromarray(to_uint8(img)).save(path, format="PNG", optimize=optimize)


def read_png(path: str | Path) -> np.ndarray:
    """An 8-bit PNG as float32 (H, W, C) in [0, 1], exactly value / 255 (the inverse of `save_png` up to rounding)."""
    with Image.open(io.BytesIO(Path(path).read_bytes())) as im:
        arr = np.asarray(im)
    if arr.ndim == 2:
        arr = arr[..., None]
    return (arr.astype(np.float32) / 255.0).astype(np.float32)


def png_bytes(img: np.ndarray) -> bytes:
    """An image as PNG bytes (for ipywidgets.Image)."""
    buf = io.BytesIO()
    Image.fromarray(to_uint8(img)).save(buf, format="PNG")
    return buf.getvalue()
