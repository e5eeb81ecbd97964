"""What the chat loads for a run (or for a model alone), decided before any weight is read.

A LoRA/QLoRA run is its base model plus the adapter in output/; a full fine-tune is its base
model plus the whole model in output/. A run that has not finished yet can still be talked to
through its newest complete checkpoint, with a note saying so. Pure Python: the CLI checks this
before it starts a chat process, so a typo costs no model loading.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui_ft.core.chat.protocol import ChatError
from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.errors import UserError
from tui_ft.core.methods import method_named
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.liveness import effective_status
from tui_ft.core.runs.status import Status

# What a trained model folder must hold, by method.
ADAPTER_FILE = "adapter_config.json"
MODEL_FILE = "config.json"


@dataclass(frozen=True)
class ChatTarget:
    label: str  # the run's name, or the model reference
    config: RunConfig  # the run's; for a model alone, a LoRA-shaped stand-in
    kind: str  # "adapter" (one base + adapter) | "two-models" (full) | "base-only"
    run: RunDir | None = None
    tuned_path: Path | None = None  # the adapter folder, or the full model's folder
    note: str = ""  # e.g. that a checkpoint stands in for an unfinished run

    @property
    def sides(self) -> tuple[str, ...]:
        return ("base",) if self.kind == "base-only" else ("base", "tuned")


def chat_target(run: str | None = None, model: str | None = None) -> ChatTarget:
    """Exactly one of `run` (a name or folder) and `model` (a base model reference alone)."""
    if (run is None) == (model is None):
        raise ChatError("bad_request", "name either a run or a model to chat with.")
    if model is not None:
        return ChatTarget(label=model, config=RunConfig(model=model), kind="base-only")
    try:
        run_dir = RunDir.open(str(run))
    except UserError as err:
        raise ChatError("missing", err.message, err.hint) from None
    try:
        config = load_config(run_dir.config_path)
    except UserError as err:
        raise ChatError("missing", err.message, err.hint) from None
    kind = "two-models" if method_named(config.method).trains_base else "adapter"
    needed = MODEL_FILE if kind == "two-models" else ADAPTER_FILE
    if (run_dir.output_dir / needed).is_file():
        return ChatTarget(run_dir.name, config, kind, run_dir, run_dir.output_dir)
    status = effective_status(run_dir)
    checkpoint = run_dir.last_good_checkpoint()
    if checkpoint is not None and (checkpoint / needed).is_file():
        note = (
            f"{checkpoint.name} stands in for the tuned model: run {run_dir.name} is "
            f"{status.state} and has not written its final model yet."
        )
        return ChatTarget(run_dir.name, config, kind, run_dir, checkpoint, note)
    raise ChatError("missing", *_no_model(run_dir, status, needed))


def _no_model(run: RunDir, status: Status, needed: str) -> tuple[str, str]:
    where = f"{run.output_dir}/{needed}"
    if status.active:
        return (
            f"run {run.name} is still {status.state} and has no trained model yet ({where} is "
            "missing, and no checkpoint either).",
            "Chat with it once its first checkpoint is saved, or when it completes.",
        )
    if status.state == "completed":
        return (
            f"run {run.name} completed, but its trained model is not there ({where} is missing).",
            f"Put the folder back if it was moved; `tui-ft resume {run.name} --more-steps 1` "
            "writes a new one.",
        )
    return (
        f"run {run.name} is {status.state} and left no trained model ({where} is missing).",
        f"`tui-ft resume {run.name}` continues it, if it saved a checkpoint.",
    )
