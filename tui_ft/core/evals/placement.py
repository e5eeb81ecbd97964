"""Where an evaluation fits, decided as the chat's placement is (core/chat/memory.py): from the
inference estimate and the free memory NVML reports, never onto a GPU whose memory a running
training needs. The evaluation holds one model at a time (the base with its adapter; a full
fine-tune's base, then its tuned model), so a full fine-tune is placed as the chat's
`sequential`."""

from __future__ import annotations

from tui_ft.core.chat.memory import Plan, plan_placement, verdict
from tui_ft.core.chat.protocol import ChatError
from tui_ft.core.chat.target import ChatTarget
from tui_ft.core.hardware.snapshot import HardwareSnapshot
from tui_ft.core.models.info import ModelInfo


def plan_evaluation(
    target: ChatTarget,
    info: ModelInfo,
    snapshot: HardwareSnapshot,
    device: str = "auto",
    training_runs: dict[int, str] | None = None,
) -> Plan:
    """The plan; a ChatError (kind `no_room`) saying what would fit when nothing does."""
    placement = "sequential" if target.kind == "two-models" else "auto"
    try:
        return plan_placement(
            target, info, snapshot, device, placement, training_runs=training_runs
        )
    except ChatError as err:
        if err.kind == "no_room":
            err.message = _ours(err.message)
            err.hint = err.hint.replace("Pick one that fits:", "Choose a device that fits:")
        raise


def plan_sentence(plan: Plan) -> str:
    """Where it will run and whether it fits, in words."""
    return " ".join(
        p for p in (_ours(verdict(plan.needed_bytes, plan.free_bytes, plan.where)), plan.note) if p
    )


def _ours(sentence: str) -> str:
    return sentence.replace("The chat needs", "The evaluation needs", 1)
