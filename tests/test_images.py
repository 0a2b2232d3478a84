import io
import os
import warnings

import numpy as np
import pytest
import skimage
from PIL import Image

import dip_edu as dip
from dip_edu import images


def _png(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(arr)
    assert mode is None or im.mode == mode
    im.save(buf, format="PNG")
    return buf.getvalue()


class _NoDownloads:
    """Stands in for scikit-image's downloader: any attempt to fetch fails the test."""

    def __init__(self, cache: str) -> None:
        self.abspath = cache

    def fetch(self, name: str) -> str:
        raise AssertionError(f"builtin image {name} needed a download")


def test_every_builtin_loads_offline_from_scikit_images_own_files(monkeypatch, tmp_path):
    from skimage.data import _fetchers

    monkeypatch.setattr(_fetchers, "_image_fetcher", _NoDownloads(str(tmp_path)))
    assert os.path.isdir(os.path.join(os.path.dirname(skimage.__file__), "data"))
    for name in dip.builtin_names():
        img = dip.load(f"builtin:{name}")
        assert img.dtype == np.float32 and img.ndim == 3 and img.shape[2] in (1, 3)
        assert 0 <= img.min() and img.max() <= 1


def test_size_crops_a_centre_square_with_a_notice():
    with pytest.warns(dip.DipNotice, match="centre-cropped"):
        img = dip.load("builtin:coffee", size=128)
    assert img.shape == (128, 128, 3)


def test_a_resized_image_is_described_in_the_learners_own_pixels():
    small, wide = np.random.default_rng(0).random((2, 20, 30, 3)).astype(np.float32)
    with pytest.warns(dip.DipNotice, match=r"enlarged the 20x20 image to 128x128 \(it will look soft\)"):
        assert dip.images.square(small[:, :20], 128, resize=True).shape == (128, 128, 3)
    with pytest.warns(dip.DipNotice, match="enlarged the 30x20 image to 192x128 and centre-cropped it to 128x128"):
        dip.images.square(wide, 128, resize=True)


def test_resize_keeps_the_whole_picture():
    img = dip.load("builtin:astronaut", size=64, resize=True)
    full = dip.load("builtin:astronaut")
    assert img.shape == (64, 64, 3)
    assert abs(img.mean() - full.mean()) < 0.02


def test_sides_are_cropped_to_a_multiple_of_the_network_scale():
    arr = np.random.default_rng(0).integers(0, 255, (70, 100, 3), dtype=np.uint8)
    with pytest.warns(dip.DipNotice, match="divide by 32"):
        img = dip.load(arr)
    assert img.shape == (64, 96, 3)


@pytest.mark.parametrize(
    "arr,mode,channels",
    [
        (np.full((64, 64), 128, np.uint8), "L", 1),
        (np.full((64, 64, 4), 200, np.uint8), "RGBA", 3),
        (np.full((64, 64), 40000, np.uint16), "I;16", 1),
    ],
)
def test_grey_alpha_and_16_bit_files_are_converted(arr, mode, channels):
    img = dip.load(_png(arr, mode))
    assert img.shape == (64, 64, channels)
    if mode == "I;16":
        assert img.max() == pytest.approx(40000 / 65535, abs=1e-4)


def test_palette_image_becomes_rgb_with_one_notice():
    pal = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).quantize(16)
    buf = io.BytesIO()
    pal.save(buf, format="PNG")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        img = dip.load(buf.getvalue())
    assert img.shape == (64, 64, 3)
    assert len([w for w in caught if issubclass(w.category, dip.DipNotice)]) == 1


def test_transparent_pixels_land_on_white():
    arr = np.zeros((64, 64, 4), np.uint8)  # black, fully transparent
    assert dip.load(_png(arr, "RGBA")).min() == 1.0


@pytest.mark.parametrize("data", [b"", b"not an image at all", _png(np.zeros((64, 64), np.uint8))[:60]])
def test_unreadable_bytes_raise_the_projects_error(data):
    with pytest.raises(dip.DipError, match="not a readable image"):
        dip.load(data)


def test_missing_file_and_unknown_builtin_are_named(tmp_path):
    with pytest.raises(dip.DipError, match="no such file"):
        dip.load(tmp_path / "absent.png")
    with pytest.raises(dip.DipError, match="choose one of"):
        dip.load("builtin:lena")


def test_too_small_for_the_network():
    with pytest.raises(dip.DipError, match="too small"):
        dip.load(np.zeros((20, 20, 3), np.uint8))


def test_tensor_round_trip():
    img = dip.load("builtin:camera", size=64, resize=True)
    assert np.array_equal(images.to_image(images.to_tensor(img)), img)


def test_a_notice_is_a_warning_outside_a_notebook_and_can_be_quieted():
    import warnings

    from dip_edu.errors import DipNotice, notice, quiet_notices

    with pytest.warns(DipNotice, match="cropped"):
        notice("cropped the image")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning would raise here
        with quiet_notices():
            notice("cropped the image")
