"""The real GPU backend: NVML through `pynvml` (the nvidia-ml-py package).

`pynvml` is imported on first use, so importing tui_ft.core costs nothing on a machine without a
driver. NVML reads the driver's counters; unlike `torch.cuda` it never creates a CUDA context, so
the UI process can poll it every second without holding GPU memory. The device list and the facts
that never change (names, UUIDs, compute capability, driver version) are read once per backend:
a MIG reconfiguration while the app is open needs a new backend.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import psutil

from tui_ft.core.hardware.snapshot import (
    NO_GPU_MESSAGE,
    GpuInfo,
    GpuProcess,
    HardwareSnapshot,
    HostInfo,
    MigInfo,
    State,
    read_host,
)

Failure = tuple[State, str, str]  # state, message, hint

# Init failures with a plain cause, keyed by the name of their NVML error code.
_INIT_FAILURES: dict[str, Failure] = {
    "NVML_ERROR_LIBRARY_NOT_FOUND": (
        "no-gpu",
        NO_GPU_MESSAGE,
        "If this machine has an NVIDIA GPU, install the NVIDIA driver: its library "
        "libnvidia-ml.so.1 was not found.",
    ),
    "NVML_ERROR_DRIVER_NOT_LOADED": (
        "no-driver",
        "the NVIDIA driver is not running: training will run on the CPU",
        "If this machine has an NVIDIA GPU, load the driver (reboot after installing it, or "
        "`sudo modprobe nvidia`); `nvidia-smi` should then list the GPU.",
    ),
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH": (
        "nvml-error",
        "the NVIDIA driver was updated but the old one is still loaded: the GPUs cannot be "
        "used, so training would run on the CPU",
        "Reboot the machine (or unload and reload the nvidia kernel modules).",
    ),
    "NVML_ERROR_NO_PERMISSION": (
        "nvml-error",
        "no permission to read the NVIDIA GPUs: training would run on the CPU",
        "Check the permissions of /dev/nvidia* (your user may need to join the `video` group).",
    ),
}
_MISSING_PACKAGE: Failure = (
    "nvml-error",
    "the nvidia-ml-py package is missing, so the GPUs cannot be read",
    "Reinstall tui-ft, or run `pip install nvidia-ml-py`.",
)
_NO_MEMORY: tuple[None, None, None, bool] = (None, None, None, False)


@dataclass(frozen=True, eq=False)
class _Device:
    """A CUDA device as NVML knows it, with the facts that do not change while NVML is up."""

    handle: Any  # None when NVML could not open the GPU
    nvml_index: int
    uuid: str | None = None
    name: str | None = None
    compute_capability: tuple[int, int] | None = None
    mig: MigInfo | None = None
    sensor_handle: Any = None  # the board's handle: a MIG instance has no thermal sensor of its own
    error: str | None = None


@dataclass(frozen=True)
class _Board:
    """A physical GPU and, when MIG is on, the instances CUDA shows in its place."""

    device: _Device
    mig_enabled: bool = False
    instances: tuple[_Device, ...] = ()

    def cuda_devices(self) -> tuple[_Device, ...]:
        return self.instances if self.mig_enabled else (self.device,)


@dataclass(frozen=True)
class _Inventory:
    boards: tuple[_Board, ...]
    driver_version: str | None
    cuda_driver_version: str | None


class NvmlBackend:
    """Reads the GPUs through NVML. Keep one per poller; `close()` shuts NVML down."""

    def __init__(self) -> None:
        self._nvml: ModuleType | None = None
        self._inventory: _Inventory | None = None
        self._failure: Failure | None = None

    def __enter__(self) -> NvmlBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def snapshot(self) -> HardwareSnapshot:
        host = read_host()
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        inventory = self._inventory or self._start()
        if inventory is None:
            state, message, hint = self._failure or _MISSING_PACKAGE
            return HardwareSnapshot(state, message, host, hint=hint, cuda_visible_devices=visible)
        devices = select_visible(inventory.boards, visible)
        gpus = tuple(self._gpu(index, device, host) for index, device in enumerate(devices))
        state, message, hint = _summary(inventory.boards, gpus, visible)
        return HardwareSnapshot(
            state,
            message,
            host,
            gpus,
            hint=hint,
            driver_version=inventory.driver_version,
            cuda_driver_version=inventory.cuda_driver_version,
            cuda_visible_devices=visible,
        )

    def close(self) -> None:
        if self._nvml is None or self._inventory is None:
            return
        # A driver that vanished while we were closing leaves nothing to release.
        with suppress(*self._errors):
            self._nvml.nvmlShutdown()
        self._inventory = None

    # --- start-up: done once, its result cached ------------------------------------------

    def _start(self) -> _Inventory | None:
        if self._failure is not None:
            return None  # the cause (no driver, say) will not change between polls
        try:
            import pynvml
        except ImportError:
            self._failure = _MISSING_PACKAGE
            return None
        self._nvml = pynvml
        try:
            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
        except pynvml.NVMLError as err:
            self._failure = _init_failure(pynvml, err)
            return None
        self._inventory = _Inventory(
            tuple(self._board(index) for index in range(count)),
            _text(self._read("nvmlSystemGetDriverVersion")),
            _cuda_version(
                self._read("nvmlSystemGetCudaDriverVersion_v2")
                or self._read("nvmlSystemGetCudaDriverVersion")
            ),
        )
        return self._inventory

    def _board(self, index: int) -> _Board:
        try:
            handle = self._module.nvmlDeviceGetHandleByIndex(index)
        except self._errors as err:
            return _Board(_Device(None, index, error=f"NVML cannot open it ({_text(err)})"))
        device = self._device(handle, index)
        mode = self._read("nvmlDeviceGetMigMode", handle)
        if not mode or mode[0] != getattr(self._module, "NVML_DEVICE_MIG_ENABLE", 1):
            return _Board(device)
        return _Board(device, mig_enabled=True, instances=self._mig_instances(device))

    def _device(self, handle: Any, index: int, parent: _Device | None = None) -> _Device:
        capability = self._read("nvmlDeviceGetCudaComputeCapability", handle)
        mig = None
        if parent is not None:
            mig = MigInfo(
                parent.nvml_index,
                parent.uuid,
                self._read("nvmlDeviceGetGpuInstanceId", handle),
                self._read("nvmlDeviceGetComputeInstanceId", handle),
            )
            capability = capability or parent.compute_capability
        return _Device(
            handle,
            index,
            uuid=_text(self._read("nvmlDeviceGetUUID", handle)),
            name=_text(self._read("nvmlDeviceGetName", handle)),
            compute_capability=tuple(capability) if capability else None,
            mig=mig,
            sensor_handle=parent.handle if parent is not None else handle,
        )

    def _mig_instances(self, board: _Device) -> tuple[_Device, ...]:
        slots = self._read("nvmlDeviceGetMaxMigDeviceCount", board.handle) or 0
        handles = [
            self._read("nvmlDeviceGetMigDeviceHandleByIndex", board.handle, s) for s in range(slots)
        ]
        # An empty slot answers NotFound, read as None.
        return tuple(self._device(h, board.nvml_index, board) for h in handles if h is not None)

    # --- per poll -------------------------------------------------------------------------

    def _gpu(self, index: int, device: _Device, host: HostInfo) -> GpuInfo:
        if device.handle is None:
            return GpuInfo(index, device.nvml_index, processes=None, error=device.error)
        total, free, used, unified = self._memory(device.handle, host)
        utilization = self._read("nvmlDeviceGetUtilizationRates", device.handle)
        sensor = getattr(self._module, "NVML_TEMPERATURE_GPU", 0)
        return GpuInfo(
            index=index,
            nvml_index=device.nvml_index,
            uuid=device.uuid,
            name=device.name,
            memory_total=total,
            memory_free=free,
            memory_used=used,
            utilization_pct=utilization.gpu if utilization is not None else None,
            temperature_c=self._read("nvmlDeviceGetTemperature", device.sensor_handle, sensor),
            power_w=_watts(self._read("nvmlDeviceGetPowerUsage", device.handle)),
            power_limit_w=_watts(self._read("nvmlDeviceGetEnforcedPowerLimit", device.handle)),
            compute_capability=device.compute_capability,
            mig=device.mig,
            is_unified_memory=unified,
            processes=self._processes(device.handle),
        )

    def _memory(
        self, handle: Any, host: HostInfo
    ) -> tuple[int | None, int | None, int | None, bool]:
        try:
            info = self._memory_info(handle)
        except self._errors as err:
            if not _is(self._module, err, "NVML_ERROR_NOT_SUPPORTED"):
                return _NO_MEMORY
            info = None
        if info is not None and info.total:
            return info.total, info.free, info.used, False
        # No dedicated memory (GB10-style unified parts answer NotSupported or 0): the GPU
        # allocates from system RAM, so that is what a run can use.
        if host.ram_total is None or host.ram_available is None:
            return None, None, None, True
        return host.ram_total, host.ram_available, host.ram_total - host.ram_available, True

    def _memory_info(self, handle: Any) -> Any:
        # v2 keeps the driver's reserved memory out of `used`, as nvidia-smi shows it.
        version = getattr(self._module, "nvmlMemory_v2", None)
        if version is not None:
            with suppress(*self._errors):  # drivers older than v2: v1 below answers
                return self._module.nvmlDeviceGetMemoryInfo(handle, version=version)
        return self._module.nvmlDeviceGetMemoryInfo(handle)

    def _processes(self, handle: Any) -> tuple[GpuProcess, ...] | None:
        listings = [self._process_list(kind, handle) for kind in ("Compute", "Graphics")]
        if all(listing is None for listing in listings):
            return None
        used: dict[int, int | None] = {}
        for entry in (e for listing in listings for e in listing or ()):
            # A process doing both compute and graphics is listed twice.
            used[entry.pid] = _larger(used.get(entry.pid), entry.usedGpuMemory)
        return tuple(self._describe(pid, used[pid]) for pid in sorted(used))

    def _process_list(self, kind: str, handle: Any) -> list[Any] | None:
        function = f"nvmlDeviceGet{kind}RunningProcesses"
        listing = self._read(function, handle)
        if listing is None:  # a driver older than the binding's process struct knows only v2
            listing = self._read(f"{function}_v2", handle)
        return listing

    def _describe(self, pid: int, used: int | None) -> GpuProcess:
        reported = _text(self._read("nvmlSystemGetProcessName", pid))
        name = os.path.basename(reported) if reported else None
        local_name, user = _local_process(pid)
        # In a container NVML reports host pids, and the local process with that pid may be
        # another program: its user is trusted only when the names agree.
        if name and local_name and not (name.startswith(local_name) or local_name.startswith(name)):
            user = None
        return GpuProcess(pid, used, name or local_name, user)

    # --- NVML calls -----------------------------------------------------------------------

    @property
    def _module(self) -> Any:
        assert self._nvml is not None, "NVML is used only after _start() imported it"
        return self._nvml

    @property
    def _errors(self) -> tuple[type[BaseException], ...]:
        nvml = self._module
        return (nvml.NVMLError, getattr(nvml, "NVMLLibraryMismatchError", nvml.NVMLError))

    def _read(self, function: str, *args: Any) -> Any:
        """One NVML call, or None where this GPU, driver or binding cannot answer it
        (NotSupported, NoPermission, a function older drivers lack): shown as "n/a"."""
        call = getattr(self._module, function, None)
        if call is None:
            return None
        try:
            return call(*args)
        except self._errors:
            return None


# --- CUDA_VISIBLE_DEVICES -------------------------------------------------------------------


def select_visible(boards: Sequence[_Board], visible: str | None) -> list[_Device]:
    """The devices CUDA numbers 0, 1, ... under `CUDA_VISIBLE_DEVICES=visible`.

    CUDA reads the list left to right and stops at the first entry it cannot use (an unknown
    index or UUID, an ambiguous UUID prefix, a repeat), so `0,7,1` on two GPUs means GPU 0 only,
    and an empty value hides every GPU. Indices are NVML's (PCI bus order), which are torch's when
    CUDA_DEVICE_ORDER=PCI_BUS_ID or all GPUs are the same model.
    """
    if visible is None:
        return [device for board in boards for device in board.cuda_devices()]
    chosen: list[_Device] = []
    for entry in visible.split(","):
        found = _resolve(boards, entry.strip())
        if found is None or any(device in chosen for device in found):
            break
        chosen.extend(found)
    return chosen


def _resolve(boards: Sequence[_Board], entry: str) -> tuple[_Device, ...] | None:
    if re.fullmatch(r"[0-9]+", entry):
        index = int(entry)
        return boards[index].cuda_devices() if index < len(boards) else None
    if entry.startswith("MIG-"):
        instances = [device for board in boards for device in board.instances]
        return _only(_mig_matches(instances, entry))
    if entry.startswith("GPU-"):
        matches = [b for b in boards if (b.device.uuid or "").startswith(entry)]
        return _only([matches[0].cuda_devices()] if len(matches) == 1 else [])
    return None


def _mig_matches(instances: list[_Device], entry: str) -> list[tuple[_Device, ...]]:
    parent_uuid, _, ids = entry.removeprefix("MIG-").partition("/")
    if ids:  # the pre-R470 form MIG-GPU-<uuid>/<gpu instance>/<compute instance>
        return [(d,) for d in instances if d.mig and _mig_path(d.mig) == (parent_uuid, ids)]
    return [(d,) for d in instances if (d.uuid or "").startswith(entry)]


def _mig_path(mig: MigInfo) -> tuple[str | None, str]:
    return mig.parent_uuid, f"{mig.gpu_instance_id}/{mig.compute_instance_id}"


def _only(matches: list[tuple[_Device, ...]]) -> tuple[_Device, ...] | None:
    return matches[0] if len(matches) == 1 else None


# --- small conversions ----------------------------------------------------------------------


def _summary(boards: Sequence[_Board], gpus: Sequence[GpuInfo], visible: str | None) -> Failure:
    present = sum(len(board.cuda_devices()) for board in boards)
    if gpus:
        message = f"{len(gpus)} NVIDIA GPU{'s' if len(gpus) != 1 else ''} found"
        if present > len(gpus):
            message += f" ({present - len(gpus)} more hidden by CUDA_VISIBLE_DEVICES)"
        return "ok", message, _order_hint(gpus)
    if present:
        return (
            "no-gpu",
            f"no NVIDIA GPU visible: CUDA_VISIBLE_DEVICES={visible!r} hides all {present}: "
            "training will run on the CPU",
            "Unset CUDA_VISIBLE_DEVICES, or list the GPUs to use (e.g. `0` or `0,1`).",
        )
    if boards:
        return (
            "no-gpu",
            "no usable NVIDIA GPU: MIG is on but no MIG instance exists: training will run on "
            "the CPU",
            "Create a MIG instance (`nvidia-smi mig -cgi ... -C`) or turn MIG off.",
        )
    return "no-gpu", NO_GPU_MESSAGE, "The NVIDIA driver is loaded but lists no GPU."


def _order_hint(gpus: Sequence[GpuInfo]) -> str:
    # CUDA's default order puts the fastest GPU first; NVML's (and nvidia-smi's) is PCI order.
    mixed = len({gpu.name for gpu in gpus}) > 1
    if mixed and os.environ.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID":
        return (
            "These GPUs differ: set CUDA_DEVICE_ORDER=PCI_BUS_ID so torch numbers them as listed."
        )
    return ""


def _init_failure(nvml: Any, err: BaseException) -> Failure:
    for code_name, failure in _INIT_FAILURES.items():
        if _is(nvml, err, code_name):
            return failure
    return (
        "nvml-error",
        f"the NVIDIA driver did not answer ({_text(err)}): GPU facts are unavailable",
        "Run `nvidia-smi`: if it fails as well, the driver needs attention (often a reboot).",
    )


def _is(nvml: Any, err: BaseException, code_name: str) -> bool:
    code = getattr(nvml, code_name, None)
    return code is not None and getattr(err, "value", None) == code


def _local_process(pid: int) -> tuple[str | None, str | None]:
    """Name and user of `pid` as this machine's process table has them (None where hidden)."""
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            return process.name(), process.username()
    except psutil.Error:  # gone, another user's and unreadable, or a zombie
        return None, None


def _text(value: Any) -> str | None:
    # Older nvidia-ml-py releases return bytes where newer ones return str.
    if value is None:
        return None
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _cuda_version(value: int | None) -> str | None:
    # NVML encodes CUDA 12.4 as 12040.
    return None if value is None else f"{value // 1000}.{value % 1000 // 10}"


def _watts(milliwatts: int | None) -> float | None:
    return None if milliwatts is None else milliwatts / 1000


def _larger(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)
