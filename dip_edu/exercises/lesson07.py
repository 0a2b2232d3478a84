"""Lesson 07's exercises: a mask the panel accepts, the share of an image a mask marks missing, and which task
suits which damage."""

from __future__ import annotations

import numpy as np

from . import among, exercise, not_yet, right


def _box_mask(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    top, left, height, width = box
    mask = np.full((h, w), 255, np.uint8)
    mask[top : top + height, left : left + width] = 0
    return mask


@exercise("7.1")
def make_mask(answer) -> object:
    """`answer(h, w, box)`: an 8-bit mask image at (h, w), white (255) = known, black (0) = missing in the box
    (top, left, height, width)."""
    from .. import degrade

    for h, w, box in ((48, 64, (8, 16, 10, 20)), (64, 40, (0, 0, 5, 7)), (32, 32, (20, 10, 12, 22))):
        got = answer(h, w, box)
        want = _box_mask(h, w, box)
        if not isinstance(got, np.ndarray):
            return not_yet("return a numpy array: an image of h rows and w columns")
        if got.shape[:2] == (w, h) and h != w:
            return not_yet("an image's shape is (rows, columns): (h, w), the height first")
        if got.shape[:2] != (h, w) or got.ndim not in (2, 3):
            return not_yet("the mask must be at the image's size: shape (h, w)")
        if got.dtype != np.uint8:
            return not_yet("the panel reads 8-bit images: make the array with dtype np.uint8")
        grey = got.mean(axis=2) if got.ndim == 3 else got.astype(float)
        if grey.max() <= 1:
            return not_yet("in an 8-bit image white is 255; 1 is almost black")
        if np.array_equal(grey, want.astype(float)):
            known = degrade.read_mask(got, (h, w))  # what the panel's mask upload does with it
            if not np.array_equal(known, want == 255):
                return not_yet("use black (0) and white (255) only")
            continue
        if np.array_equal(grey, 255 - want):
            return not_yet("the other way round: white marks the pixels that are known, black the ones to restore")
        top, left, height, width = box
        if np.array_equal(grey, _box_mask(h, w, (left, top, width, height)).astype(float)):
            return not_yet("the box is (top, left, height, width): top counts rows, left counts columns")
        ends = _box_mask(h, w, (top, left, height - top, width - left))
        if np.array_equal(grey, ends.astype(float)):
            return not_yet("the box's last two values are its height and width, not where it ends")
        if np.array_equal(grey, _box_mask(h, w, (top, left, height + 1, width + 1)).astype(float)):
            return not_yet("off by one: rows top to top + height − 1 are missing; top + height is outside the box")
        return not_yet("start from white everywhere (255), then set the box's rows and columns to black (0)")
    return right(
        "dip.region(img, mask=...) and the panel's mask upload read it as you meant: white kept, black restored"
    )


def _masks() -> list[np.ndarray]:
    from PIL import Image

    from ..lessons import ASSETS

    scribble = np.asarray(Image.open(ASSETS / "masks" / "scribble-256.png").convert("L"))
    box = _box_mask(40, 60, (5, 10, 10, 30))
    return [scribble, np.repeat(box[..., None], 3, axis=2), _box_mask(30, 50, (0, 0, 30, 5))]


@exercise("7.2")
def missing_share(answer) -> object:
    """`answer(mask)`: for an 8-bit mask image, (H, W) or (H, W, 3), the share of pixels it marks missing."""
    for mask in _masks():
        got = float(answer(mask.copy()))
        missing = mask[..., 0] == 0 if mask.ndim == 3 else mask == 0
        want = float(missing.mean())
        if np.isclose(got, want, atol=1e-6):
            continue
        if np.isclose(got, 1 - want, atol=1e-6):
            return not_yet("that is the share of white, known pixels: black marks the missing ones")
        if np.isclose(got, missing.sum(), atol=0.5) or np.isclose(got, missing.sum() * 3, atol=0.5):
            return not_yet("that is a count: give a share between 0 and 1")
        if mask.ndim == 3 and np.isclose(got, 3 * want, atol=1e-6):
            return not_yet("a colour mask has 3 values per pixel: count pixels, not values")
        if got < 0 or got > 1:
            return not_yet("the values go from 0 (black) to 255 (white): a share must lie between 0 and 1")
        return not_yet("count the black pixels and divide by the number of pixels")
    share = float((_masks()[0] == 0).mean())
    return right(
        f"the bundled scribble hides {share * 100:.0f} % of the image in thin strokes: every missing pixel has known "
        "ones close by, which is why it fills well"
    )


# Each damage a photo may have, and the task (a name of dip_edu.tasks.TASKS) that restores it.
DAMAGES = {
    "grain all over a photo taken at night": "denoise",
    "a date stamp printed over the picture": ("inpaint-text", "inpaint-region"),  # its strokes, or painted over
    "a passer-by you want gone": "inpaint-region",
    "a small photo you want four times larger": "sr",
    "a scan where half the pixels were lost at random": "inpaint-pixels",
}

_HINTS = {
    "inpaint-text": "a date stamp is thin strokes over the picture: which task masks strokes of letters?",
    "inpaint-region": "the passer-by is one whole area to fill, not thin strokes nor scattered pixels",
    "denoise": "in the grainy photo no pixel is missing: each one is there, a little off",
    "inpaint-pixels": "the pixels left in the scan are exact, and the lost ones are scattered one by one",
    "sr": "enlarging has a task of its own: the loss compares the output, made small again, with the photo",
}


@exercise("7.3")
def task_for(answer) -> object:
    """`answer` = {damage: task name} for each damage of `DAMAGES`."""
    from ..tasks import TASKS

    if not isinstance(answer, dict):
        return not_yet("answer with a dict: {damage: task name}")
    if set(answer) != set(DAMAGES):
        return not_yet("give a task for each of the five damages, with the keys written as in the question")
    for damage, wanted in DAMAGES.items():
        got, accepted = answer[damage], wanted if isinstance(wanted, tuple) else (wanted,)
        if got is ...:
            return not_yet("replace each ... with a task name")
        if got not in TASKS:
            if got in {task.label for task in TASKS.values()}:
                return not_yet("use the tasks' names, not their labels: the keys of dip_edu.tasks.TASKS")
            return not_yet(f"{got!r} is not a task: the names are {', '.join(TASKS)}")
        if got == "reconstruct":
            return not_yet("reconstruct fits the image itself: it restores nothing")
        if got not in accepted:
            return not_yet(_HINTS[accepted[0]])
    return right(
        "the task decides what the loss compares: known pixels through a mask, the grainy photo itself, or the "
        "output made small again; the network and its prior stay the same"
    )


HIGHEST = ("Deep Image Prior", "nearest pixel", "biharmonic")


@exercise("7.0")
def highest_score(answer, scores: dict) -> object:
    """A prediction about the lesson's fit: which fill of the damage scores highest (`scores`, PSNR in dB by
    method, as the lesson prints them)."""
    if (wrong := among(answer, HIGHEST)) is not None:
        return wrong
    scored = {name: scores[name] for name in HIGHEST if name in scores}
    if "Deep Image Prior" in scores and len(scored) < len(HIGHEST):
        return not_yet("the classical fills are for inpainting: choose the region task, paint a mask and run again")
    if len(scored) < len(HIGHEST):
        return not_yet("the scores need a clean photo and a painted mask: run the fit and the cell that scores it")
    truth = max(scored, key=scored.get)
    seen = ", ".join(f"{name} {value:.2f} dB" for name, value in scored.items())
    if answer != truth:
        return not_yet(f"not here: {seen}. How wide are the strokes, and how far is a known pixel from each gap?")
    return right(
        f"{seen}. Across thin strokes a fill from the pixels beside them is hard to beat; on large holes less so"
    )
