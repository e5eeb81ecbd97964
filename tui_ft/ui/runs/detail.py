"""Below the runs table: everything about the highlighted run that a table row has no room
for (full name, folder, model, dataset), and for a failed run what went wrong and what to do."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.widgets import Static

from tui_ft.core.runs.listing import RunSummary
from tui_ft.core.runs.text import NONE, loss_text, progress_text, state_label
from tui_ft.core.safe_text import safe
from tui_ft.core.units import format_age
from tui_ft.ui.shell.state_style import state_variable


@dataclass(frozen=True)
class RunRow:
    summary: RunSummary
    loss: float | None  # the last training loss, from the end of metrics.jsonl
    alarm: str = ""  # the forgetting alarm of its evaluations (tui-ft eval)


class RunDetail(Static):
    def show(self, row: RunRow | None) -> None:
        self.update(detail_content(row) if row else Content("No run selected."))


def detail_content(row: RunRow) -> Content:
    s = row.summary
    status = s.status
    lines = [
        Content.assemble((safe(s.name), "bold"), ("  " + safe(str(s.path)), "$text-muted")),
        Content.assemble(
            (safe(state_label(status.state)), f"bold ${state_variable(status.state)}"),
            f" · {progress_text(s)} · loss {loss_text(row.loss)}",
            f" · updated {format_age(s.age_s)} ago",
        ),
        Content(
            safe(
                f"model {s.model or NONE} · method {s.method or NONE} · dataset {s.dataset or NONE}"
            )
        ),
    ]
    if status.error is not None:
        lines.append(
            Content.assemble((safe(f"{status.state}: "), "bold $error"), safe(status.error.message))
        )
        if status.error.hint:
            lines.append(Content.assemble(("hint: ", "bold"), safe(status.error.hint)))
    if s.note:
        lines.append(Content.assemble(("note: ", "bold $warning"), safe(s.note)))
    if row.alarm:
        lines.append(Content(safe(row.alarm)).stylize("bold $warning"))
    return Content("\n").join(lines)
