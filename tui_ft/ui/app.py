"""The Textual app. Until the wizard lands (the TUI issue) it opens a welcome screen that says
what works today, so the quickstart's first command ends somewhere honest."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Center, VerticalScroll
from textual.widgets import Footer, Header, Markdown

from tui_ft import __version__

WELCOME = f"""\
# tui-ft {__version__}

Fine-tune language models from the terminal.

The guided wizard (model → method → dataset → settings → train → chat A/B) is being built.
What works today, from a shell:

| command | what it does |
|---|---|
| `tui-ft data inspect demo` | format, token lengths and a rendered example of the demo dataset |
| `tui-ft data inspect FILE --model MODEL` | the same for your own data and model |
| `tui-ft demo prepare` | convert the built-in demo model into a fast-loading cache |

Press **q** to quit.
"""


class TuiFtApp(App[None]):
    TITLE = "tui-ft"
    BINDINGS = [Binding("q", "quit", "Quit", id="quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(), Center():
            yield Markdown(WELCOME, id="welcome")
        yield Footer()


def make_app() -> TuiFtApp:
    return TuiFtApp()


def run() -> int:
    make_app().run()
    return 0
