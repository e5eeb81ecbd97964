"""Where a run is: state badge, a bar of step / max_steps, the epoch, the time left and the
share of the run its extras (evaluations, probe answers) took."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from tui_ft.core.runs.extras import extras_text
from tui_ft.core.runs.status import Status
from tui_ft.core.units import format_duration
from tui_ft.ui.shell.state_badge import StateBadge


class RunProgress(Horizontal):
    def compose(self) -> ComposeResult:
        yield StateBadge(id="state-badge")
        yield Static("", id="progress-text")
        # No ETA from the bar itself: it would time our polling, not the trainer.
        yield ProgressBar(show_eta=False, id="progress-bar")

    def show(self, status: Status) -> None:
        self.query_one(StateBadge).show(status.state)
        bar = self.query_one(ProgressBar)
        if status.max_steps:
            bar.update(total=status.max_steps, progress=min(status.step, status.max_steps))
        elif status.state == "completed":
            bar.update(total=1, progress=1)
        self.query_one("#progress-text", Static).update(progress_words(status))


def progress_words(status: Status) -> str:
    step = f"step {status.step}/{status.max_steps}" if status.max_steps else f"step {status.step}"
    parts = [step, f"epoch {status.epoch:.2f}"]
    if status.active and status.eta_s is not None:
        parts.append(f"ETA {format_duration(status.eta_s)}")
    if status.extras_share is not None:
        parts.append(extras_text(status.extras_share))
    return " · ".join(parts)
