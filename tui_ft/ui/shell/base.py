"""What every tui-ft screen shares: the header, F1 help text, palette commands made from the
screen's own bindings, and worker errors turned into something a person can read."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import ClassVar

from textual.actions import parse
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tui_ft.ui.shell.header import AppHeader
from tui_ft.ui.shell.services import AppServices, services


class TuiFtScreen(Screen[None]):
    # Markdown shown by F1 above the screen's keys: what the screen is for, in a few lines.
    HELP: ClassVar[str] = ""
    SCREEN_TITLE: ClassVar[str] = ""

    @property
    def tui_app(self) -> AppServices:
        """What this screen may ask of the app (ui/shell/services.py)."""
        return services(self.app)

    def screen_title(self) -> str:
        return self.SCREEN_TITLE

    def header(self) -> AppHeader:
        return AppHeader(self.screen_title())

    def own_bindings(self) -> list[Binding]:
        return [b for b in self.BINDINGS if isinstance(b, Binding)]

    def palette_commands(self) -> Iterable[SystemCommand]:
        """Each of this screen's actions that can run now, as a command palette entry."""
        for binding in self.own_bindings():
            _, name, parameters = parse(binding.action)
            if binding.description and self.check_action(name, parameters):
                yield SystemCommand(
                    binding.description,
                    binding.tooltip or binding.description,
                    partial(self.run_action, binding.action),
                )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Worker messages do not bubble: each screen hands its failures to the app.
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.tui_app.report_error(event.worker.error)
