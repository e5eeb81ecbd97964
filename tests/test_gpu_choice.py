"""Which GPUs the trainer gets: named ones, else the freest; always as unambiguous UUIDs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_ft.core.errors import UserError
from tui_ft.core.hardware.gpu_choice import choose_gpus
from tui_ft.core.hardware.probe import probe
from tui_ft.core.hardware.snapshot import FakeBackend, HardwareSnapshot

FIXTURE = Path(__file__).parent / "fixtures" / "fake_gpu_2xh100.json"
FREE = "GPU-5f1e3b2a-7c41-4d2e-9a0b-1c2d3e4f5a6b"  # 79 GiB free
BUSY = "GPU-a9b8c7d6-e5f4-4a3b-8c2d-0e1f2a3b4c5d"  # another user's job holds half of it


@pytest.fixture
def two_gpus() -> HardwareSnapshot:
    return probe(FakeBackend(FIXTURE))


def test_default_is_the_freest_gpu(two_gpus: HardwareSnapshot) -> None:
    assert choose_gpus([], 1, two_gpus) == FREE


def test_several_processes_get_the_freest_first(two_gpus: HardwareSnapshot) -> None:
    assert choose_gpus([], 2, two_gpus) == f"{FREE},{BUSY}"


@pytest.mark.parametrize("ref", ["1", BUSY, BUSY[:12]])
def test_named_gpus_by_index_or_uuid(two_gpus: HardwareSnapshot, ref: str) -> None:
    assert choose_gpus([ref], 1, two_gpus) == BUSY


def test_unknown_gpu_lists_the_real_ones(two_gpus: HardwareSnapshot) -> None:
    with pytest.raises(UserError, match=r"no GPU '7' here; the GPUs are 0 \(.*\), 1 \("):
        choose_gpus(["7"], 1, two_gpus)


def test_more_processes_than_gpus_is_a_sentence(two_gpus: HardwareSnapshot) -> None:
    with pytest.raises(UserError, match="3 training processes need 3 GPUs"):
        choose_gpus([], 3, two_gpus)


def test_no_gpu_leaves_the_environment_alone_unless_gpus_were_asked_for() -> None:
    cpu_only = probe()  # this machine has no NVIDIA driver
    if cpu_only.gpus:
        pytest.skip("this machine has a GPU")
    assert choose_gpus([], 1, cpu_only) is None
    with pytest.raises(UserError, match="asks for GPU 0"):
        choose_gpus(["0"], 1, cpu_only)
