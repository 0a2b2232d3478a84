"""JupyterHub for a class on one server: every learner gets the lessons in their home and a fair share of the CPUs.

Run it with `jupyterhub -f classroom/jupyterhub_config.py` (classroom/README.md says how). Two sets of settings:

- **A real class** (the default): learners are the server's own user accounts, logging in with their passwords;
  each one's server runs as that user. Read and adapt the block "A real class" below.
- **The tested set-up** (`DIP_EDU_HUB_TEST=1`, what tests/test_hub.py starts): any name logs in with one shared
  password, servers run as the user who started the hub with homes in a scratch folder, and everything listens on
  127.0.0.1 at the ports the test picked. Never for real learners: nothing separates one learner from another.

Both share the block "Every learner": the lessons copied into `~/lessons` as each server starts (`dip-edu lessons`,
which never overwrites a learner's edited copy), and each learner's share of CPUs and memory.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub defines it while it reads this file)

HERE = Path(__file__).resolve().parent
TEST = os.environ.get("DIP_EDU_HUB_TEST") == "1"

# ---------------------------------------------------------------------------------------------------------------
# Every learner
# ---------------------------------------------------------------------------------------------------------------

# The Python environment that has dip-edu and JupyterLab installed: the hub's own by default.
PYTHON = os.environ.get("DIP_EDU_PYTHON", sys.executable)

# Each learner's share. JupyterHub hands it to the learner's server as CPU_LIMIT and MEM_LIMIT; dip-edu's fits
# run no more PyTorch threads than CPU_LIMIT, so learners' fits do not fight over the cores. This spawner does not
# enforce either limit (The Littlest JupyterHub's and Kubernetes' spawners do): size the server so that
# learners x CPUs each <= cores, and learners x memory each fits in its memory with room to spare.
c.Spawner.cpu_limit = float(os.environ.get("DIP_EDU_CPU_LIMIT", "1"))
# Lesson 03's kernel peaked at 726 MiB, a server holds 150 MiB (docs/teaching.md): 2G leaves room for a second lesson.
c.Spawner.mem_limit = os.environ.get("DIP_EDU_MEM_LIMIT", "2G")

# Before the learner's server starts, as the learner: copy the lessons into ~/lessons, keeping any copy already
# there. A failed copy is logged and the server starts all the same (the learner can run `dip-edu lessons`).
STARTUP = 'py="$1"; shift; "$py" -m dip_edu.cli lessons "$HOME/lessons"; exec "$py" -m jupyterhub.singleuser "$@"'
c.Spawner.cmd = ["/bin/sh", "-c", STARTUP, "dip-edu-learner", PYTHON]
# Each kernel talks to its learner's server over TCP ports on 127.0.0.1, which the server picks just before the
# kernel starts. With a class, many servers pick ports at once, and another process can take a picked port before
# the kernel binds it: the kernel dies at launch. Without the port cache, the automatic restart moves the kernel to
# new ports and JupyterLab's "Restart kernel" reconnects it; with the cache (Jupyter's default) every restart
# retries the taken port and the kernel is lost (tests/test_hub.py shows both).
c.Spawner.args = ["--KernelManager.cache_ports=False"]
c.Spawner.default_url = "/lab/tree/lessons"  # JupyterLab, opened on the lessons' folder
c.Spawner.start_timeout = 180  # a busy server imports PyTorch slowly; the default 60 s is too short with a class
c.Spawner.http_timeout = 180

# The proxy in front of the hub and the learners' servers: `npm install --prefix classroom` puts it beside this file.
PROXY = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
if PROXY.exists():
    c.ConfigurableHTTPProxy.command = [str(PROXY)]
elif not shutil.which("configurable-http-proxy"):
    raise SystemExit("configurable-http-proxy not found: run `npm install --prefix classroom` in the project's folder")

# ---------------------------------------------------------------------------------------------------------------
if not TEST:
    # A real class on one server (not tested here). Start the hub as root, so it can start each learner's server
    # as that learner, from a folder that keeps its database and cookie secret, e.g. /srv/jupyterhub.
    c.JupyterHub.bind_url = "http://:8000"  # put HTTPS in front (c.JupyterHub.ssl_cert/ssl_key, or a web server)
    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"  # each learner's own account and home
    c.JupyterHub.authenticator_class = "pam"  # the accounts' own passwords
    c.Authenticator.allowed_users = set()  # the learners' user names; or c.Authenticator.allowed_groups = {"class"}
    c.Authenticator.admin_users = set()  # the teacher's user name: sees and stops every learner's server
    c.JupyterHub.cleanup_servers = True  # stopping the hub stops the learners' servers too

# ---------------------------------------------------------------------------------------------------------------
else:
    # The tested set-up: one machine, no system accounts, loopback only (tests/test_hub.py).
    root = Path(os.environ["DIP_EDU_HUB_ROOT"])
    c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['DIP_EDU_HUB_PORT']}"
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = int(os.environ["DIP_EDU_HUB_API_PORT"])
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['DIP_EDU_PROXY_API_PORT']}"
    c.ConfigurableHTTPProxy.pid_file = str(root / "proxy.pid")
    c.JupyterHub.db_url = f"sqlite:///{root / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(root / "cookie_secret")
    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"  # no accounts: testing only
    c.SimpleLocalProcessSpawner.home_dir_template = str(root / "home" / "{username}")
    c.Spawner.ip = "127.0.0.1"
    c.Spawner.env_keep.append("DIP_EDU_TEST_MODE")  # the lessons' small budgets, when the tests start the hub with it
    if os.geteuid() == 0:  # the servers run as whoever started the hub, root in CI, which Jupyter refuses by default
        c.Spawner.args = [*c.Spawner.args, "--allow-root"]
    c.JupyterHub.authenticator_class = "dummy"  # any name, one shared password: testing only
    c.DummyAuthenticator.password = os.environ["DIP_EDU_HUB_PASSWORD"]
    c.Authenticator.allow_all = True
    # The test drives the hub as a teacher's script would: a service with a token, allowed to manage users,
    # their servers and tokens.
    c.JupyterHub.services = [{"name": "teacher", "api_token": os.environ["DIP_EDU_HUB_TOKEN"]}]
    c.JupyterHub.load_roles = [
        {
            "name": "teacher",
            "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"],
            "services": ["teacher"],
        }
    ]
    c.JupyterHub.cleanup_servers = True
