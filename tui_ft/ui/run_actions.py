"""What the runs list and the monitor both do to a run: the confirmations before stopping or
deleting, the message a finished action sends back, and the actions not built yet."""

from __future__ import annotations

from textual.message import Message

from tui_ft.core.rundir import RunDir
from tui_ft.ui.screens.confirm import ConfirmScreen

NOT_YET = {
    "export": "Export from the app arrives with its issue; from a shell: `tui-ft export {name}`.",
    "clone": "Clone as a new run arrives with the wizard; for now copy its run.yaml and "
    "`tui-ft train` it.",
}


class ActionDone(Message):
    """A resume, stop or delete finished in its worker: say so, maybe open the run."""

    def __init__(self, text: str, open_run: RunDir | None = None) -> None:
        super().__init__()
        self.text = text
        self.open_run = open_run


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
    return f"Asked {run.name} to stop ({target}): it saves a checkpoint first."
