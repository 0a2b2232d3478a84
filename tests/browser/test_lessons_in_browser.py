"""Every lesson opened in JupyterLab, run from its menu, and its widgets used the way a learner uses them."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import ARTIFACTS, ROOT

LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
WIDGET_FAILURES = ("Error displaying widget", "model not found", "Failed to load model class", "Loading widget...")


def _sessions(lab: str) -> list[dict]:
    with urllib.request.urlopen(f"{lab}/api/sessions", timeout=5) as reply:
        return json.load(reply)


def _kernels_idle(lab: str, name: str | None = None) -> bool:
    """Whether the lesson's kernel (or every kernel) is up and idle, as the server sees it."""
    sessions = [s for s in _sessions(lab) if name is None or s["path"].endswith(name)]
    return bool(sessions) and all(s["kernel"]["execution_state"] == "idle" for s in sessions)


@pytest.fixture(autouse=True)
def _fresh_kernels(lab):
    """Each test starts and ends with no kernel running, so one lesson cannot hold up the next."""
    yield
    for session in _sessions(lab):
        request = urllib.request.Request(f"{lab}/api/sessions/{session['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def open_lesson(page, lab: str, name: str) -> None:
    """Open a lesson in a fresh workspace and wait until its own kernel is up and idle."""
    page.goto(f"{lab}/lab/tree/{name}?reset")
    page.wait_for_selector(f"{PANEL} .jp-Notebook .jp-CodeCell")
    deadline = time.monotonic() + 90
    while not _kernels_idle(lab, name):
        assert time.monotonic() < deadline, f"{name}: the kernel did not start"
        time.sleep(0.5)
    page.wait_for_selector(f'{PANEL} .jp-Notebook-ExecutionIndicator[data-status="idle"]', state="attached")


def run_all(page, lab: str, name: str, timeout: float = 600) -> None:
    """Run every cell from the Run menu and wait until each code cell has its execution count."""
    page.locator(f"{PANEL} .jp-Notebook").click(position={"x": 5, "y": 5})  # the notebook has the focus
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Run All Cells")).first.click()
    prompts = page.locator(f"{PANEL} .jp-CodeCell .jp-InputArea-prompt")
    start = time.monotonic()
    while True:
        texts = [t.strip() for t in prompts.all_inner_texts()]
        if texts and all(re.fullmatch(r"\[\d+\]:", t) for t in texts) and _kernels_idle(lab, name):
            return
        waited = time.monotonic() - start
        if waited > timeout or (waited > 20 and all(t == "[ ]:" for t in texts)):
            shot(page, f"{name}-not-run")
            pytest.fail(f"{name}: cells not run after {waited:.0f} s: {texts}")
        time.sleep(1)


def shot(page, name: str, element=None) -> Path:
    """A screenshot of `element` (a figure, a panel) or else of the whole window."""
    path = ARTIFACTS / f"{name.replace('.ipynb', '')}.png"  # "02_x.ipynb-not-run" keeps its own name
    if element is not None:
        element.scroll_into_view_if_needed()
        element.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=True)
    return path


def figures(page):
    """The figures the lesson's cells show (PNG outputs), as a learner sees them."""
    return page.locator(f"{PANEL} .jp-OutputArea .jp-RenderedImage img")


def broken_images(page) -> int:
    """Images that finished loading with nothing to show (a broken-image icon)."""
    return page.evaluate(
        """sel => [...document.querySelectorAll(sel)].filter(
               img => img.complete && img.naturalWidth === 0 && getComputedStyle(img).display !== 'none'
           ).length""",
        f"{PANEL} .jp-OutputArea-output img",
    )


def log_messages(page) -> str:
    """What JupyterLab's log badge counts (errors raised in widget callbacks land there); empty when none."""
    badge = page.locator(".jp-LogConsoleStatusItem")
    if badge.count() == 0:
        return ""
    text = badge.first.inner_text().strip()
    return text if re.search(r"[1-9]", text) else ""


def no_failures(page, name: str) -> None:
    """No cell shows an error, no widget failed to render, no figure is printed as text, no image is broken,
    and nothing reached JupyterLab's log."""
    errors = page.locator(f'{PANEL} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    tracebacks = page.locator(f"{PANEL} .jp-OutputArea-output .jp-RenderedText[data-mime-type*='error']")
    assert tracebacks.count() == 0, f"{name}: {tracebacks.first.inner_text()[:500]}"
    text = page.locator(f"{PANEL} .jp-Notebook").inner_text()
    for failure in WIDGET_FAILURES:
        assert failure not in text, f"{name}: a widget shows {failure!r}"
    assert "<Figure size" not in text, f"{name}: a figure is printed as text"
    for i in range(errors.count()):  # stderr may hold notices, never a traceback
        assert "Traceback" not in errors.nth(i).inner_text(), f"{name}: {errors.nth(i).inner_text()[:500]}"
    assert broken_images(page) == 0, f"{name}: a broken image"
    assert not log_messages(page), f"{name}: JupyterLab's log has messages: {log_messages(page)}"


@pytest.mark.parametrize("name", LESSONS)
def test_every_lesson_runs_in_the_browser_without_errors(page, lab, name):
    open_lesson(page, lab, name)
    run_all(page, lab, name)
    no_failures(page, name)
    if name[:2] != "00":
        assert page.locator(f"{PANEL} .jp-OutputArea-output .widget-vbox").count() > 0, f"{name}: no panel shown"
        shown = figures(page)
        assert shown.count() > 0, f"{name}: no figure shown"
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=shown.first.element_handle())
        stem = Path(name).stem
        print(f"{name}: figure {shot(page, f'{stem}-figure', shown.first)}")
        print(f"{name}: last figure {shot(page, f'{stem}-figure-last', shown.last)}")
    print(f"{name}: screenshot {shot(page, name)}")


def _panel(page):
    """The lesson's widget panel (the first output holding the Run button)."""
    return page.locator(f"{PANEL} .jp-OutputArea-output", has=page.locator(".widget-button", has_text="Run")).first


def _set_readout(widget, value: str) -> None:
    """Type a value into a slider's editable readout, as a learner can."""
    readout = widget.locator(".widget-readout")
    readout.click()
    readout.press("Control+A")
    readout.type(value)
    readout.press("Enter")


def test_the_denoising_panel_responds_to_a_learner(page, lab):
    name = "02_denoising.ipynb"
    open_lesson(page, lab, name)
    run_all(page, lab, name)
    panel = _panel(page)

    label = panel.get_by_text(re.compile(r"corrupted image x̂: PSNR"))
    before = label.inner_text()
    _set_readout(panel.locator(".widget-hslider", has_text="noise σ"), "60")
    page.wait_for_function("([el, old]) => el.innerText !== old", arg=[label.element_handle(), before], timeout=20_000)
    assert float(re.search(r"([\d.]+) dB", label.inner_text()).group(1)) < float(
        re.search(r"([\d.]+) dB", before).group(1)
    )

    iterations = panel.locator(".widget-text", has_text="iterations").locator("input")
    iterations.fill("100000")
    iterations.press("Enter")
    live = panel.locator("img").nth(1)  # the live output, after the preview
    status = panel.get_by_text(re.compile(r"^iteration \d+/100000"))
    panel.locator(".widget-button", has_text=re.compile(r"^\s*Run\s*$")).click()
    status.wait_for(timeout=60_000)
    first = live.get_attribute("src")
    page.wait_for_function(
        "([el, old]) => el.getAttribute('src') !== old", arg=[live.element_handle(), first], timeout=30_000
    )  # the live image changes while the fit runs
    shot(page, "02_denoising-running", panel)

    deadline = time.monotonic() + 60
    while int(re.search(r"iteration (\d+)/", status.inner_text()).group(1)) <= 80:  # past the first snapshot
        assert time.monotonic() < deadline, "the run does not advance"
        time.sleep(0.5)
    panel.locator(".widget-button", has_text="Stop").click()
    done = panel.get_by_text(re.compile(r"^stopped after \d+ iterations"))
    done.wait_for(timeout=60_000)
    stopped_at = int(re.search(r"after (\d+)", done.inner_text()).group(1))
    assert 0 < stopped_at < 100000

    snapshot = panel.get_by_text(re.compile(r"^iteration \d+$")).first
    assert snapshot.inner_text() == f"iteration {stopped_at}"  # the scrubber ends on the partial result
    scrubber = panel.locator(".widget-hslider", has_text="snapshot")
    for _ in range(10):  # the slider may still be taking its new range from the kernel: try until it moves
        scrubber.locator(".noUi-handle").focus()  # by keyboard, as a learner who does not use a mouse can
        page.keyboard.press("Home")
        page.wait_for_timeout(1000)
        if snapshot.inner_text() != f"iteration {stopped_at}":
            break
    shot(page, "02_denoising-scrubbed", panel)
    assert snapshot.inner_text() == "iteration 0"  # the untrained network's output, the first snapshot
    shot(page, "02_denoising-stopped", panel)

    panel.locator(".widget-toggle-button", has_text="Replay").click()  # the precomputed 8000 iterations
    panel.get_by_text(re.compile(r"^replay 02-denoise: lesson scale")).wait_for(timeout=30_000)
    panel.get_by_text(re.compile(r"^finished after 8000 iterations")).wait_for(timeout=10_000)
    assert snapshot.inner_text() == "iteration 8000"  # the scrubber now runs over the replay
    assert panel.locator(".widget-button", has_text=re.compile(r"^\s*Run\s*$")).is_disabled()
    shot(page, "02_denoising-replay", panel)


def test_the_inpainting_panel_switches_between_the_three_kinds(page, lab):
    name = "03_inpainting.ipynb"
    open_lesson(page, lab, name)
    run_all(page, lab, name)
    panel = _panel(page)
    task = panel.locator(".widget-dropdown", has_text="task").locator("select")
    preview = panel.locator("img").first
    seen = set()
    for kind in ("inpainting: text", "inpainting: random pixels", "inpainting: region"):
        old = preview.get_attribute("src")
        task.select_option(label=kind)
        page.wait_for_function(
            "([el, old]) => el.getAttribute('src') !== old", arg=[preview.element_handle(), old], timeout=20_000
        )
        seen.add(preview.get_attribute("src"))
        shot(page, f"03_inpainting-{kind.split(': ')[1].replace(' ', '-')}")
    assert len(seen) == 3


def test_stop_ends_a_run_started_by_run_all(page, lab):
    """Run All blocks the kernel in `panel.run()`; a Stop click must still reach the fit and end it."""
    lesson = json.loads((ROOT / "notebooks" / "02_denoising.ipynb").read_text())
    for cell in lesson["cells"]:
        text = "".join(cell["source"])
        if 'lessons.budget("02")' in text:
            cell["source"] = text.replace('lessons.budget("02")', 'lessons.budget("02")\niters = 100_000  # long')
    name = "02_denoising-long.ipynb"
    body = json.dumps({"type": "notebook", "format": "json", "content": lesson}).encode()
    request = urllib.request.Request(f"{lab}/api/contents/{name}", data=body, method="PUT")
    urllib.request.urlopen(request, timeout=30).close()

    open_lesson(page, lab, name)
    page.locator(f"{PANEL} .jp-Notebook").click(position={"x": 5, "y": 5})
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Run All Cells")).first.click()
    panel = _panel(page)
    status = panel.get_by_text(re.compile(r"^iteration \d+/100000"))
    status.wait_for(timeout=120_000)
    deadline = time.monotonic() + 120
    while int(re.search(r"iteration (\d+)/", status.inner_text()).group(1)) <= 100:
        assert time.monotonic() < deadline, "the run does not advance"
        time.sleep(0.5)
    clicked = time.monotonic()
    panel.locator(".widget-button", has_text="Stop").click()
    done = panel.get_by_text(re.compile(r"^stopped after \d+ iterations"))
    done.wait_for(timeout=20_000)
    waited = time.monotonic() - clicked
    stopped_at = int(re.search(r"after (\d+)", done.inner_text()).group(1))
    print(f"Stop during Run All: stopped after {stopped_at} iterations, {waited:.1f} s after the click")
    assert 100 < stopped_at < 100_000 and waited < 20
    shot(page, "02_denoising-stopped-during-run-all", panel)
    run_all_done = time.monotonic() + 300  # the rest of the lesson then runs on the stopped run
    while not _kernels_idle(lab, name):
        assert time.monotonic() < run_all_done, "the lesson did not finish after Stop"
        time.sleep(1)
