"""A stand-in for `pynvml`: just enough of its surface, with NVML's error codes, to drive
NvmlBackend on a machine without a GPU. Patch it in with
`monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([...]))`."""

from __future__ import annotations

import types
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

GIB = 1024**3
# NVML's error codes, as pynvml names them.
NOT_SUPPORTED_CODE, NO_PERMISSION, NOT_FOUND, DRIVER_NOT_LOADED = 3, 4, 6, 9
LIBRARY_NOT_FOUND, FUNCTION_NOT_FOUND, LIB_RM_VERSION_MISMATCH, UNKNOWN = 12, 13, 18, 999


@dataclass(frozen=True)
class Fails:
    """In a FakeGpu field: that NVML call answers with this error code."""

    code: int


NOT_SUPPORTED = Fails(NOT_SUPPORTED_CODE)


class FakeNvmlError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(f"NVML error {value}")
        self.value = value


@dataclass(eq=False)
class FakeGpu:
    uuid: str
    name: str = "NVIDIA H100 80GB HBM3"
    memory: Any = (80 * GIB, 70 * GIB, 10 * GIB)  # total, free, used; or Fails(code)
    utilization: Any = 50
    temperature: Any = 40
    power_mw: Any = 300_000
    power_limit_mw: Any = 700_000
    capability: Any = (9, 0)
    processes: Any = field(default_factory=list)  # [(pid, used bytes)]
    graphics: Any = field(default_factory=list)
    mig: list[FakeGpu] | None = None  # MIG instances; None: MIG off
    gi: int = 0
    ci: int = 0


class FakeNvml(types.ModuleType):
    """Answers as pynvml would for the GPUs given; counts calls to check what is cached."""

    NVMLError = FakeNvmlError
    NVML_ERROR_NOT_SUPPORTED = NOT_SUPPORTED_CODE
    NVML_ERROR_NO_PERMISSION = NO_PERMISSION
    NVML_ERROR_NOT_FOUND = NOT_FOUND
    NVML_ERROR_DRIVER_NOT_LOADED = DRIVER_NOT_LOADED
    NVML_ERROR_LIBRARY_NOT_FOUND = LIBRARY_NOT_FOUND
    NVML_ERROR_FUNCTION_NOT_FOUND = FUNCTION_NOT_FOUND
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = LIB_RM_VERSION_MISMATCH
    NVML_ERROR_UNKNOWN = UNKNOWN
    NVML_DEVICE_MIG_ENABLE = 1
    NVML_TEMPERATURE_GPU = 0
    nvmlMemory_v2 = 0x2000028

    def __init__(self, gpus: list[FakeGpu], init_error: int | None = None) -> None:
        super().__init__("pynvml")
        self.gpus = gpus
        self.init_error = init_error
        self.process_names: dict[int, str] = {}
        self.memory_v2 = True
        self.calls: Counter[str] = Counter()

    @staticmethod
    def _answer(value: Any) -> Any:
        if isinstance(value, Fails):
            raise FakeNvmlError(value.code)
        return value

    def nvmlInit(self) -> None:
        self.calls["init"] += 1
        if self.init_error is not None:
            raise FakeNvmlError(self.init_error)

    def nvmlShutdown(self) -> None:
        self.calls["shutdown"] += 1

    def nvmlSystemGetDriverVersion(self) -> str:
        return "550.54.15"

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return 12040

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        return self.gpus[index]

    def nvmlDeviceGetName(self, gpu: FakeGpu) -> bytes:
        self.calls["name"] += 1
        return gpu.name.encode()  # older bindings answer bytes

    def nvmlDeviceGetUUID(self, gpu: FakeGpu) -> str:
        return gpu.uuid

    def nvmlDeviceGetCudaComputeCapability(self, gpu: FakeGpu) -> tuple[int, int]:
        return self._answer(gpu.capability)

    def nvmlDeviceGetMigMode(self, gpu: FakeGpu) -> list[int]:
        mode = int(gpu.mig is not None)
        return [mode, mode]

    def nvmlDeviceGetMaxMigDeviceCount(self, gpu: FakeGpu) -> int:
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(self, gpu: FakeGpu, slot: int) -> FakeGpu:
        if gpu.mig is None or slot >= len(gpu.mig):
            raise FakeNvmlError(NOT_FOUND)
        return gpu.mig[slot]

    def nvmlDeviceGetGpuInstanceId(self, gpu: FakeGpu) -> int:
        return gpu.gi

    def nvmlDeviceGetComputeInstanceId(self, gpu: FakeGpu) -> int:
        return gpu.ci

    def nvmlDeviceGetMemoryInfo(self, gpu: FakeGpu, version: int | None = None) -> Any:
        if version is not None and not self.memory_v2:
            raise FakeNvmlError(FUNCTION_NOT_FOUND)
        self.calls[f"memory_v{2 if version else 1}"] += 1
        total, free, used = self._answer(gpu.memory)
        return SimpleNamespace(total=total, free=free, used=used)

    def nvmlDeviceGetUtilizationRates(self, gpu: FakeGpu) -> Any:
        self.calls["utilization"] += 1
        return SimpleNamespace(gpu=self._answer(gpu.utilization), memory=0)

    def nvmlDeviceGetTemperature(self, gpu: FakeGpu, sensor: int) -> int:
        return self._answer(gpu.temperature)

    def nvmlDeviceGetPowerUsage(self, gpu: FakeGpu) -> int:
        return self._answer(gpu.power_mw)

    def nvmlDeviceGetEnforcedPowerLimit(self, gpu: FakeGpu) -> int:
        return self._answer(gpu.power_limit_mw)

    def nvmlDeviceGetComputeRunningProcesses(self, gpu: FakeGpu) -> list[Any]:
        return [SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in self._answer(gpu.processes)]

    def nvmlDeviceGetGraphicsRunningProcesses(self, gpu: FakeGpu) -> list[Any]:
        return [SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in self._answer(gpu.graphics)]

    def nvmlSystemGetProcessName(self, pid: int) -> str:
        if pid not in self.process_names:
            raise FakeNvmlError(NOT_FOUND)
        return self.process_names[pid]


def nvml_starts() -> bool:
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True
