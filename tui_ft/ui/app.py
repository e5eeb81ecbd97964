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

The guided wizard (model → method → dataset → settings → train → chat A/B) is being
built. Until then, from a shell:

- `tui-ft data inspect demo` — format, token lengths and a rendered example of a dataset
- `tui-ft estimate --model demo --method lora` — will it fit in memory, and what would
- `tui-ft train run.yaml` — train (a `run.yaml` with `model: demo` and `dataset: demo`
  teaches the demo model a new name on the CPU in minutes)
- `tui-ft runs`, `tui-ft stop NAME`, `tui-ft resume NAME` — follow and control runs
- `tui-ft doctor` — GPUs, drivers and library versions

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
