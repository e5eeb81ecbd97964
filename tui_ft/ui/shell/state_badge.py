"""A run's state as a badge: the word in capitals on the state's colour."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from tui_ft.core.runs.text import STATE_KINDS, state_kind, state_label
from tui_ft.core.safe_text import safe


class StateBadge(Static):
    DEFAULT_CSS = """
    StateBadge.-waiting { background: $secondary; color: $text; }
    StateBadge.-active { background: $success; color: $background; }
    StateBadge.-done { background: $success-darken-2; color: $text; }
    StateBadge.-stopped { background: $warning; color: $background; }
    StateBadge.-failed { background: $error; color: $text; }
    """

    def show(self, state: str) -> None:
        self.update(Content(safe(f" {state_label(state).upper()} ")))
        for kind in set(STATE_KINDS.values()):
            self.set_class(kind == state_kind(state), f"-{kind}")
