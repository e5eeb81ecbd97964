"""What the runs list and the monitor both do to a run: the confirmations before stopping or
deleting, the message a finished action sends back, and the actions not built yet."""

from __future__ import annotations

from dataclasses import replace

from textual.message import Message

from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.runs.control import BEFORE_START, resume_notes
from tui_ft.core.runs.layout import RunDir
from tui_ft.ui.shell.confirm import ConfirmScreen

# Actions whose screens are not built yet: the sentence said instead (none left today).
NOT_YET: dict[str, str] = {}


class ActionDone(Message):
    """A resume, stop or delete finished in its worker: say so, maybe open the run."""

    def __init__(self, text: str, open_run: RunDir | None = None) -> None:
        super().__init__()
        self.text = text
        self.open_run = open_run


def clone_config(run: RunDir) -> RunConfig:
    """The run's config for a new run: everything kept but the name, which the new run gets
    afresh. Raises UserError (shown as a notification) when run.yaml no longer loads."""
    return replace(load_config(run.config_path), name="")


def confirm_stop(run: RunDir) -> ConfirmScreen:
    return ConfirmScreen(
        f"Stop run {run.name}?",
        "The trainer saves a checkpoint, then ends as stopped; resume continues it from there.",
        "Stop",
    )


def confirm_delete(run: RunDir) -> ConfirmScreen:
    return ConfirmScreen(
        f"Delete run {run.name}?",
        f"This removes {run.path} with its checkpoints, logs and trained model. "
        "It cannot be undone.",
        "Delete",
    )


def stopped_text(run: RunDir, target: str) -> str:
    if target == BEFORE_START:
        return f"Stopped {run.name} {BEFORE_START}: resuming it starts from the beginning."
    return f"Asked {run.name} to stop ({target}): it saves a checkpoint first."


def resumed_text(run: RunDir) -> str:
    """Where the resume started: the newest checkpoint, or why not (damaged, none yet)."""
    notes = resume_notes(run)
    return " ".join(notes) if notes else f"Resumed {run.name} from its last checkpoint."
