"""An unexpected error (a bug, not a user mistake): what happened, and a key to copy it."""

from __future__ import annotations

import traceback

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tui_ft.core.safe_text import safe


class ErrorScreen(ModalScreen[None]):
    CSS_PATH = "shell.tcss"
    BINDINGS = [
        Binding("c", "copy", "Copy", id="error.copy", tooltip="Copy the error for a report"),
        Binding("escape,enter", "dismiss", "Close", id="error.close"),
    ]

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error
        # The frames only, never their locals: those could hold a token.
        self.report = "".join(traceback.format_exception(error, limit=8))

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Static(
                Content(safe(f"Unexpected {type(self.error).__name__}: {self.error}")),
                id="error-title",
            )
            yield Static(
                "This is a bug in tui-ft, not something you did. Your runs are unaffected. "
                "Press c to copy the details for a report, Esc to close.",
                id="error-explain",
            )
            with VerticalScroll(id="error-trace"):
                yield Static(Content(safe(self.report)))

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.report)
        self.notify("Copied the error (through the terminal's clipboard, OSC 52).")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
