"""Where to load the A/B chat when the first choice does not fit: another GPU, the CPU, one model
at a time, or waiting until the memory is free (never an out-of-memory in a running training).

Dismisses with the picked Choice, WAIT, or None (go back).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui_ft.core.safe_text import safe
from tui_ft.ui.chat.prepare import Choice, Decision

WAIT = "wait"
BACK = "back"


class ChatPlacementScreen(ModalScreen[Choice | str | None]):
    CSS_PATH = "chat.tcss"
    BINDINGS = [Binding("escape", "back", "Back", id="chat-placement.back")]

    def __init__(self, decision: Decision) -> None:
        super().__init__()
        self.decision = decision

    def compose(self) -> ComposeResult:
        d = self.decision
        options = [
            Option(Content(safe(f"Load on {c.label}")), id=str(n)) for n, c in enumerate(d.options)
        ]
        if d.can_wait:
            options.append(Option("Wait until it fits (checked as the GPUs are read)", id=WAIT))
        options.append(Option("Go back (load nothing)", id=BACK))
        with Vertical(id="placement-box"):
            yield Static(Content(safe(d.question)), id="placement-question")
            yield Static(Content(safe(d.hint)), id="placement-hint")
            yield OptionList(*options, id="placement-options")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        picked = event.option.id or BACK
        if picked == BACK:
            self.dismiss(None)
        elif picked == WAIT:
            self.dismiss(WAIT)
        else:
            self.dismiss(self.decision.options[int(picked)])

    def action_back(self) -> None:
        self.dismiss(None)
