"""The colour that goes with a run state, from the current theme (the word always goes with it)."""

from __future__ import annotations

from rich.style import Style
from textual.app import App

from tui_ft.core.runs.text import state_kind

# Kind of state (tui_ft.core.runs.text.STATE_KINDS) -> theme variable.
KIND_VARIABLES = {
    "waiting": "secondary",
    "active": "success",
    "done": "success",
    "stopped": "warning",
    "failed": "error",
}


def state_variable(state: str) -> str:
    return KIND_VARIABLES[state_kind(state)]


def state_style(app: App[object], state: str) -> Style:
    """A Rich style for places that take Rich text (table cells)."""
    color = app.theme_variables.get(state_variable(state), "")
    return Style(color=color or None, bold=state_kind(state) in ("active", "failed"))
