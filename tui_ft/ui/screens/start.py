"""Where `tui-ft` opens when there are no runs yet. The wizard will take this place; until it
lands, the screen says so and shows the shell commands that start a run, then switches to the
runs list by itself as soon as one appears."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Markdown

from tui_ft import __version__
from tui_ft.core.rundir import has_runs
from tui_ft.ui.screens.base import TuiFtScreen

CHECK_S = 2.0

START_TEXT = """\
## Fine-tune a language model, here in the terminal

No runs yet in `{home}`.

The guided wizard (model → method → dataset → settings → train) is still being built.
Until it lands, start a run from a shell: the runs list opens here as soon as it
appears.

- `tui-ft train run.yaml --detach` — a `run.yaml` holding `model: demo` and `dataset: demo`
  teaches the demo model a new name, on the CPU, in minutes
- `tui-ft estimate --model demo --method lora` — will it fit in memory
- `tui-ft data inspect demo` — a dataset's format, lengths and a rendered example
- `tui-ft doctor` — GPUs, drivers and library versions

**r** runs list · **ctrl+p** commands and themes · **F1** help · **q** quit
"""


class RunsAppeared(Message):
    """A run showed up in the runs home (started from a shell)."""


class StartScreen(TuiFtScreen):
    SCREEN_TITLE = f"Start (v{__version__})"
    HELP = (
        "tui-ft opens here while there are no runs. The wizard that sets up a run step by step "
        "is still being built; meanwhile start one with `tui-ft train`, and it appears here."
    )
    BINDINGS = [
        Binding("r", "app.runs", "Runs", id="start.runs", tooltip="The list of runs"),
    ]

    def __init__(self, runs_home: Path) -> None:
        super().__init__()
        self.runs_home = runs_home
        self._seen_runs = False

    def compose(self) -> ComposeResult:
        yield self.header()
        with VerticalScroll(id="start-body"):
            yield Markdown(START_TEXT.format(home=self.runs_home), id="start-text")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(CHECK_S, self.check_for_runs)

    @work(thread=True, exclusive=True, group="start-check", exit_on_error=False)
    def check_for_runs(self) -> None:
        if has_runs(self.runs_home):
            self.post_message(RunsAppeared())

    def on_runs_appeared(self, _: RunsAppeared) -> None:
        if not self._seen_runs and self.is_current:
            self._seen_runs = True  # once: going back here must not bounce to the list again
            self.notify("A run has started: here is the runs list.")
            self.tui_app.action_runs()
