"""One line on the run's health: the worst alarm with what to do, or that all is well."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.widgets import Static

from tui_ft.core.alarm import Alarm
from tui_ft.core.safe_text import safe


class HealthLine(Static):
    def show(self, alarms: Sequence[Alarm], active: bool) -> None:
        self.set_class(bool(alarms), "-alarm")
        self.update(health_content(alarms, active))


def health_content(alarms: Sequence[Alarm], active: bool) -> Content:
    if not alarms:
        words = "healthy: no alarms" if active else "no alarms"
        return Content.assemble(("✓ ", "$success"), words)
    first = alarms[0]
    error = first.severity == "error"
    mark, style = ("✗ ", "bold $error") if error else ("⚠ ", "bold $warning")
    others = ", ".join(alarm.kind for alarm in alarms[1:])
    more = f"  (also: {others})" if others else ""
    # Alarms may carry names from the run's files (grpo's reward names): outside text.
    return Content.assemble(
        (mark + safe(first.message), style), safe(f" {first.hint}") if first.hint else "", more
    )
