"""Which GPUs a run trains on: the ones the config names (`gpus:`, indices or UUIDs), else the
ones with the most free memory. The answer becomes the trainer's CUDA_VISIBLE_DEVICES, written
as UUIDs so that it means the same devices whatever the caller's own CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

from collections.abc import Callable

from tui_ft.core.errors import UserError
from tui_ft.core.hardware.snapshot import GpuInfo, HardwareSnapshot


def choose_gpus(wanted: list[str], nproc: int, snapshot: HardwareSnapshot) -> str | None:
    """The CUDA_VISIBLE_DEVICES value for the trainer; None leaves the environment as it is
    (no GPU here: training runs on the CPU)."""
    if not snapshot.gpus:
        if wanted:
            raise UserError(
                f"the config asks for GPU {', '.join(wanted)}, but {snapshot.message}.",
                "Remove `gpus:` from run.yaml to train on the CPU.",
            )
        return None
    chosen = [_find(ref, snapshot.gpus) for ref in wanted] if wanted else _freest(snapshot, nproc)
    if len(chosen) < nproc:
        raise UserError(
            f"{nproc} training processes need {nproc} GPUs, but only {len(chosen)} "
            f"{'is' if len(chosen) == 1 else 'are'} chosen.",
            "Name more GPUs in `gpus:` or lower --nproc.",
        )
    return ",".join(_device_id(gpu) for gpu in chosen)


def default_gpu(snapshot: HardwareSnapshot, fits: Callable[[GpuInfo], bool]) -> GpuInfo | None:
    """The GPU a new run should take: the freest one on which `fits` says the run fits, else
    the freest one (the estimate then shows what to change); None without a usable GPU."""
    ranked = _freest(snapshot, len(snapshot.gpus))
    if not snapshot.has_gpu or not ranked:
        return None
    return next((gpu for gpu in ranked if fits(gpu)), ranked[0])


def _freest(snapshot: HardwareSnapshot, count: int) -> list[GpuInfo]:
    usable = [g for g in snapshot.gpus if g.error is None]
    return sorted(usable, key=lambda g: -(g.memory_free or 0))[: max(1, count)]


def _find(ref: str, gpus: tuple[GpuInfo, ...]) -> GpuInfo:
    for gpu in gpus:
        if ref == str(gpu.index) or (gpu.uuid and gpu.uuid.startswith(ref) and len(ref) > 4):
            return gpu
    names = ", ".join(f"{g.index} ({g.name})" for g in gpus)
    raise UserError(
        f"there is no GPU {ref!r} here; the GPUs are {names}.", "Fix `gpus:` in run.yaml."
    )


def _device_id(gpu: GpuInfo) -> str:
    return gpu.uuid or str(gpu.index)
