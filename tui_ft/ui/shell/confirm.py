"""A yes/no question before something that cannot be taken back (stop, delete)."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui_ft.core.safe_text import safe


def when_confirmed(action: Callable[[], object]) -> Callable[[bool | None], None]:
    """A ConfirmScreen callback that does `action` on yes; what it returns (a worker) is dropped,
    as the screen's callback must return nothing."""

    def answered(yes: bool | None) -> None:
        if yes:
            action()

    return answered


class ConfirmScreen(ModalScreen[bool]):
    CSS_PATH = "shell.tcss"
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, detail: str, yes: str) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Content(safe(self.question)), id="confirm-question")  # run names, paths
            yield Static(Content(safe(self.detail)), id="confirm-detail")
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="confirm-yes")
                yield Button("Cancel (n)", id="confirm-no")

    def on_mount(self) -> None:
        # Enter on the focused button must never be the destructive answer by accident.
        self.query_one("#confirm-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
