"""Measured memory, for metrics.jsonl and the estimate-vs-measured line in status.json."""

from __future__ import annotations

import os

import psutil

from tui_ft.core.errors import UserError
from tui_ft.core.hardware.probe import default_backend
from tui_ft.core.hardware.snapshot import HardwareBackend
from tui_ft.core.runs.metrics import MetricsRow
from tui_ft.core.runs.status import RunMemory


def memory_now() -> MetricsRow:
    """`gpu_mem`: torch's peak reserved bytes on this process's GPU (what the estimator
    predicts); `gpu_mem_allocated` its peak allocated; `rss`: this process's resident memory."""
    import torch

    record: MetricsRow = {"rss": psutil.Process(os.getpid()).memory_info().rss}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        record["gpu_mem"] = torch.cuda.max_memory_reserved()
        record["gpu_mem_allocated"] = torch.cuda.max_memory_allocated()
    return record


def peak_summary() -> RunMemory:
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return {
            "peak_reserved_bytes": torch.cuda.max_memory_reserved(),
            "peak_allocated_bytes": torch.cuda.max_memory_allocated(),
        }
    # ru_maxrss is the process's peak resident set, in KiB on Linux.
    import resource

    return {"peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


class GpuUtilization:
    """The busy share (%) of this process's GPU, as NVML reports it, for the monitor's chart.
    One backend kept open (NVML initialised once); None on the CPU or when NVML cannot say."""

    def __init__(self) -> None:
        self._backend: HardwareBackend | None = None
        self._failed = False

    def read(self) -> float | None:
        import torch

        if self._failed or not (torch.cuda.is_available() and torch.cuda.is_initialized()):
            return None
        try:
            if self._backend is None:
                self._backend = default_backend()
            gpus = self._backend.snapshot().gpus
        except (UserError, OSError):
            self._failed = True  # a probe that failed once fails every step: stop asking
            return None
        # The probe lists the GPUs CUDA_VISIBLE_DEVICES leaves, in CUDA's order.
        index = torch.cuda.current_device()
        return gpus[index].utilization_pct if index < len(gpus) else None

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
