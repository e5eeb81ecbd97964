"""An input box whose value may come from outside (a path or a name from a cloned run.yaml, a
prompt given back): its control characters show as visible ones instead of reaching the
terminal. The value itself is kept as it is."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Input

from tui_ft.core.safe_text import visible


class SafeInput(Input):
    @property
    def _value(self) -> Text:
        text = super()._value
        text.plain = visible(text.plain)  # one character for one: the cursor stays in place
        return text
