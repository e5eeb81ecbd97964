"""The runs list: open, resume, stop and delete, each behind its confirmation."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable
from ui_helpers import FakeLauncher, app_for, make_run, three_runs, wait_for

from tui_ft.core.runs.control import ProcessLauncher
from tui_ft.core.runs.liveness import pid_alive
from tui_ft.core.runs.status import Status
from tui_ft.ui.runs.monitor import MonitorScreen
from tui_ft.ui.runs.screen import RunsScreen
from tui_ft.ui.shell.confirm import ConfirmScreen


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A stand-in trainer in a session of its own, as the launcher starts one."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    yield child
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


async def select(pilot: object, app: object, name: str) -> None:
    screen = app.screen  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: screen.loaded)  # type: ignore[arg-type]
    table = screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(name))
    await pilot.pause()  # type: ignore[attr-defined]


async def test_delete_asks_first_and_removes_only_when_confirmed(home: Path) -> None:
    runs = three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "demo-full-failed")
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Delete run demo-full-failed?" in str(
            app.screen.query_one("#confirm-question").render()
        )
        await pilot.press("n")
        assert isinstance(app.screen, RunsScreen) and runs["failed"].path.exists()
        await pilot.press("d")
        await pilot.press("enter")  # the focused button is Cancel: enter never deletes
        assert runs["failed"].path.exists()
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: "demo-full-failed" not in app.screen.rows)
        assert not runs["failed"].path.exists()
        assert any("Deleted demo-full-failed" in n.message for n in app._notifications)


async def test_an_active_run_cannot_be_deleted_or_resumed(home: Path) -> None:
    three_runs(home)
    launcher = FakeLauncher()
    app = app_for(home, launcher=launcher)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "demo-lora-running")
        await pilot.press("d", "r")
        assert isinstance(app.screen, RunsScreen)
        assert launcher.calls == []


async def test_resume_goes_through_the_launcher_and_opens_the_run(home: Path) -> None:
    three_runs(home)
    launcher = FakeLauncher()
    app = app_for(home, launcher=launcher)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "demo-full-failed")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        assert launcher.calls == [("resume", "demo-full-failed")]
        assert app.screen.run.name == "demo-full-failed"


async def test_stop_asks_then_signals_the_trainer(
    home: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    status = Status("training", pid=sleeper.pid, host=socket.gethostname(), updated=time.time())
    make_run(home, "live", status)
    app = app_for(home, launcher=ProcessLauncher(), clock=time.time)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "live")
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        assert pid_alive(sleeper.pid)
        await pilot.press("s", "y")
        await wait_for(pilot, lambda: sleeper.poll() is not None)
        assert sleeper.returncode == -signal.SIGTERM
        await wait_for(
            pilot, lambda: any("Asked live to stop" in n.message for n in app._notifications)
        )


async def test_a_failing_action_is_a_notification_not_a_crash(home: Path) -> None:
    make_run(home, "no-checkpoint", Status("stopped", step=3, updated=0.0))
    app = app_for(home, launcher=ProcessLauncher(), clock=time.time)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "no-checkpoint")
        await pilot.press("r")
        await wait_for(pilot, lambda: app._notifications)
        (note,) = [n.message for n in app._notifications]
        assert "no complete checkpoint to resume from" in note


async def test_export_opens_the_export_screen_for_the_selected_run(home: Path) -> None:
    from tui_ft.ui.export.screen import ExportScreen  # the screen's own tests: test_export_screen

    three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "demo-lora-done")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        assert app.screen.run.name == "demo-lora-done"  # type: ignore[attr-defined]


async def test_enter_opens_the_monitor_and_escape_comes_back(home: Path) -> None:
    three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await select(pilot, app, "demo-lora-done")
        await pilot.press("enter")
        assert isinstance(app.screen, MonitorScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
