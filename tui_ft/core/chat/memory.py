"""Where the chat's models go, decided from the inference estimate and the free memory NVML
reports, before anything touches a GPU: a chat must never push a training on the same GPU into
an out-of-memory. When nothing fits, the answer is a `no_room` ChatError listing what would
(another GPU, the CPU, the two models of a full fine-tune one at a time or the base on the CPU),
never a load that might.

Placements: `shared` (one base + adapter, both sides in one batch), `base-only`, and for a full
fine-tune `together` (both models on the device), `sequential` (one model on the device at a time,
the other waiting in RAM) or `base-cpu` (the base on the CPU, the tuned model on the device).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from tui_ft.core.chat.protocol import ChatError
from tui_ft.core.chat.target import ChatTarget
from tui_ft.core.chat.wire import ChatOption, LoadEstimate
from tui_ft.core.errors import UserError
from tui_ft.core.estimate.inference import estimate_inference
from tui_ft.core.estimate.peak import Estimate, Target, resolve_precision, target_from_snapshot
from tui_ft.core.hardware.snapshot import GpuInfo, HardwareSnapshot
from tui_ft.core.methods import method_named
from tui_ft.core.models.info import ModelInfo
from tui_ft.core.units import format_bytes

_CUDA = re.compile(r"^cuda(?::(\d+))?$")
FULL_PRECISION_ADAPTER = "lora"  # how a base that holds adapters is loaded when it is not 4-bit
ONE_AT_A_TIME = ("sequential", "base-cpu")


@dataclass(frozen=True)
class Plan:
    device: str  # "cpu" | "cuda:N"
    placement: str  # shared | base-only | together | sequential | base-cpu
    precision: str  # bf16 | fp16 | fp32, as the trainer would resolve `precision` there
    needed_bytes: int
    free_bytes: int | None  # None: unknown (no NVML reading)
    where: str  # "GPU 0 (NVIDIA H100)", "the CPU (RAM)"
    note: str = ""

    def as_dict(self) -> LoadEstimate:
        return {
            "needed_bytes": self.needed_bytes,
            "free_bytes": self.free_bytes,
            "where": self.where,
            "verdict": verdict(self.needed_bytes, self.free_bytes, self.where),
        }


def plan_placement(
    target: ChatTarget,
    info: ModelInfo,
    snapshot: HardwareSnapshot,
    device: str = "auto",
    placement: str = "auto",
    context: int | None = None,
    training_runs: dict[int, str] | None = None,
) -> Plan:
    """`training_runs`: pid -> run name of active trainers, to say whose memory a GPU holds."""
    busy = training_runs or {}
    candidates = _candidates(device, snapshot)
    wanted = _placement_for(target, placement)
    for option in _tries(target, placement, wanted):
        for where in candidates:
            if option != wanted and where.device != "cuda":
                continue  # on the CPU both models sit in the same RAM anyway
            plan = _plan_if_fits(target, info, where, option, context)
            if plan is None:
                continue
            notes = [plan.note]
            if option != wanted:
                notes.append(
                    f"Both models do not fit on {where.name} at once, so they take turns on it: "
                    "each answer waits while the other model moves off the GPU."
                )
            return _with_note(plan, " ".join(n for n in notes if n))
    first = candidates[0]
    needed = _needed(target, info, first, wanted, context)
    options = _options(target, info, snapshot, context, exclude=device)
    gpu = _gpu(snapshot, first.index) if first.device == "cuda" else None
    raise ChatError(
        "no_room",
        f"{verdict(needed, first.available, first.name)}{_occupants(gpu, busy)}",
        _hint(options, gpu, busy),
        options=options,
    )


def verdict(needed: int, free: int | None, where: str) -> str:
    if free is None:
        return (
            f"The chat needs about {format_bytes(needed)}; the free memory of {where} is unknown."
        )
    if needed <= free:
        return f"The chat needs about {format_bytes(needed)} of the {format_bytes(free)} free on {where}."
    return (
        f"The chat needs about {format_bytes(needed)}, but only {format_bytes(free)} is free "
        f"on {where}."
    )


def cpu_target(snapshot: HardwareSnapshot) -> Target:
    host = snapshot.host
    return Target("cpu", True, host.ram_available, "the CPU (RAM)", host.ram_total)


def _candidates(device: str, snapshot: HardwareSnapshot) -> list[Target]:
    device = device.strip().lower()
    if device == "cpu":
        return [cpu_target(snapshot)]
    if device == "auto":
        if not snapshot.has_gpu:
            return [cpu_target(snapshot)]
        usable = [g for g in snapshot.gpus if g.error is None] or list(snapshot.gpus)
        ordered = sorted(usable, key=lambda g: -(g.memory_free or 0))
        return [target_from_snapshot(snapshot, g.index) for g in ordered]
    match = _CUDA.match(device)
    if match is None:
        raise ChatError("bad_request", f"device {device!r} is not one of auto, cpu or cuda:N.")
    if not snapshot.has_gpu:
        raise ChatError(
            "missing",
            f"device {device} was asked for, but {snapshot.message}.",
            "Use device cpu (slower) or auto.",
            options=[{"device": "cpu", "placement": "auto", "label": "the CPU"}],
        )
    try:
        return [target_from_snapshot(snapshot, int(match[1] or 0))]
    except UserError as err:  # no such GPU
        raise ChatError("missing", err.message, err.hint) from None


def _placement_for(target: ChatTarget, placement: str) -> str:
    if target.kind == "base-only":
        return "base-only"
    if target.kind == "adapter":
        # One copy of the base either way; `sequential` only generates one side after the other.
        return "sequential" if placement == "sequential" else "shared"
    return "together" if placement == "auto" else placement


def _tries(target: ChatTarget, placement: str, wanted: str) -> list[str]:
    """A full fine-tune that asked for nothing in particular falls back to one model at a time
    on the GPU before giving up."""
    if target.kind == "two-models" and placement == "auto":
        return [wanted, "sequential"]
    return [wanted]


def _plan_if_fits(
    target: ChatTarget, info: ModelInfo, where: Target, placement: str, context: int | None
) -> Plan | None:
    needed = _needed(target, info, where, placement, context)
    if where.available is not None and needed > where.available:
        return None
    unknown = where.available is None
    return Plan(
        device=_device_name(where),
        placement=placement,
        precision=resolve_precision(
            target.config.precision, method_named(target.config.method), where
        ).name,
        needed_bytes=needed,
        free_bytes=where.available,
        where=where.name,
        note=f"The free memory of {where.name} is unknown; loading anyway." if unknown else "",
    )


def _needed(
    target: ChatTarget, info: ModelInfo, where: Target, placement: str, context: int | None
) -> int:
    config = target.config
    if target.kind == "adapter" and not target.quantized_base:
        config = dataclasses.replace(config, method=FULL_PRECISION_ADAPTER)  # base unquantized
    estimate: Estimate = estimate_inference(info, config, where, context)
    needed = estimate.required_bytes
    if target.other is not None and target.kind == "adapter":  # a second adapter on the base
        needed += estimate_inference(info, target.other.config, where, context).term("adapter")
    if placement == "base-only":
        needed -= estimate.term("adapter")
    if placement in ONE_AT_A_TIME:
        needed -= estimate.term("weights") // 2  # one of the two models is elsewhere
    return needed


def _options(
    target: ChatTarget,
    info: ModelInfo,
    snapshot: HardwareSnapshot,
    context: int | None,
    exclude: str,
) -> list[ChatOption]:
    """What would fit instead, best first: another GPU, one model at a time, the CPU."""
    options: list[ChatOption] = []
    for gpu in sorted(
        snapshot.gpus if snapshot.has_gpu else (), key=lambda g: -(g.memory_free or 0)
    ):
        where = target_from_snapshot(snapshot, gpu.index)
        for placement in _placements(target):
            if _needed(target, info, where, placement, context) <= (where.available or 0):
                device = f"cuda:{gpu.index}"
                if device == exclude and placement == _placement_for(target, "auto"):
                    continue
                options.append(_option(device, placement, where.name, target))
                break
    cpu = cpu_target(snapshot)
    if exclude != "cpu" and _needed(target, info, cpu, _placement_for(target, "auto"), context) <= (
        cpu.available or 0
    ):
        options.append({"device": "cpu", "placement": "auto", "label": "the CPU (slower)"})
    return options


def _placements(target: ChatTarget) -> tuple[str, ...]:
    if target.kind == "two-models":
        return ("together", "sequential", "base-cpu")
    return (_placement_for(target, "auto"),)


def _option(device: str, placement: str, name: str, target: ChatTarget) -> ChatOption:
    label = name
    if target.kind == "two-models" and placement == "sequential":
        label = f"{name}, one model at a time"
    elif placement == "base-cpu":
        label = f"{name} for the tuned model, the base on the CPU"
    return {"device": device, "placement": placement, "label": label}


def _with_note(plan: Plan, note: str) -> Plan:
    return dataclasses.replace(plan, note=note)


def _device_name(where: Target) -> str:
    return "cpu" if where.device == "cpu" else f"cuda:{where.index or 0}"


def _gpu(snapshot: HardwareSnapshot, index: int | None) -> GpuInfo | None:
    return next((g for g in snapshot.gpus if g.index == index), None)


def _occupants(gpu: GpuInfo | None, busy: dict[int, str]) -> str:
    if gpu is None or not gpu.processes:
        return ""
    runs = sorted({busy[p.pid] for p in gpu.processes if p.pid in busy})
    if runs:
        return f" Run {', '.join(runs)} is training there."
    if len(gpu.processes) == 1:
        return " 1 other process uses it."
    return f" {len(gpu.processes)} other processes use it."


def _hint(options: list[ChatOption], gpu: GpuInfo | None, busy: dict[int, str]) -> str:
    training = gpu is not None and any(p.pid in busy for p in gpu.processes or ())
    wait = " or wait until the training there finishes" if training else ""
    if options:
        listed = "; ".join(o["label"] for o in options)
        return f"Pick one that fits: {listed}{wait}. Nothing was loaded."
    return f"Free some memory{wait}; nothing was loaded."
