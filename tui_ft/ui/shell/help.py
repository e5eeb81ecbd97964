"""F1: what the current screen is for and every key it answers to, with the binding ids a
person can remap in keys.toml."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown

from tui_ft.core import paths
from tui_ft.ui.shell.base import TuiFtScreen


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "shell.tcss"
    BINDINGS = [
        Binding("escape,f1,q", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, about: Screen[object]) -> None:
        super().__init__()
        self.about = about

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(help_text(self.about), id="help-text")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()


def help_text(screen: Screen[object]) -> str:
    title = screen.screen_title() if isinstance(screen, TuiFtScreen) else "tui-ft"
    about = getattr(screen, "HELP", "")
    rows = [_row(binding) for binding in _bindings(screen)]
    table = "| key | does | id |\n|---|---|---|\n" + "\n".join(rows)
    keys_file = paths.config_dir() / "keys.toml"
    return (
        f"# {title}\n\n{about}\n\n## Keys\n\n{table}\n\n"
        f'Remap any key by its id in `{keys_file}`, e.g. `"runs.delete" = "x"`.\n\n'
        "Escape closes this help."
    )


def _bindings(screen: Screen[object]) -> list[Binding]:
    own = [b for b in getattr(screen, "BINDINGS", []) if isinstance(b, Binding)]
    app = [b for b in screen.app.BINDINGS if isinstance(b, Binding)]
    return [b for b in [*own, *app] if b.description or b.id == "app.back"]


def _row(binding: Binding) -> str:
    keys = ", ".join(_key_name(key) for key in binding.key.split(","))
    return f"| {keys} | {binding.tooltip or binding.description or 'back'} | `{binding.id}` |"


KEY_NAMES = {
    "escape": "Esc",
    "enter": "Enter",
    "ctrl+p": "Ctrl+P",
    "ctrl+n": "Ctrl+N",
    "f1": "F1",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
}


def _key_name(key: str) -> str:
    return KEY_NAMES.get(key, key)
