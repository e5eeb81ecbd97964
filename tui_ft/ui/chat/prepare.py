"""Before the chat screen loads anything: what the run needs, and where it fits.

The placement plan (tui_ft.core.chat.memory) runs here against the app's own hardware snapshot,
so the screen can ask the person *before* a chat process starts: a training on that GPU is never
pushed into an out-of-memory, and a full fine-tune too big for two copies is offered one model at
a time or the base on the CPU. The chat process checks again with a fresh reading before it
loads; this is the question, that is the guard. Pure Python (no Textual, no torch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui_ft.core.chat.memory import plan_placement, verdict
from tui_ft.core.chat.protocol import PLACEMENTS, ChatError
from tui_ft.core.chat.target import ChatTarget, chat_target
from tui_ft.core.chat.wire import ChatOption
from tui_ft.core.errors import UserError
from tui_ft.core.hardware.snapshot import HardwareSnapshot
from tui_ft.core.models.info import ModelInfo, read_model_info
from tui_ft.core.models.resolve import resolve_model
from tui_ft.core.runs.listing import list_runs

AUTO = "auto"


@dataclass(frozen=True)
class Choice:
    """A `load` request's device and placement, and how to say it."""

    device: str
    placement: str
    label: str


@dataclass(frozen=True)
class Lookup:
    target: ChatTarget
    info: ModelInfo | None  # None: the model's size could not be read here (the worker will)


@dataclass(frozen=True)
class Decision:
    """Either `load` now, or ask `question` with `options` (and, for a GPU, waiting)."""

    load: Choice | None
    note: str = ""  # said while loading: the memory verdict, a checkpoint standing in ...
    question: str = ""
    hint: str = ""
    options: tuple[Choice, ...] = ()
    can_wait: bool = False


def look_up(run_path: Path, with_path: Path | None = None) -> Lookup:
    """The run's chat target (beside the run at `with_path`, if given) and its base model's
    size, without weights and without network. A run with no trained model, or two runs that
    cannot share a chat, raises ChatError with its sentence."""
    target = chat_target(run=str(run_path), with_run=None if with_path is None else str(with_path))
    try:
        info = read_model_info(resolve_model(target.config.model, allow_download=False))
    except UserError:
        info = None  # not on this machine yet: the chat process resolves (and fetches) it
    return Lookup(target, info)


def training_runs(runs_home: Path) -> dict[int, str]:
    """pid -> run name of the trainers running now, to say whose memory a GPU holds."""
    return {s.status.pid: s.name for s in list_runs(runs_home) if s.status.active and s.status.pid}


def decide(
    lookup: Lookup,
    snapshot: HardwareSnapshot | None,
    busy: dict[int, str],
    device: str = AUTO,
    placement: str = AUTO,
) -> Decision:
    target, info = lookup.target, lookup.info
    if snapshot is None or info is None:
        note = "" if info is not None else "The model's size is unknown here; the chat checks it."
        return Decision(Choice(device, placement, "where the chat process finds room"), note)
    try:
        plan = plan_placement(target, info, snapshot, device, placement, training_runs=busy)
    except ChatError as err:
        if err.kind != "no_room":
            raise
        return Decision(
            None,
            question=err.message,
            hint=err.hint,
            options=tuple(_choice(option) for option in err.options),
            can_wait=snapshot.has_gpu,
        )
    choice = Choice(plan.device, request_placement(plan.placement), plan.where)
    fits = verdict(plan.needed_bytes, plan.free_bytes, plan.where)
    note = " ".join(part for part in (lookup.target.note, fits, plan.note) if part)
    if target.kind == "two-models" and placement == AUTO and plan.placement == "sequential":
        return _full_fine_tune_question(target, info, snapshot, busy, choice, note)
    return Decision(choice, note)


def request_placement(plan_placement_name: str) -> str:
    """A plan's placement as a `load` request spells it (`shared`/`base-only` are automatic)."""
    return plan_placement_name if plan_placement_name in PLACEMENTS else AUTO


def _full_fine_tune_question(
    target: ChatTarget,
    info: ModelInfo,
    snapshot: HardwareSnapshot,
    busy: dict[int, str],
    sequential: Choice,
    note: str,
) -> Decision:
    """Two full models that do not fit at once: one at a time, or the base on the CPU."""
    options = [
        Choice(
            sequential.device,
            "sequential",
            f"{sequential.label}, one model at a time (each answer waits while they swap)",
        )
    ]
    for device, placement, label in (
        (sequential.device, "base-cpu", f"{sequential.label} for the tuned model, base on the CPU"),
        ("cpu", AUTO, "the CPU, both models (slower)"),
    ):
        try:
            plan_placement(target, info, snapshot, device, placement, training_runs=busy)
        except ChatError:
            continue
        options.append(Choice(device, placement, label))
    return Decision(
        None,
        note=note,
        question=(
            f"Both models of this full fine-tune do not fit on {sequential.label} at once "
            "(the base and the tuned copy)."
        ),
        hint="Pick how to place them, or wait for memory to free up.",
        options=tuple(options),
        can_wait=True,
    )


def _choice(option: ChatOption) -> Choice:
    return Choice(
        option.get("device", AUTO),
        request_placement(option.get("placement", AUTO)),
        option.get("label", option.get("device", AUTO)),
    )
