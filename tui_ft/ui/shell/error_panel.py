"""A failed or crashed run: its error message and what to do next, where nobody misses them."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from tui_ft.core.runs.status import Status
from tui_ft.core.safe_text import safe


class ErrorPanel(Static):
    def show(self, status: Status) -> None:
        error = status.error
        self.display = error is not None and not status.active
        if error is None:
            return
        lines = [
            Content.assemble(
                (safe(f"{status.state.upper()} ({error.kind}): "), "bold"), safe(error.message)
            )
        ]
        if error.hint:
            lines.append(Content.assemble(("What to do: ", "bold"), safe(error.hint)))
        self.update(Content("\n").join(lines))
