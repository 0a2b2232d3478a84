"""How many CPU threads a fit may use: no more than the CPUs this process is given.

PyTorch starts one thread per physical core of the machine. In a container with a CPU quota (a JupyterHub
pod, a CI runner) that can be many more threads than CPUs, and OpenMP threads that wait for each other on
shared cores slow the whole fit several times over. The fit lowers the count to the CPUs it may use.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

CGROUP = Path("/sys/fs/cgroup")
ENV_KEYS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # a count the user set is left alone


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


def usable(root: Path | None = None) -> int:
    """The CPUs this process may run on: its affinity set, capped by the quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        count = os.cpu_count() or 1
    limit = quota(root)
    return min(count, limit) if limit else count


def limit_threads(root: Path | None = None) -> int:
    """Lower PyTorch's thread count to the usable CPUs (never raise it, never override the user's); the count."""
    if not any(os.environ.get(key) for key in ENV_KEYS):
        allowed = usable(root)
        if torch.get_num_threads() > allowed:
            torch.set_num_threads(allowed)
    return torch.get_num_threads()
