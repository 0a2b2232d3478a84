"""Every lesson as `dip-edu present` shows it: a Voilà app with the lesson's prose, figures and panel, no code and no
error, whose panel switches to Replay and scrubs through the replay."""

from __future__ import annotations

import re
import time

import pytest

from .conftest import ROOT
from .test_lessons_in_browser import WIDGET_FAILURES, shot

LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
OUTPUTS = ".jp-OutputArea-output"
BROKEN = """[...document.querySelectorAll('img')].filter(
    i => i.complete && i.naturalWidth === 0 && getComputedStyle(i).display !== 'none'
).map(i => i.outerHTML.slice(0, 120))"""


def _settled(page, name: str, timeout: float = 420) -> None:
    """Wait until every cell has run: no cell waits under Voilà's placeholder, and the outputs stay put for 5 s."""
    start, last, since = time.monotonic(), None, time.monotonic()
    while time.monotonic() - start < timeout:
        pending = page.locator(".voila-skeleton-container").count()
        now = (pending, page.locator(OUTPUTS).count(), len(page.evaluate("document.body.innerText")))
        if now != last:
            last, since = now, time.monotonic()
        elif pending == 0 and now[1] > 0 and time.monotonic() - since > 5:
            return
        time.sleep(1)
    shot(page, f"voila-{name}-unsettled")
    pytest.fail(f"{name}: Voilà still changing after {timeout:.0f} s")


@pytest.mark.parametrize("name", LESSONS)
def test_every_lesson_presents_as_an_app_without_code_or_errors(page, voila, name):
    page.goto(f"{voila}/voila/render/{name}", timeout=120_000)
    page.get_by_text(re.compile(r"You will learn to")).first.wait_for(timeout=120_000)
    _settled(page, name)
    text = page.evaluate("document.body.innerText")
    for failure in (*WIDGET_FAILURES, "Traceback", "There was an error when executing cell", "<Figure size"):
        assert failure not in text, f"{name}: the app shows {failure!r}"
    assert page.locator(".cm-editor, .jp-InputArea-editor, .CodeMirror").count() == 0, f"{name}: code is shown"
    assert "import dip_edu" not in text, f"{name}: code is shown"
    for _ in range(5):  # an image the panel is replacing right now may be empty for a moment
        broken = page.evaluate(BROKEN)
        if not broken:
            break
        page.wait_for_timeout(1000)
    assert not broken, f"{name}: broken images {broken}"
    shot(page, f"voila-{name}")
    if name.startswith("00_"):
        return  # the setup check has no panel
    panel = page.locator(OUTPUTS, has=page.locator(".widget-button", has_text="Run")).first
    panel.wait_for(timeout=10_000)
    panel.locator(".widget-toggle-button", has_text="Replay").click()
    panel.get_by_text(re.compile(r"^finished after 8000 iterations")).wait_for(timeout=30_000)
    label = panel.get_by_text(re.compile(r"^iteration \d+$")).first
    assert label.inner_text() == "iteration 8000"  # the replay's last snapshot
    for _ in range(10):  # the slider may still be taking its new range from the kernel: try until it moves
        panel.locator(".widget-hslider", has_text="snapshot").locator(".noUi-handle").focus()
        page.keyboard.press("Home")  # by keyboard, as on a projector's laptop
        page.wait_for_timeout(1000)
        if label.inner_text() != "iteration 8000":
            break
    assert re.fullmatch(r"iteration \d+", label.inner_text()) and label.inner_text() != "iteration 8000"
    shot(page, f"voila-{name}-replay", panel)


def test_a_panel_is_worked_by_keyboard_alone(page, voila):
    """Tab reaches every control of the panel, and Space switches it to Replay, as on a projector's laptop."""
    name = "02_denoising.ipynb"
    page.goto(f"{voila}/voila/render/{name}", timeout=120_000)
    page.get_by_text(re.compile(r"You will learn to")).first.wait_for(timeout=120_000)
    _settled(page, name)
    panel = page.locator(OUTPUTS, has=page.locator(".widget-button", has_text="Run")).first
    panel.locator("select").first.focus()  # the image picker, the panel's first control
    reached = []
    for _ in range(40):
        reached.append(
            page.evaluate(
                "(document.activeElement.innerText || document.activeElement.title || "
                "document.activeElement.className || '').trim().slice(0, 40)"
            )
        )
        if reached[-1] == "Replay":
            break
        page.keyboard.press("Tab")
    assert reached[-1] == "Replay", f"Tab never reached the Replay button: {reached}"
    assert any("noUi-handle" in r for r in reached), f"the noise slider is not reachable by Tab: {reached}"
    page.keyboard.press("Space")
    panel.get_by_text(re.compile(r"^finished after 8000 iterations")).wait_for(timeout=30_000)
    page.keyboard.press("Shift+Tab")  # back to Live, and Space makes Run pressable again
    assert page.evaluate("document.activeElement.innerText.trim()") == "Live"
    page.keyboard.press("Space")
    run = panel.locator(".widget-button", has_text=re.compile(r"^\s*Run\s*$"))
    for _ in range(30):  # the kernel leaves the replay, then enables Run
        if run.is_enabled():
            break
        page.wait_for_timeout(500)
    assert run.is_enabled(), "Live was chosen by keyboard but Run stayed disabled"
