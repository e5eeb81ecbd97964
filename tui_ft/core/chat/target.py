"""What the chat loads for a run (or for a model alone), decided before any weight is read.

A LoRA/QLoRA run is its base model plus the adapter in output/; a full fine-tune is its base
model plus the whole model in output/. A run that has not finished yet can still be talked to
through its newest complete checkpoint, with a note saying so. Pure Python: the CLI checks this
before it starts a chat process, so a typo costs no model loading.

Two runs side by side (`tui-ft chat A --with B`): B takes the base's place in the left pane.
Two adapter runs of the same base share one copy of it (two adapters, one mixed batch); two full
fine-tunes of the same base are two whole models, as base and tuned are. An adapter run beside a
full fine-tune would need the base and a second whole model and gains nothing over chatting with
each against the base, so it is refused with a sentence, as are runs of different base models.
"""

from __future__ import annotations

import dataclasses
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
BASE = "base"  # `--with base`: the usual left side, the base model


@dataclass(frozen=True)
class ChatTarget:
    label: str  # the run's name, or the model reference
    config: RunConfig  # the run's; for a model alone, a LoRA-shaped stand-in
    kind: str  # "adapter" (one base + adapter) | "two-models" (full) | "base-only"
    run: RunDir | None = None
    tuned_path: Path | None = None  # the adapter folder, or the full model's folder
    note: str = ""  # e.g. that a checkpoint stands in for an unfinished run
    # Another run of the same base in the left pane ("base" side) in place of the base model.
    other: ChatTarget | None = None

    @property
    def sides(self) -> tuple[str, ...]:
        return ("base",) if self.kind == "base-only" else ("base", "tuned")

    @property
    def labels(self) -> dict[str, str]:
        """What each side holds, in words: the pane titles."""
        left = self.other.label if self.other is not None else BASE
        return {"base": left, "tuned": self.label} if self.kind != "base-only" else {"base": left}

    @property
    def quantized_base(self) -> bool:
        """A 4-bit base, as QLoRA trained it: only when every adapter on it was trained so."""
        runs = [self] if self.other is None else [self, self.other]
        return self.kind == "adapter" and all(
            method_named(r.config.method).quantized and r.config.qlora == self.config.qlora
            for r in runs
        )


def chat_target(
    run: str | None = None, model: str | None = None, with_run: str | None = None
) -> ChatTarget:
    """Exactly one of `run` (a name or folder) and `model` (a base model reference alone);
    `with_run`, another run (or `base`) for the left pane."""
    if (run is None) == (model is None):
        raise ChatError("bad_request", "name either a run or a model to chat with.")
    if model is not None:
        if with_run not in (None, BASE):
            raise ChatError(
                "bad_request",
                "--with puts a second run beside a run; a model alone has nothing to pair it with.",
                f"Name the runs: `tui-ft chat RUN --with {with_run}`.",
            )
        return ChatTarget(label=model, config=RunConfig(model=model), kind="base-only")
    target = _run_target(str(run))
    if with_run is None or with_run.strip() == BASE:
        return target
    return paired(target, _run_target(with_run))


def paired(target: ChatTarget, other: ChatTarget) -> ChatTarget:
    """`other` in the left pane beside `target`, or a ChatError saying why they cannot share."""
    if other.run == target.run:
        raise ChatError(
            "bad_request",
            f"run {target.label} cannot be put beside itself.",
            f"Name another run with --with, or leave it out to compare {target.label} with its "
            "base model.",
        )
    if other.config.model != target.config.model:
        raise ChatError(
            "bad_request",
            f"runs {other.label} and {target.label} start from different base models "
            f"({other.config.model} and {target.config.model}): the chat puts side by side only "
            "runs of the same base model.",
            f"Chat with each against its base, or compare them with `tui-ft compare "
            f"{other.label} {target.label}`.",
        )
    if other.kind != target.kind:
        full, adapter = (other, target) if other.kind == "two-models" else (target, other)
        raise ChatError(
            "bad_request",
            f"run {full.label} is a full fine-tune and run {adapter.label} an adapter "
            f"({adapter.config.method}): they cannot share one copy of the base model.",
            f"Chat with each against the base (`tui-ft chat {full.label}`, `tui-ft chat "
            f"{adapter.label}`), or compare them with `tui-ft compare {full.label} "
            f"{adapter.label}`.",
        )
    pair = dataclasses.replace(target, other=other)
    notes = [target.note, other.note]
    if (
        pair.kind == "adapter"
        and not pair.quantized_base
        and any(method_named(r.config.method).quantized for r in (target, other))
    ):
        notes.append(
            "The adapters share the base in full precision: a QLoRA adapter trained on a "
            "4-bit base answers here as it would merged (`tui-ft export`)."
        )
    return dataclasses.replace(pair, note=" ".join(n for n in notes if n))


def _run_target(run: str) -> ChatTarget:
    try:
        run_dir = RunDir.open(run)
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
