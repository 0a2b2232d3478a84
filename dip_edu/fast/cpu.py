"""How a fit uses the CPU: no more threads than the CPUs this process is given, and memory reused between steps.

PyTorch starts one thread per physical core of the machine. In a container with a CPU quota (a JupyterHub
pod, a CI runner) that can be many more threads than CPUs, and OpenMP threads that wait for each other on
shared cores slow the whole fit several times over. The fit lowers the count to the CPUs it may use: its affinity
set, the control group's quota, and the share JupyterHub gives each learner (`CPU_LIMIT`), which on one shared
server without containers is the only limit a learner's kernel can see.

glibc's malloc returns every freed block of 32 MiB or more to the kernel and takes fresh pages for the
next one, so each step of a large fit pays a page fault per 4 KiB of every big feature map, forward and
backward. The fit has malloc keep such blocks for the next step instead, and hands them back when it ends.

Both settings belong to the whole process: `dip_edu.fast.configure` turns either off.
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch

T = TypeVar("T")

CGROUP = Path("/sys/fs/cgroup")
ENV_KEYS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # a count the user set is left alone
HUB_KEY = "CPU_LIMIT"  # JupyterHub's Spawner.cpu_limit, in the environment of each learner's server and kernels


def quota(root: Path | None = None) -> int | None:
    """CPUs allowed by the control group's quota (cgroup v2 `cpu.max` or v1 `cpu.cfs_*`), None when unlimited."""
    root = CGROUP if root is None else root
    try:
        limit, period = (root / "cpu.max").read_text().split()[:2]
        if limit != "max":
            return max(1, math.ceil(int(limit) / int(period)))
        return None
    except (OSError, ValueError):
        pass
    try:
        limit = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return max(1, math.ceil(limit / period)) if limit > 0 and period > 0 else None


def hub_share() -> int | None:
    """CPUs JupyterHub gives this learner (`CPU_LIMIT`, set from `c.Spawner.cpu_limit`), rounded up as the quota
    is; None when unset or not a positive number.

    JupyterHub only announces the share; a spawner that runs servers as plain processes does not enforce it, so
    without this cap every learner's fit would start a thread per core of the whole server.
    """
    try:
        share = float(os.environ.get(HUB_KEY, ""))
    except ValueError:
        return None
    return max(1, math.ceil(share)) if math.isfinite(share) and share > 0 else None


def usable(root: Path | None = None) -> int:
    """The CPUs this process may run on: its affinity set, capped by the quota and by the JupyterHub share."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        count = os.cpu_count() or 1
    limits = [limit for limit in (quota(root), hub_share()) if limit]
    return min([count, *limits])


def user_set_threads() -> bool:
    """Whether the user chose the thread count in the environment (then it is left alone)."""
    return any(os.environ.get(key) for key in ENV_KEYS)


def limit_threads(root: Path | None = None) -> int:
    """Lower PyTorch's thread count to the usable CPUs (never raise it, never override the user's); the count."""
    if not user_set_threads():
        allowed = usable(root)
        if torch.get_num_threads() > allowed:
            torch.set_num_threads(allowed)
    return torch.get_num_threads()


@functools.cache
def has_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU has AMX tiles for bf16 (Intel Xeon since Sapphire Rapids), where oneDNN runs bf16
    convolutions several times faster than float32. Read from Linux's CPU flags; False where they are not."""
    try:
        flags = cpuinfo.read_text()
    except OSError:
        return False
    return bool(torch.backends.mkldnn.is_available()) and " amx_bf16" in flags and " amx_tile" in flags


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
KEEP_BELOW = 1 << 30  # blocks below 1 GiB come from the heap and are reused: a 512×512 map of 128 channels is 128 MiB
KEEP_FREE = 2**31 - 1  # free memory the heap keeps (mallopt takes an int): a 512×512 step frees more than 1 GiB
FALLBACK = 32 << 20  # the cap some glibc versions put on the threshold (HEAP_MAX_SIZE / 2 on 64-bit)
MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")  # a setting the user made is left alone


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (Linux), else None: other platforms' allocators are left as they are."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def _user_tuned() -> bool:
    """Whether the user set malloc's thresholds themselves, in the environment glibc reads at start-up."""
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    return any(os.environ.get(key) for key in MALLOC_ENV) or "threshold" in tunables


def can_keep_memory() -> bool:
    """Whether `reuse_memory` would change malloc here: glibc, and no threshold the user set."""
    return _glibc() is not None and not _user_tuned()


def reuse_memory() -> bool:
    """Have malloc keep freed blocks below 1 GiB for reuse instead of returning them to the kernel; True if set.

    Without it, every step of a large network maps fresh pages and faults them in again (hundreds of thousands
    of page faults per step for the paper network; docs/performance.md). The setting stays for the process (glibc
    has no way back to its sliding default); `give_back_memory` returns what a fit leaves free.
    """
    if not can_keep_memory():
        return False
    libc = _glibc()
    if not libc.mallopt(M_MMAP_THRESHOLD, KEEP_BELOW) and not libc.mallopt(M_MMAP_THRESHOLD, FALLBACK):
        return False
    return bool(libc.mallopt(M_TRIM_THRESHOLD, KEEP_FREE))


def give_back_memory() -> None:
    """Return the heap's free pages to the kernel (glibc's malloc_trim), so a finished fit holds no spare memory."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def off_main_thread(work: Callable[[], T]) -> T:
    """Run `work` in a short-lived thread, wait for it, and return its result (or raise its exception).

    Why: PyTorch's OpenMP runtime (libgomp) keeps a team of worker threads for every thread that has run parallel
    work, and once there are more such workers than CPUs it stops letting any team spin between parallel regions.
    A panel fits in its own thread, so a timing run in the notebook's main thread would leave an idle team behind
    and make every later panel fit about twice as slow on two cores. A thread that ends takes its team with it.
    """
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["result"] = work()
        except BaseException as exc:  # handed to the caller, who sees it as if `work` ran there
            box["error"] = exc

    thread = threading.Thread(target=run, name="dip-edu timing", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


class ThreadTrial:
    """A fit's step that, off the main thread, tries its thread count and one thread, and keeps the faster.

    Why: once the notebook's main thread has run parallel PyTorch work (a degradation, a learner's own loop), its
    idle OpenMP team stays, and a fit in another thread with every CPU can then run slower than with one (see
    `off_main_thread`). Which holds depends on what ran before, so it is measured: steps 2 to 1 + `TRIAL` with the
    thread count given, the next `TRIAL` with one, then the faster for the rest. The first step is a warm-up.
    """

    TRIAL = 4

    def __init__(self, step) -> None:
        self.step, self.calls, self.many = step, 0, torch.get_num_threads()
        self.seconds: dict[int, list[float]] = {}

    def __getattr__(self, name: str):
        return getattr(self.step, name)  # reset, graphed: the step's own

    def __call__(self, net_input: torch.Tensor):
        self.calls += 1
        if self.many == 1 or not 1 < self.calls <= 1 + 2 * self.TRIAL:
            return self.step(net_input)
        threads = self.many if self.calls <= 1 + self.TRIAL else 1
        torch.set_num_threads(threads)
        start = time.perf_counter()
        outputs = self.step(net_input)
        self.seconds.setdefault(threads, []).append(time.perf_counter() - start)
        if self.calls == 1 + 2 * self.TRIAL:
            torch.set_num_threads(min(self.seconds, key=lambda n: sorted(self.seconds[n])[self.TRIAL // 2]))
        return outputs
