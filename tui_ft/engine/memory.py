"""Measured memory, for metrics.jsonl and the estimate-vs-measured line in status.json."""

from __future__ import annotations

import os
from typing import Any

import psutil


def memory_now() -> dict[str, Any]:
    """`gpu_mem`: torch's peak reserved bytes on this process's GPU (what the estimator
    predicts); `gpu_mem_allocated` its peak allocated; `rss`: this process's resident memory."""
    import torch

    record: dict[str, Any] = {"rss": psutil.Process(os.getpid()).memory_info().rss}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        record["gpu_mem"] = torch.cuda.max_memory_reserved()
        record["gpu_mem_allocated"] = torch.cuda.max_memory_allocated()
    return record


def peak_summary() -> dict[str, Any]:
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return {
            "peak_reserved_bytes": torch.cuda.max_memory_reserved(),
            "peak_allocated_bytes": torch.cuda.max_memory_allocated(),
        }
    # ru_maxrss is the process's peak resident set, in KiB on Linux.
    import resource

    return {"peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
