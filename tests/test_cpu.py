import os
import subprocess
import sys

import pytest
import torch

import dip_edu as dip
from dip_edu.fast import cpu


def write(root, name, text):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "200000 100000\n"}, 2),
        ({"cpu.max": "150000 100000\n"}, 2),  # 1.5 CPUs of time: two threads can use it
        ({"cpu.max": "50000 100000\n"}, 1),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "400000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 4),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu.max": "garbage\n"}, None),
        ({}, None),
    ],
)
def test_the_quota_is_read_from_either_cgroup_version(tmp_path, files, expected):
    for name, text in files.items():
        write(tmp_path, name, text)
    assert cpu.quota(tmp_path) == expected


def test_usable_cpus_are_capped_by_the_quota(tmp_path):
    unlimited = cpu.usable(tmp_path)
    assert unlimited >= 1
    write(tmp_path, "cpu.max", "100000 100000\n")
    assert cpu.usable(tmp_path) == 1


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_threads_are_lowered_to_the_quota_unless_the_user_set_them(tmp_path, monkeypatch, threads):
    for key in cpu.ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    torch.set_num_threads(3)
    write(tmp_path, "cpu.max", "100000 100000\n")
    assert cpu.limit_threads(tmp_path) == 1 and torch.get_num_threads() == 1

    torch.set_num_threads(3)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cpu.limit_threads(tmp_path) == 3


def test_threads_are_never_raised(tmp_path, monkeypatch, threads):
    for key in cpu.ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    torch.set_num_threads(1)
    write(tmp_path, "cpu.max", "800000 100000\n")
    assert cpu.limit_threads(tmp_path) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 1), ("2", 2), ("0.5", 1), ("1.5", 2), ("4.0", 4), ("", None), ("0", None), ("-1", None), ("two", None),
     ("nan", None), ("inf", None)],
)  # fmt: skip
def test_the_jupyterhub_share_is_read_from_cpu_limit(monkeypatch, value, expected):
    monkeypatch.setenv(cpu.HUB_KEY, value)
    assert cpu.hub_share() == expected


def test_usable_cpus_are_capped_by_the_jupyterhub_share_and_the_quota(tmp_path, monkeypatch):
    monkeypatch.delenv(cpu.HUB_KEY, raising=False)
    unlimited = cpu.usable(tmp_path)
    monkeypatch.setenv(cpu.HUB_KEY, "1")
    assert cpu.usable(tmp_path) == 1
    monkeypatch.setenv(cpu.HUB_KEY, str(unlimited + 3))  # a share above the CPUs there are gives no more
    assert cpu.usable(tmp_path) == unlimited
    write(tmp_path, "cpu.max", "100000 100000\n")  # the smaller of quota and share wins
    assert cpu.usable(tmp_path) == 1


def test_threads_are_lowered_to_the_jupyterhub_share_unless_the_user_set_them(tmp_path, monkeypatch, threads):
    for key in cpu.ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv(cpu.HUB_KEY, "1")
    torch.set_num_threads(3)
    assert cpu.limit_threads(tmp_path) == 1 and torch.get_num_threads() == 1
    assert "PyTorch threads capped at 1" in dip.lessons.environment()["process settings"]  # what lesson 00 prints

    torch.set_num_threads(3)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cpu.limit_threads(tmp_path) == 3
    assert "threads capped" not in dip.lessons.environment()["process settings"]


def test_a_cpu_fit_keeps_to_the_quota(tmp_path, monkeypatch, threads, astronaut64):
    for key in cpu.ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    write(tmp_path, "cpu.max", "100000 100000\n")
    monkeypatch.setattr(cpu, "CGROUP", tmp_path)
    torch.set_num_threads(2)
    dip.fit(dip.noisy(astronaut64, 25), "tiny", iters=3, device="cpu")
    assert torch.get_num_threads() == 1


ALLOCATE = """
import resource, sys, torch
from dip_edu.fast import cpu
kept = cpu.reuse_memory() if sys.argv[1] == "reuse" else None
faults = []
for _ in range(16):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(16 << 20)  # a 64 MiB map, freed at once, as a step's activations are
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(kept, *faults)
"""
BLOCK_PAGES = (64 << 20) // os.sysconf("SC_PAGE_SIZE")  # the faults of one map: one per page


@pytest.mark.skipif(cpu._glibc() is None, reason="the setting is glibc's")
def test_freed_maps_are_reused_instead_of_faulted_in_again():
    env = {k: v for k, v in os.environ.items() if k not in (*cpu.MALLOC_ENV, "GLIBC_TUNABLES")}
    late = {}
    for mode in ("default", "reuse"):
        out = subprocess.run([sys.executable, "-c", ALLOCATE, mode], capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        kept, *faults = out.stdout.split()
        assert kept == ("True" if mode == "reuse" else "None")
        late[mode] = [int(count) for count in faults[8:]]
    # by default every block is new memory from the kernel, a fault per page; reused, the heap grows by a few
    # blocks while small allocations settle between them (up to six seen), then every block is memory it holds
    assert min(late["default"]) >= BLOCK_PAGES, late
    assert sum(late["reuse"]) < BLOCK_PAGES, late


def test_a_malloc_setting_the_user_made_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert cpu.reuse_memory() is False


def test_other_c_libraries_are_left_alone(monkeypatch):
    monkeypatch.setattr(cpu, "_glibc", lambda: None)
    assert cpu.reuse_memory() is False
    cpu.give_back_memory()  # nothing to do, and no error


def test_a_cpu_fit_reuses_memory_and_gives_it_back_even_when_interrupted(monkeypatch, astronaut64):
    calls = []
    monkeypatch.setattr(cpu, "reuse_memory", lambda: calls.append("reuse"))
    monkeypatch.setattr(cpu, "give_back_memory", lambda: calls.append("give back"))

    def interrupt(progress):
        raise KeyboardInterrupt

    run = dip.fit(dip.noisy(astronaut64, 25), "tiny", iters=5, every=2, callback=interrupt, device="cpu")
    assert run.status == "interrupted"
    assert calls == ["reuse", "give back"]


def test_off_main_thread_runs_the_work_elsewhere_and_hands_back_its_result_or_error():
    import threading

    import pytest

    from dip_edu.fast.cpu import off_main_thread

    assert off_main_thread(lambda: threading.current_thread() is threading.main_thread()) is False
    with pytest.raises(ZeroDivisionError):
        off_main_thread(lambda: 1 / 0)


def test_a_lessons_timing_leaves_no_parallel_work_on_the_main_thread(monkeypatch):
    """The timing fits where a panel fits, off the main thread (an idle OpenMP team there slows later panel fits)."""
    import importlib
    import threading

    from dip_edu import lessons

    fit_module = importlib.import_module("dip_edu.fit")

    threads = []
    real = fit_module.fit

    def spy(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_module, "fit", spy)
    paces = lessons.block_paces("tiny", size=32, seconds=0.2)
    assert len(paces) == 5 and all(p > 0 for p in paces)
    assert threads and not any(threads)


@pytest.mark.parametrize("faster", ["one", "many"])
def test_a_thread_trial_keeps_the_faster_thread_count_and_the_fit_ends_with_the_count_it_began(faster):
    import time

    import torch

    from dip_edu.fast.cpu import ThreadTrial

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:

        def step(x):
            slow = (torch.get_num_threads() > 1) == (faster == "one")
            time.sleep(0.01 if slow else 0.001)
            return x

        trial = ThreadTrial(step)
        for _ in range(1 + 2 * ThreadTrial.TRIAL):
            trial(torch.zeros(1))
        assert torch.get_num_threads() == (1 if faster == "one" else 2)
        assert sorted(trial.seconds) == [1, 2] and all(len(v) == ThreadTrial.TRIAL for v in trial.seconds.values())
    finally:
        torch.set_num_threads(before)


def test_a_fit_off_the_main_thread_leaves_the_thread_count_it_found():
    import threading

    import numpy as np
    import torch

    import dip_edu as dip

    problem = dip.noisy(np.full((32, 32, 3), 0.5, dtype=np.float32), sigma=25)
    seen = {}

    def fit():
        start = torch.get_num_threads()
        dip.fit(problem, "tiny", iters=12, checkpoints=(), device="cpu")
        seen["before"], seen["after"] = start, torch.get_num_threads()

    thread = threading.Thread(target=fit)
    thread.start()
    thread.join()
    assert seen["after"] == min(seen["before"], cpu.usable())
