"""What this machine offers a run: GPUs (through NVML), CPU and RAM (through psutil).

One immutable `HardwareSnapshot` per poll. The UI polls every second or two, so a backend object
keeps what never changes (names, UUIDs, compute capability) between polls. Nothing here creates
a CUDA context or imports torch: reading the driver's counters must stay cheap for the UI process.
A fake backend (a JSON snapshot named by `$TUI_FT_FAKE_GPU`) serves tests and GPU-less demos.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

import psutil

from tui_ft.core.errors import UserError

State = Literal["ok", "no-gpu", "no-driver", "nvml-error"]
STATES: tuple[State, ...] = ("ok", "no-gpu", "no-driver", "nvml-error")
FAKE_GPU_ENV = "TUI_FT_FAKE_GPU"
NO_GPU_MESSAGE = "no NVIDIA GPU found: training will run on the CPU"
NA = "n/a"


@dataclass(frozen=True)
class GpuProcess:
    """A process holding memory on a GPU (often someone else's)."""

    pid: int
    used_memory: int | None  # bytes; None where the driver does not say (Windows WDDM, some MIG)
    name: str | None = None
    user: str | None = None  # None where the process belongs to another container or is hidden


@dataclass(frozen=True)
class MigInfo:
    """Where a MIG instance lives: torch sees it as a GPU of its own."""

    parent_index: int  # the physical GPU, numbered as nvidia-smi does
    parent_uuid: str | None
    gpu_instance_id: int | None
    compute_instance_id: int | None


@dataclass(frozen=True)
class GpuInfo:
    """One device as CUDA will see it. A field the GPU cannot report is None (shown as "n/a")."""

    index: int  # torch's `cuda:N`, after CUDA_VISIBLE_DEVICES
    nvml_index: int | None = None  # nvidia-smi's number for it (or for a MIG instance's parent)
    uuid: str | None = None
    name: str | None = None
    memory_total: int | None = None  # bytes
    memory_free: int | None = None
    memory_used: int | None = None
    utilization_pct: int | None = None
    temperature_c: int | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    compute_capability: tuple[int, int] | None = None
    mig: MigInfo | None = None
    # No dedicated memory (GB10-style parts): the memory fields are system RAM.
    is_unified_memory: bool = False
    processes: tuple[GpuProcess, ...] | None = ()  # None: the driver would not list them
    error: str | None = None  # why this GPU's facts are missing, when NVML could not open it


@dataclass(frozen=True)
class HostInfo:
    cpu_name: str | None
    cpu_cores: int | None  # physical cores
    cpu_threads: int | None  # logical CPUs this process may run on
    ram_total: int | None  # bytes
    ram_available: int | None


@dataclass(frozen=True)
class HardwareSnapshot:
    """Everything one probe saw. `message` is a sentence for a person; `hint` the next step."""

    state: State
    message: str
    host: HostInfo
    gpus: tuple[GpuInfo, ...] = ()
    hint: str = ""
    driver_version: str | None = None
    cuda_driver_version: str | None = None  # the newest CUDA the driver supports, e.g. "12.4"
    cuda_visible_devices: str | None = None  # as set in the environment; None when unset
    source: str = "nvml"  # "nvml", or "fake (FILE)" so a demo never passes for real hardware
    taken_at: float = field(default_factory=time.time)

    @property
    def has_gpu(self) -> bool:
        return self.state == "ok" and bool(self.gpus)


class HardwareBackend(Protocol):
    def snapshot(self) -> HardwareSnapshot: ...

    def close(self) -> None: ...


class FakeBackend:
    """Serves a snapshot saved as JSON, re-read on every poll so a demo can edit it live."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def snapshot(self) -> HardwareSnapshot:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as err:
            raise UserError(
                f"cannot read the fake GPU file {self.path}: {err.strerror or err}.",
                f"Point ${FAKE_GPU_ENV} at a JSON snapshot, or unset it to read the real GPUs.",
            ) from err
        try:
            snapshot = snapshot_from_json(text)
        except ValueError as err:
            raise UserError(
                f"{self.path} is not a hardware snapshot: {err}.",
                "Write one with `tui-ft doctor --json` and keep its `hardware` object.",
            ) from err
        return replace(snapshot, source=f"fake ({self.path.name})")

    def close(self) -> None:
        """Nothing to release: the file is read per poll."""


def read_host() -> HostInfo:
    memory = psutil.virtual_memory()
    return HostInfo(
        cpu_name=cpu_name(),
        cpu_cores=psutil.cpu_count(logical=False),
        cpu_threads=_usable_cpus(),
        ram_total=memory.total,
        ram_available=memory.available,
    )


@cache
def cpu_name() -> str | None:
    """The CPU model, from /proc/cpuinfo on Linux: platform.processor() there says 'x86_64'."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model") and value.strip():
                    return value.strip()
    except OSError:
        pass  # not Linux: fall back to what the platform module knows
    return platform.processor() or None


def _usable_cpus() -> int | None:
    # A container or `taskset` may allow fewer CPUs than the machine has.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


# --- JSON round trip ------------------------------------------------------------------------


def snapshot_to_dict(snapshot: HardwareSnapshot) -> dict[str, Any]:
    return asdict(snapshot)


def snapshot_to_json(snapshot: HardwareSnapshot) -> str:
    return json.dumps(snapshot_to_dict(snapshot), indent=2) + "\n"


def snapshot_from_json(text: str) -> HardwareSnapshot:
    """The inverse of `snapshot_to_json`. Raises ValueError with a short reason on bad input."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"invalid JSON ({err.msg} at line {err.lineno})") from err
    return snapshot_from_dict(data)


def snapshot_from_dict(data: Any) -> HardwareSnapshot:
    values = _fields_of(HardwareSnapshot, data, "the snapshot")
    if values.get("state") not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}, not {values.get('state')!r}")
    values["host"] = _build(HostInfo, _fields_of(HostInfo, values.get("host"), "host"), "host")
    values["gpus"] = tuple(_gpu_from_dict(gpu) for gpu in values.get("gpus", ()))
    return _build(HardwareSnapshot, values, "the snapshot")


def _gpu_from_dict(data: Any) -> GpuInfo:
    values = _fields_of(GpuInfo, data, "a GPU")
    capability = values.get("compute_capability")
    values["compute_capability"] = tuple(capability) if capability else None
    mig = values.get("mig")
    values["mig"] = _build(MigInfo, _fields_of(MigInfo, mig, "mig"), "mig") if mig else None
    processes = values.get("processes", ())
    if processes is not None:
        values["processes"] = tuple(
            _build(GpuProcess, _fields_of(GpuProcess, p, "a process"), "a process")
            for p in processes
        )
    return _build(GpuInfo, values, "a GPU")


def _fields_of(cls: type, data: Any, what: str) -> dict[str, Any]:
    # Unknown keys are dropped so files written by a newer tui-ft still load.
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a JSON object")
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in names}


def _build(cls: type, values: dict[str, Any], what: str) -> Any:
    try:
        return cls(**values)
    except TypeError as err:  # a required key is missing
        missing = [f.name for f in fields(cls) if f.name not in values]
        raise ValueError(f"{what} lacks {', '.join(missing) or 'a required field'}") from err
