"""What screens ask of the app, as one small typed interface: the screens depend on this, the
app (ui/app.py) implements it, so no screen imports the app that imports the screens.

A screen reaches it through `TuiFtScreen.tui_app`; a widget through `services(self.app)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from textual.app import App
from textual.signal import Signal

from tui_ft.core.chat.client import Callback, ChatClientLike
from tui_ft.core.children.runner import Runner
from tui_ft.core.config import RunConfig
from tui_ft.core.hardware.snapshot import HardwareSnapshot
from tui_ft.core.runs.control import Launcher
from tui_ft.core.runs.layout import RunDir


@dataclass(frozen=True)
class HardwareState:
    snapshot: HardwareSnapshot | None = None  # None until the first poll answered
    error: str = ""  # why the GPUs could not be read (a broken fake GPU file, say)


class AppRunner(Runner, Protocol):
    """How the app starts its children: `start` for the `tui-ft … --json` commands (dataset
    preview, pre-flight, export; core.children.runner), `chat` for the chat worker."""

    def chat(self, on_event: Callback, models: Sequence[str]) -> ChatClientLike:
        """A client for a new chat worker that will load these models. The client starts and
        owns the process: it speaks JSON lines both ways for as long as the chat lasts."""


class AppServices(Protocol):
    runs_home: Path  # where runs are created and listed
    launcher: Launcher  # starts (and stops) trainers
    clock: Callable[[], float]  # now, in seconds since the epoch (tests fix it)
    runner: AppRunner  # starts the `tui-ft … --json` children and the chat worker
    hardware: HardwareState  # the latest GPU poll
    hardware_signal: Signal[HardwareState]  # published on each change of `hardware`

    def open_wizard(self, config: RunConfig | None = None) -> None: ...

    def open_monitor(self, run: RunDir) -> None: ...

    def open_chat(self, run: RunDir, with_run: RunDir | None = None) -> None: ...

    def open_compare(self, runs: Sequence[RunDir]) -> None: ...

    def open_export(self, run: RunDir) -> None: ...

    def open_evaluate(self, run: RunDir) -> None: ...

    async def show_new_run(self, run: RunDir) -> None: ...

    def report_error(self, error: BaseException) -> None: ...


def services(app: App[object]) -> AppServices:
    """The app as its services: tui-ft's screens and widgets only ever run in TuiFtApp."""
    return cast(AppServices, app)
