import pytest
import torch

import dip_edu as dip
from dip_edu import cpu


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


def test_a_cpu_fit_keeps_to_the_quota(tmp_path, monkeypatch, threads, astronaut64):
    for key in cpu.ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    write(tmp_path, "cpu.max", "100000 100000\n")
    monkeypatch.setattr(cpu, "CGROUP", tmp_path)
    torch.set_num_threads(2)
    dip.fit(dip.noisy(astronaut64, 25), "tiny", iters=3, device="cpu")
    assert torch.get_num_threads() == 1
