"""A class on one JupyterHub: the hub of classroom/jupyterhub_config.py, started on 127.0.0.1 as a teacher would
start it, with three learners.

Each learner logs in through the hub's login page, gets a server (whose start copies the lessons into their home),
and runs lesson 02 in a kernel of that server, through the hub's REST API and the kernel's websocket, as JupyterLab
does; the three run at the same time, under the test mode. The test checks that every cell runs without an error
(so the lesson's assert cells pass) and every exercise's folded solution is right; that each kernel runs as many
PyTorch threads as its share (`c.Spawner.cpu_limit`, which reaches the kernel as CPU_LIMIT); that no learner's fit
starves the others; and that the servers, the kernels, the proxy and the hub all stop when the hub is stopped.
It prints each learner's minutes and kernel's peak memory (and writes them to $DIP_EDU_ARTIFACTS/hub.json).

It needs JupyterHub (the `test` extra) and configurable-http-proxy (`npm install --prefix classroom`), and skips
without them, except where DIP_EDU_REQUIRE_HUB=1 (CI sets it), where their absence fails. About a minute on two
cores.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dip_edu import exercises

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "classroom" / "jupyterhub_config.py"
LESSON = "02_denoising.ipynb"  # its test mode fits 300 iterations at 64×64: under a minute for each of three
LEARNERS = ("ada", "grace", "alan")
CPU_LIMIT = 1  # three learners on two cores: one thread each keeps the cores busy without oversubscribing them
# Fair sharing bounds how far apart the three may finish. Each kernel runs one thread, and Linux shares the two
# cores fairly among runnable threads, so each gets at least 2/3 of a core while all three run (and more once
# one ends): the fastest can at best run on a whole core while the slowest gets 2/3, 1.5 times slower. A run slower
# than that was starved (too many threads fighting for the cores, or one learner's fit holding them).
STARVED = 1.5
START_SECONDS = 240  # three servers starting at once on two cores, each importing PyTorch for the lesson copy
CELL_SECONDS = 600  # no lesson cell in test mode comes near this; it only bounds a hung kernel
FIRST_ANSWER_SECONDS = 90  # a kernel that died at launch has been restarted well within this
CONNECTIONS = 3

PROBE = """
import json, os, resource, torch
from dip_edu import lessons
print(json.dumps({
    "threads": torch.get_num_threads(),
    "cpu_limit": os.environ.get("CPU_LIMIT"),
    "mem_limit": os.environ.get("MEM_LIMIT"),
    "test_mode": os.environ.get("DIP_EDU_TEST_MODE"),
    "settings": lessons.environment()["process settings"],
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    "cwd": os.getcwd(),
}))
"""


def _missing() -> str | None:
    """What this machine lacks to run the hub, or None."""
    if importlib.util.find_spec("jupyterhub") is None:
        return 'JupyterHub is not installed: python -m pip install -e ".[test]"'
    local = ROOT / "classroom" / "node_modules" / ".bin" / "configurable-http-proxy"
    if not local.exists() and not shutil.which("configurable-http-proxy"):
        return "configurable-http-proxy is not installed: npm install --prefix classroom (needs Node.js)"
    return None


def _require_hub() -> None:
    """Skip without the hub's programs, or fail where DIP_EDU_REQUIRE_HUB=1."""
    missing = _missing()
    if missing and os.environ.get("DIP_EDU_REQUIRE_HUB") == "1":
        pytest.fail(f"DIP_EDU_REQUIRE_HUB=1, but {missing}")
    if missing:
        pytest.skip(missing)


def _free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now, all different (held open together while they are picked)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Learner:
    name: str
    token: str = ""
    outputs: list[dict] = field(default_factory=list)  # errors, and checks that said "not yet"
    started: float = 0.0
    finished: float = 0.0
    probe: dict = field(default_factory=dict)
    server_mib: float = 0.0  # the learner's Jupyter server itself (without the kernel), after the lesson
    restarts: int = 0  # kernel restarts because a new kernel did not answer
    failure: str = ""

    @property
    def minutes(self) -> float:
        return (self.finished - self.started) / 60


class Hub:
    """The hub process started from the classroom's configuration, and a teacher's access to its REST API."""

    def __init__(self, root: Path) -> None:
        import requests

        self.requests = requests
        self.root = root
        port, api_port, proxy_port = _free_ports(3)
        self.url = f"http://127.0.0.1:{port}"
        self.token = secrets.token_hex(16)
        self.password = secrets.token_hex(8)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "OMP_", "MKL_", "CPU_LIM"))}
        env.update(
            DIP_EDU_HUB_TEST="1",
            DIP_EDU_HUB_ROOT=str(root),
            DIP_EDU_HUB_PORT=str(port),
            DIP_EDU_HUB_API_PORT=str(api_port),
            DIP_EDU_PROXY_API_PORT=str(proxy_port),
            DIP_EDU_HUB_TOKEN=self.token,
            DIP_EDU_HUB_PASSWORD=self.password,
            DIP_EDU_CPU_LIMIT=str(CPU_LIMIT),
            DIP_EDU_TEST_MODE="1",
        )
        self.log = root / "hub.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)],
                cwd=root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: the test's Ctrl-C or end reaches it only through the test
            )

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def api(self, method: str, path: str, token: str | None = None, **kwargs):
        headers = {"Authorization": f"token {token or self.token}"}
        return self.requests.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=30, **kwargs)

    def wait_up(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the hub exited ({self.process.returncode}):\n{self.tail()}"
            try:
                if self.requests.get(f"{self.url}/hub/api/", timeout=5).status_code == 200:
                    return
            except self.requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"the hub did not answer within {seconds} s:\n{self.tail()}")

    def log_in(self, name: str) -> None:
        """Log in through the login page, as a learner's browser does."""
        session = self.requests.Session()
        session.get(f"{self.url}/hub/login", timeout=30).raise_for_status()
        form = {"username": name, "password": self.password, "_xsrf": session.cookies.get("_xsrf", "")}
        done = session.post(f"{self.url}/hub/login", data=form, allow_redirects=False, timeout=30)
        assert done.status_code == 302, f"{name} could not log in: {done.status_code} {done.text[:300]}"
        assert any(cookie.name.startswith("jupyterhub-session") or "login" in cookie.name for cookie in session.cookies)
        assert session.get(f"{self.url}/hub/home", allow_redirects=False, timeout=30).status_code == 200

    def start_server(self, learner: Learner) -> None:
        """A token for the learner (as the teacher), then the learner's server started with it, and waited for."""
        made = self.api("POST", f"/users/{learner.name}/tokens", json={"note": "lesson run", "expires_in": 3600})
        assert made.status_code in (200, 201), made.text
        learner.token = made.json()["token"]
        started = self.api("POST", f"/users/{learner.name}/server", token=learner.token)
        assert started.status_code in (201, 202), started.text
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            server = self.api("GET", f"/users/{learner.name}").json()["servers"].get("")
            if server and server["ready"]:
                return
            assert server, f"{learner.name}'s server did not start:\n{self.tail()}"
            time.sleep(1)
        raise AssertionError(f"{learner.name}'s server was not ready within {START_SECONDS} s:\n{self.tail()}")

    def user_api(self, learner: Learner, method: str, path: str, **kwargs):
        headers = {"Authorization": f"token {learner.token}"}
        url = f"{self.url}/user/{learner.name}/api{path}"
        return self.requests.request(method, url, headers=headers, timeout=60, **kwargs)

    def stop_server(self, name: str) -> None:
        stopped = self.api("DELETE", f"/users/{name}/server")
        assert stopped.status_code in (202, 204), stopped.text
        deadline = time.monotonic() + 60
        while self.api("GET", f"/users/{name}").json()["servers"]:
            assert time.monotonic() < deadline, f"{name}'s server did not stop:\n{self.tail()}"
            time.sleep(0.5)


def _message(raw: str | bytes) -> dict:
    """A kernel message from the websocket: JSON text, or binary (a widget's buffers) led by its JSON part."""
    if isinstance(raw, bytes):
        count = int.from_bytes(raw[:4], "big")
        offsets = [int.from_bytes(raw[4 * (i + 1) : 4 * (i + 2)], "big") for i in range(count)]
        raw = raw[offsets[0] : offsets[1] if count > 1 else None]
    return json.loads(raw)


def _execute(ws, code: str, session: str, seconds: float = CELL_SECONDS) -> list[dict]:
    """Run `code` in the kernel behind the websocket; the outputs it made (stream, display, result, error)."""
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "session": session, "username": "", "version": "5.3"}
    content = {"code": code, "silent": False, "store_history": True, "allow_stdin": False, "stop_on_error": True}
    request = {"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": "shell"}
    ws.send(json.dumps(request))
    outputs, idle, replied = [], False, False
    deadline = time.monotonic() + seconds
    while not (idle and replied):
        ws.settimeout(max(1.0, deadline - time.monotonic()))
        msg = _message(ws.recv())  # a hung kernel ends in a timeout here
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind in ("stream", "display_data", "execute_result", "error"):
            outputs.append({"output_type": kind, **msg["content"]})
        idle = idle or (kind == "status" and msg["content"]["execution_state"] == "idle")
        replied = replied or kind == "execute_reply"
    return outputs


def _problems(outputs: list[dict]) -> list[str]:
    """Errors, and exercise checks that said "not yet" to a folded solution."""
    found = []
    for out in outputs:
        if out["output_type"] == "error":
            found.append(f"{out['ename']}: {out['evalue']}")
        elif out["output_type"] == "stream" and exercises.NOT_YET in out["text"]:
            found.append(out["text"].strip())
    return found


def _code_cells(notebook: dict) -> list[str]:
    """The lesson's code cells, each exercise's attempt replaced by its folded solution (as the test mode does)."""
    import nbformat

    cells = nbformat.from_dict(notebook).cells
    folded = exercises.solutions(cells)
    code = []
    for cell in cells:
        if cell.cell_type == "code":
            attempt = exercises.ATTEMPT.match(cell.source)
            code.append(folded[attempt.group(1)] if attempt else cell.source)
    return code


def _connect(hub: Hub, learner: Learner, kernel: str, session: str):
    """A websocket to the learner's kernel, once the kernel has answered through it.

    A kernel whose port another process took dies at launch, and the automatic restart moves it to new ports (the
    classroom's `cache_ports=False`), where the learner's server reaches it only after a restart through the API:
    what a learner does with JupyterLab's "Restart kernel" when a new notebook's kernel does not answer.
    """
    import websocket

    url = hub.url.replace("http", "ws", 1) + f"/user/{learner.name}/api/kernels/{kernel}/channels?session_id={session}"
    for attempt in range(CONNECTIONS):
        if attempt:
            learner.restarts += 1
            restarted = hub.user_api(learner, "POST", f"/kernels/{kernel}/restart")
            assert restarted.status_code == 200, f"{learner.name} could not restart the kernel: {restarted.text}"
        ws = None
        try:
            ws = websocket.create_connection(url, header=[f"Authorization: token {learner.token}"], timeout=150)
            _execute(ws, "pass", session, seconds=FIRST_ANSWER_SECONDS)
            return ws
        except (websocket.WebSocketException, OSError):
            if ws is not None:
                ws.close()
    raise AssertionError(f"{learner.name}'s kernel did not answer, restarted {CONNECTIONS - 1} times:\n{hub.tail()}")


def _run_lesson(hub: Hub, learner: Learner, go: threading.Barrier) -> None:
    """One learner: open the lesson from their home, then run its cells in a kernel; the lesson starts together
    with the other learners' (`go`)."""

    try:
        listing = hub.user_api(learner, "GET", "/contents/lessons").json()
        assert sorted(item["name"] for item in listing["content"]) == sorted(
            p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
        ), listing
        notebook = hub.user_api(learner, "GET", f"/contents/lessons/{LESSON}").json()["content"]
        made = hub.user_api(
            learner,
            "POST",
            "/sessions",
            json={"path": f"lessons/{LESSON}", "name": LESSON, "type": "notebook", "kernel": {"name": "python3"}},
        )
        assert made.status_code == 201, made.text
        kernel, session = made.json()["kernel"]["id"], uuid.uuid4().hex
        ws = _connect(hub, learner, kernel, session)
        try:
            go.wait(timeout=START_SECONDS)
            learner.started = time.monotonic()
            for code in _code_cells(notebook):
                outputs = _execute(ws, code, session)
                problems = _problems(outputs)
                if problems:
                    learner.outputs.append({"cell": code[:200], "problems": problems})
                    break
            learner.finished = time.monotonic()
            printed = "".join(o["text"] for o in _execute(ws, PROBE, session) if o["output_type"] == "stream")
            learner.probe = json.loads(printed.strip().splitlines()[-1])
        finally:
            ws.close()
    except Exception as exc:  # reported by the test, with the hub's log
        go.abort()
        learner.failure = f"{type(exc).__name__}: {exc}"


def _report(learners: list[Learner], seconds: float) -> str:
    lines = [
        f"hub test: {len(learners)} learners, lesson {LESSON}, test mode, cpu_limit {CPU_LIMIT}, "
        f"{os.cpu_count()} CPUs here, {seconds / 60:.1f} min in all",
        "| learner | minutes | kernel's peak memory (MiB) | server's memory (MiB) | PyTorch threads | CPU_LIMIT "
        "| restarts |",
        "|---|---|---|---|---|---|---|",
    ]
    for learner in learners:
        probe = learner.probe
        lines.append(
            f"| {learner.name} | {learner.minutes:.2f} | {probe.get('peak_mib', 0):.0f} | {learner.server_mib:.0f} "
            f"| {probe.get('threads')} | {probe.get('cpu_limit')} | {learner.restarts} |"
        )
    minutes = [learner.minutes for learner in learners]
    lines.append(f"slowest / fastest: {max(minutes) / min(minutes):.2f} (starved above {STARVED})")
    return "\n".join(lines)


def test_a_class_of_three_runs_a_lesson_at_once_on_one_hub(tmp_path, capsys):
    import psutil

    _require_hub()
    began = time.monotonic()
    hub = Hub(tmp_path)
    spawned: list = []  # every process under the hub: the proxy, the learners' servers and their kernels
    try:
        hub.wait_up()
        learners = [Learner(name) for name in LEARNERS]
        for learner in learners:
            hub.log_in(learner.name)
        starting = [threading.Thread(target=hub.start_server, args=(learner,)) for learner in learners]
        for thread in starting:
            thread.start()
        for thread in starting:
            thread.join()
        for learner in learners:
            assert hub.api("GET", f"/users/{learner.name}").json()["servers"][""]["ready"], hub.tail()
            home = tmp_path / "home" / learner.name / "lessons"
            assert (home / LESSON).read_bytes() == (ROOT / "notebooks" / LESSON).read_bytes()

        go = threading.Barrier(len(learners))
        runs = [threading.Thread(target=_run_lesson, args=(hub, learner, go)) for learner in learners]
        for thread in runs:
            thread.start()
        for thread in runs:
            thread.join()
        spawned = psutil.Process(hub.process.pid).children(recursive=True)
        for process in spawned:  # what each learner's server holds besides its kernel, to size a class's memory
            if "jupyterhub.singleuser" in " ".join(process.cmdline()):
                owner = process.environ().get("JUPYTERHUB_USER")
                for learner in learners:
                    if learner.name == owner:
                        learner.server_mib = process.memory_info().rss / 2**20
        for learner in learners:
            assert not learner.failure, f"{learner.name}: {learner.failure}\n{hub.tail()}"
            assert not learner.outputs, f"{learner.name}'s lesson failed: {learner.outputs}"

        with capsys.disabled():
            print("\n" + _report(learners, time.monotonic() - began))
        if os.environ.get("DIP_EDU_ARTIFACTS"):
            folder = Path(os.environ["DIP_EDU_ARTIFACTS"])
            folder.mkdir(parents=True, exist_ok=True)
            record = {x.name: {"minutes": x.minutes, "server_mib": x.server_mib, **x.probe} for x in learners}
            (folder / "hub.json").write_text(json.dumps(record, indent=1))

        for learner in learners:
            probe = learner.probe
            assert probe["test_mode"] == "1" and probe["cpu_limit"] == str(float(CPU_LIMIT)), probe
            assert probe["threads"] == CPU_LIMIT, f"{learner.name}'s kernel runs {probe['threads']} threads"
            assert f"PyTorch threads capped at {CPU_LIMIT}" in probe["settings"], probe["settings"]
            assert Path(probe["cwd"]) == tmp_path / "home" / learner.name / "lessons"
        # the three ran at the same time: each started before any finished
        assert max(learner.started for learner in learners) < min(learner.finished for learner in learners)
        minutes = [learner.minutes for learner in learners]
        assert max(minutes) / min(minutes) < STARVED, _report(learners, time.monotonic() - began)
        names = [" ".join(p.cmdline()) for p in spawned]
        assert sum("configurable-http-proxy" in n for n in names) == 1, names
        assert sum("ipykernel" in n for n in names) == len(learners), names

        # The class ends: the teacher stops each learner's server, then the hub, which stops its proxy.
        for learner in learners:
            hub.stop_server(learner.name)
        hub.process.send_signal(signal.SIGTERM)
        assert hub.process.wait(timeout=60) == 0, hub.tail()
        _, alive = psutil.wait_procs(spawned, timeout=30)
        assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], [p.cmdline() for p in alive]
        assert not (tmp_path / "proxy.pid").exists()
    finally:
        if hub.process.poll() is None:  # a check above failed with the hub running: what it runs now goes too
            spawned = [*spawned, *psutil.Process(hub.process.pid).children(recursive=True)]
        for process in [*spawned, hub.process]:  # whatever failed above, nothing is left running
            try:
                process.kill()
            except (psutil.NoSuchProcess, ProcessLookupError):
                pass
        if hub.process.poll() is None:
            hub.process.wait(timeout=30)


def _wait_for(check, seconds: float, failure: str):
    """Poll `check` until it returns something truthy; that value, or an AssertionError saying `failure`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(failure)


def test_a_learner_restarts_a_kernel_whose_port_was_taken(tmp_path):
    """With a class, many servers pick kernel ports at once, and another process can take a port that a learner's
    server picked before the kernel binds it: the kernel dies at launch. Under the settings the classroom gives the
    learners' servers, the automatic restart moves the kernel to new ports, and JupyterLab's "Restart kernel" brings
    it back; under Jupyter's defaults every restart retries the taken port and the kernel is lost."""
    import requests
    import websocket
    from traitlets.config.loader import PyFileConfigLoader

    _require_hub()  # the classroom's configuration refuses to load without its proxy
    learner_args = list(PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config().Spawner.args)
    # A kernel that waits before it binds its ports, so that the test takes one of them first.
    spec = tmp_path / "kernels" / "late"
    spec.mkdir(parents=True)
    late = f'sleep 3; exec "{sys.executable}" -m ipykernel_launcher -f "$0"'
    (spec / "kernel.json").write_text(
        json.dumps({"argv": ["/bin/sh", "-c", late, "{connection_file}"], "language": "python", "display_name": "late"})
    )
    runtime, (port,), token = tmp_path / "runtime", _free_ports(1), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_PATH": str(tmp_path), "JUPYTER_RUNTIME_DIR": str(runtime)}
    command = [sys.executable, "-m", "jupyter_server", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}"]
    command += [f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}", "--no-browser"]
    command += [*learner_args, *(["--allow-root"] if os.geteuid() == 0 else [])]
    url, headers = f"http://127.0.0.1:{port}/api", {"Authorization": f"token {token}"}
    with open(tmp_path / "server.log", "wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    taken = socket.socket()
    try:

        def answers() -> bool:
            try:
                return requests.get(url, headers=headers, timeout=5).ok
            except requests.ConnectionError:
                return False

        _wait_for(answers, 60, "the learner's server did not start")
        kernel = requests.post(f"{url}/kernels", headers=headers, json={"name": "late"}, timeout=60).json()["id"]
        connection = runtime / f"kernel-{kernel}.json"
        first = json.loads(connection.read_text())["control_port"]
        taken.bind(("127.0.0.1", first))
        taken.listen()

        def moved() -> int:
            try:
                now = json.loads(connection.read_text())["control_port"]
            except (FileNotFoundError, json.JSONDecodeError):  # between a restart's cleanup and its new file
                return 0
            return 0 if now == first else now

        def listening(port: int) -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        moved_to = _wait_for(moved, 60, "every automatic restart retried the taken port: the kernel is lost")
        # the learner restarts a kernel that has come up (and not answered), not one still being restarted
        _wait_for(lambda: listening(moved_to), 60, "the restarted kernel did not bind its new ports")
        restarted = requests.post(f"{url}/kernels/{kernel}/restart", headers=headers, timeout=120)
        assert restarted.status_code == 200, restarted.text
        session = uuid.uuid4().hex
        ws = websocket.create_connection(
            f"{url}/kernels/{kernel}/channels?session_id={session}".replace("http", "ws", 1),
            header=[f"Authorization: token {token}"],
            timeout=60,
        )
        try:
            outputs = _execute(ws, "print(6 * 7)", session, seconds=FIRST_ANSWER_SECONDS)
        finally:
            ws.close()
        assert [o.get("text") for o in outputs] == ["42\n"], outputs
    finally:
        taken.close()
        server.terminate()
        server.wait(timeout=30)
