"""Before an evaluation starts: where it would run, and whether it fits there, from the app's
own GPU reading (the child process checks again with a fresh one before it loads anything)."""

from __future__ import annotations

from tui_ft.core.chat.target import chat_target
from tui_ft.core.errors import UserError
from tui_ft.core.evals.placement import plan_evaluation, plan_sentence
from tui_ft.core.hardware.snapshot import HardwareSnapshot
from tui_ft.core.models.info import read_model_info
from tui_ft.core.models.resolve import resolve_model
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.listing import active_trainers


def placement_note(run: RunDir, snapshot: HardwareSnapshot | None, device: str = "auto") -> str:
    try:
        target = chat_target(run=str(run.path))
        info = read_model_info(resolve_model(target.config.model, allow_download=False))
    except UserError as err:
        return err.message  # no trained model yet, or a base model not on this machine
    if snapshot is None:
        return "The evaluation checks where it fits when it starts."
    try:
        plan = plan_evaluation(target, info, snapshot, device, active_trainers(run.path.parent))
    except UserError as err:
        return f"{err.message} {err.hint}".strip()
    return plan_sentence(plan)
