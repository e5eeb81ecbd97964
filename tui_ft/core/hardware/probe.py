"""Reading the machine: one snapshot from the fake backend when `$TUI_FT_FAKE_GPU` names a JSON
snapshot, else from NVML (core/hardware/nvml.py), which builds on snapshot.py's dataclasses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tui_ft.core.hardware.nvml import NvmlBackend
from tui_ft.core.hardware.snapshot import (
    FAKE_GPU_ENV,
    FakeBackend,
    HardwareBackend,
    HardwareSnapshot,
)


def probe(backend: HardwareBackend | None = None) -> HardwareSnapshot:
    """One snapshot. Pollers pass a long-lived backend so static facts are read once."""
    if backend is not None:
        return backend.snapshot()
    with _closing(default_backend()) as fresh:
        return fresh.snapshot()


def default_backend() -> HardwareBackend:
    """The fake backend when `$TUI_FT_FAKE_GPU` names a JSON snapshot, else NVML."""
    fake = os.environ.get(FAKE_GPU_ENV)
    if fake:
        return FakeBackend(Path(fake))
    return NvmlBackend()


@contextmanager
def _closing(backend: HardwareBackend) -> Iterator[HardwareBackend]:
    try:
        yield backend
    finally:
        backend.close()
