"""JupyterLab in headless Chromium, for the lessons as a learner sees them.

A session-wide JupyterLab serves a copy of the lessons (so the repository's notebooks are never saved over)
in test mode, with a fresh settings, workspace and browser profile. Without a browser the tests skip on a
developer machine; in CI (DIP_EDU_REQUIRE_BROWSER=1) a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("DIP_EDU_ARTIFACTS", ROOT / "artifacts")) / "screenshots"
CHROME_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage", "--disable-gpu"]


def _unavailable(reason: str) -> None:
    if os.environ.get("DIP_EDU_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required here, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = os.environ.get("DIP_EDU_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        _unavailable("no chromium on PATH (Debian: apt-get install chromium; or set DIP_EDU_CHROMIUM)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Python Playwright is not installed (pip install playwright)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(folder: Path) -> None:
    """Every cell in the page (no virtual scrolling), and no news or update pop-ups."""
    values = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, value in values.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@pytest.fixture(scope="session")
def lab(chromium, tmp_path_factory) -> str:
    """Start JupyterLab on a free local port; yield its base URL; stop it afterwards."""
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", work / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    _settings(work / "settings")
    port = _free_port()
    env = {
        **os.environ,
        "DIP_EDU_TEST_MODE": "1",
        "JUPYTERLAB_SETTINGS_DIR": str(work / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
    }
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={work / 'notebooks'}",
        "--ServerApp.terminals_enabled=False",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root
    url = f"http://127.0.0.1:{port}"
    server = _serve(command, env, work / "lab.log", f"{url}/api/status", "JupyterLab")
    yield url
    _stop(server)


def _serve(command: list[str], env: dict, log_path: Path, ready_url: str, what: str) -> subprocess.Popen:
    """Start a server, wait until `ready_url` answers (at most two minutes), return the process."""
    log = open(log_path, "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    server.log = log  # closed by _stop
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(ready_url, timeout=2) as reply:
                if reply.status == 200:
                    return server
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"{what} did not start; its log:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    server.log.close()


@pytest.fixture(scope="session")
def voila(chromium, tmp_path_factory) -> str:
    """The lessons served as `dip-edu present` serves them (Voilà, presenter mode), in test mode; its base URL."""
    from dip_edu import present

    work = tmp_path_factory.mktemp("voila")
    shutil.copytree(ROOT / "notebooks", work / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    port = _free_port()
    command = present.command(work / "notebooks", port=port, browser=False)  # the folder: one page per lesson
    command += ["--Voila.ip=127.0.0.1"]
    env = {**os.environ, "DIP_EDU_TEST_MODE": "1", present.ENV: "1"}
    url = f"http://127.0.0.1:{port}"
    server = _serve(command, env, work / "voila.log", url, "Voilà")
    yield url
    _stop(server)


@pytest.fixture(scope="session")
def context(chromium, tmp_path_factory):
    """One headless Chromium with a fresh profile for the whole session."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {ARTIFACTS}")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")),
            executable_path=chromium,
            headless=True,
            args=CHROME_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        yield ctx
        ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    page.close()
