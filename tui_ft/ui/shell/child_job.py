"""A screen that runs one job of a finished run in a child process (an export, an evaluation):
a form, then the job running, then its result. What such screens share lives here: the three
states as CSS classes, the elapsed-time status line, and the rule that leaving or quitting
while the job runs asks first and then kills the child (it must never go on unseen)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import ClassVar, Generic, Protocol, TypeVar

from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from tui_ft.core.runs.layout import RunDir
from tui_ft.core.safe_text import safe
from tui_ft.ui.shell.base import TuiFtScreen
from tui_ft.ui.shell.confirm import ConfirmScreen

STATES = ("form", "running", "done")


class JobProcess(Protocol):
    def lines(self) -> Iterator[str]: ...
    def cancel(self) -> None: ...
    def finish(self) -> object: ...


P = TypeVar("P", bound=JobProcess)


class ChildJobScreen(TuiFtScreen, Generic[P]):
    JOB: ClassVar[str] = "job"  # the noun in "Stopping the export…"
    STATUS_ID: ClassVar[str] = "#job-status"  # the Static that shows the running line

    def __init__(self, run: RunDir) -> None:
        super().__init__()
        self.run = run
        self.state = "form"  # form -> running -> done (-> form again)
        self.process: P | None = None
        self._started = 0.0
        self._stop_asked = False

    # --- what each screen says ----------------------------------------------------------

    def running_line(self) -> str:
        """The status line while the job runs, before the elapsed seconds (plain text: names
        in it come from outside and are shown through safe())."""
        raise NotImplementedError

    def stop_question(self, quitting: bool) -> ConfirmScreen:
        raise NotImplementedError

    def focus_state(self, state: str) -> None:
        """Put the focus where the new state's keys act (none: the screen's own keys)."""

    def leave_idle(self) -> None:
        """Esc when nothing runs."""
        self.app.pop_screen()

    # --- the job ------------------------------------------------------------------------

    def start_job(self) -> None:
        """Into the running state; the screen's worker then calls `relay`."""
        self._stop_asked = False
        self._started = time.monotonic()
        self.set_job_state("running")

    def relay(
        self,
        process: P,
        progress: Callable[[str], Message],
        finished: Callable[[P], Message],
    ) -> None:
        """In the screen's worker thread: forward the child's lines, then its outcome."""
        self.process = process
        if self._stop_asked:  # Esc was confirmed while the process was still starting
            process.cancel()
        for line in process.lines():
            self.post_message(progress(line))
        self.post_message(finished(process))

    # Textual runs these beside a screen's own on_mount/on_unmount (handlers follow the MRO).
    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def on_unmount(self) -> None:
        # Leaving the app while the job runs: it must not go on writing unseen.
        if self.process is not None and self.state == "running":
            self.process.cancel()

    def set_job_state(self, state: str) -> None:
        self.state = state
        for name in STATES:
            self.set_class(state == name, f"-{name}")
        self._show_status()
        # A form widget hidden with its state must not keep the focus: a focused input, out of
        # sight, would swallow q and every other key while the job runs.
        self.set_focus(None)
        self.focus_state(state)
        self.refresh_bindings()

    def _tick(self) -> None:
        if self.state == "running":
            self._show_status()

    def _show_status(self) -> None:
        status = self.query_one(self.STATUS_ID, Static)
        if self.state == "running":
            seconds = int(time.monotonic() - self._started)
            line = f"{self.running_line()}… {seconds} s (Esc stops it)"
            status.update(Content(safe(line)))
        status.display = self.state == "running"

    # --- keys ---------------------------------------------------------------------------

    def action_leave(self) -> None:
        if self.state != "running":
            self.leave_idle()
            return
        self.app.push_screen(self.stop_question(quitting=False), self._stop_if)

    def action_quit_app(self) -> None:
        if self.state != "running":
            self.app.exit()
            return

        def stop_and_quit(yes: bool | None) -> None:
            if yes:
                self._stop_if(True)
                self.app.exit()

        self.app.push_screen(self.stop_question(quitting=True), stop_and_quit)

    def _stop_if(self, yes: bool | None) -> None:
        if yes and self.state == "running":
            self._stop_asked = True
            self.query_one(self.STATUS_ID, Static).update(f"Stopping the {self.JOB}…")
            if self.process is not None:
                self.process.cancel()
