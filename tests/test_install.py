"""The package as a learner installs it: a built wheel, not the source tree, in a fresh virtual environment with
nothing but the `lessons` extra (and the CPU build of PyTorch). Every classical method, every replay and the
bundled mask must work there, so a dependency missing from an extra, or an asset left out of the wheel, fails
here and not in a learner's lesson.

It installs from the package index, so it runs where DIP_EDU_INSTALL_TEST=1 (CI sets it) and skips elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHECK = textwrap.dedent(
    """
    import dip_edu as dip
    from dip_edu import baselines, lessons, replay

    assert "site-packages" in str(lessons.ASSETS), lessons.ASSETS  # the wheel's own copy, not the source tree
    img = dip.load("builtin:astronaut", size=64, resize=True)
    problems = [dip.noisy(img, 25), dip.text_over(img), dip.drop_pixels(img, 0.5), dip.region(img),
                dip.downsample(img, 4)]
    methods = 0
    for problem in problems:
        for result in baselines.compare(problem):
            assert result.psnr > problem.psnr_input - 5, (problem.task, result.name, result.psnr)
            methods += 1
    keys = replay.available()
    assert len(keys) == len(replay.RECIPES), keys
    for key in keys:
        replay.load(key)
    dip.PRESETS["tiny"] = dip.NetSpec(down=(8,) * 3, up=(8,) * 3, skip=(2,) * 3, input_depth=8)  # the tests' own
    panel = dip.Panel(task="inpaint-region", size=64, preset="tiny", iters=5, draw=True, checkpoints=(5,))
    assert panel.set_mask(lessons.ASSETS / "masks" / "scribble-256.png"), panel.message.value
    assert panel.run().status == "finished"
    print(f"{methods} classical restorations, {len(keys)} replays, the mask and a panel run: all work")
    """
)


def _run(*command: str, cwd: Path | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.skipif(
    os.environ.get("DIP_EDU_INSTALL_TEST") != "1", reason="installs from the index: DIP_EDU_INSTALL_TEST=1"
)
def test_a_plain_install_of_the_lessons_extra_has_every_method_replay_and_mask(tmp_path):
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(tmp_path / "wheel"))
    wheel = next((tmp_path / "wheel").glob("dip_edu-*.whl"))
    _run(sys.executable, "-m", "venv", str(tmp_path / "venv"))
    python = str(tmp_path / "venv" / "bin" / "python")
    torch = version("torch").split("+")[0]  # the CPU build this suite runs on, so no other build is fetched
    _run(python, "-m", "pip", "install", "--quiet", f"torch=={torch}")
    _run(python, "-m", "pip", "install", "--quiet", f"{wheel}[lessons]")
    out = _run(python, "-c", CHECK, cwd=tmp_path)  # outside the source tree: only the wheel can be imported
    assert "all work" in out
