"""The trainer's GPU utilization reading: the process's own GPU, and silence where NVML cannot
answer (the CPU, a broken probe), never a failed training step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tui_ft.core.hardware.snapshot import FAKE_GPU_ENV
from tui_ft.engine.train.memory import GpuUtilization

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def cuda_device(monkeypatch: pytest.MonkeyPatch):
    """Pretend torch has initialised CUDA on device N."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)

    def on(index: int) -> None:
        monkeypatch.setattr(torch.cuda, "current_device", lambda: index)

    return on


def test_reads_the_utilization_of_this_process_s_gpu(monkeypatch, cuda_device) -> None:
    monkeypatch.setenv(FAKE_GPU_ENV, str(FIXTURES / "fake_gpu_2xh100.json"))
    cuda_device(1)
    import json

    expected = json.loads((FIXTURES / "fake_gpu_2xh100.json").read_text())["gpus"][1]
    reader = GpuUtilization()
    assert reader.read() == expected["utilization_pct"]
    reader.close()


def test_on_the_cpu_there_is_nothing_to_read() -> None:
    assert GpuUtilization().read() is None


def test_a_broken_probe_is_silence_and_is_not_asked_again(
    monkeypatch, cuda_device, tmp_path: Path
) -> None:
    broken = tmp_path / "gpu.json"
    broken.write_text("{not json")
    monkeypatch.setenv(FAKE_GPU_ENV, str(broken))
    cuda_device(0)
    reader = GpuUtilization()
    assert reader.read() is None
    broken.write_text((FIXTURES / "fake_gpu_24gb.json").read_text())
    assert reader.read() is None
