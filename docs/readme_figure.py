"""The README's picture: the shipped denoising replay's progression strip above its loss and PSNR curves.

Run from the repository root after installing the package: `python docs/readme_figure.py`. It reads the replay
`02-denoise` (assets/replays/, made by `dip-edu precompute --only 02-denoise`) and fits nothing, so it takes seconds
and writes the same picture each time the replay is the same.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

import dip_edu as dip
from dip_edu.plots import curves_figure, progression_figure

OUT = Path(__file__).resolve().parent / "img" / "readme-denoise.png"
DPI = 80
WIDTH_IN = 12.6  # the strip's width (six panels of 2.1 in): the curves are drawn as wide, so both line up


def rendered(fig) -> Image.Image:
    """A matplotlib Figure as an RGB image."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return Image.open(buf).convert("RGB")


def main() -> Path:
    run = dip.load_replay("02-denoise")
    parts = [rendered(progression_figure(run)), rendered(curves_figure(run, ax_size=(WIDTH_IN, 3.4)))]
    width = max(p.width for p in parts)
    canvas = Image.new("RGB", (width, sum(p.height for p in parts)), "white")
    top = 0
    for part in parts:
        canvas.paste(part, ((width - part.width) // 2, top))
        top += part.height
    # A palette of 256 colours keeps the file small; the photographs lose nothing visible at this size.
    small = canvas.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    small.save(OUT, optimize=True)
    print(f"{OUT.name}: {canvas.width}×{canvas.height} pixels, {OUT.stat().st_size // 1024} KiB")
    print(f"from {dip.describe_replay(run)}")
    return OUT


if __name__ == "__main__":
    main()
