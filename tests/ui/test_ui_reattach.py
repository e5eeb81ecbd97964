"""Closing the app never touches a run: reopened, the monitor replays its whole history."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from ui_helpers import app_for, make_run, wait_for

from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.liveness import pid_alive
from tui_ft.core.runs.status import Status
from tui_ft.ui.app import TuiFtApp
from tui_ft.ui.runs.monitor import MonitorScreen
from tui_ft.ui.runs.screen import RunsScreen

FAKE_TRAINER = Path(__file__).with_name("fake_trainer.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def trainer(home: Path) -> Iterator[tuple[RunDir, subprocess.Popen[bytes]]]:
    run = make_run(home, "live-run", Status("queued"))
    process = subprocess.Popen(
        [sys.executable, str(FAKE_TRAINER), str(run.path), "2000", "0.02"],
        start_new_session=True,  # as the launcher does: the app's end is not the trainer's
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    yield run, process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def records(run: RunDir) -> int:
    return len(read_jsonl(run.metrics_path))


async def open_first_run(pilot: Pilot[Any], app: TuiFtApp) -> MonitorScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.loaded)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.replayed)
    assert isinstance(app.screen, MonitorScreen)
    return app.screen


async def test_reopening_replays_the_full_history(
    home: Path, trainer: tuple[RunDir, subprocess.Popen[bytes]]
) -> None:
    run, process = trainer
    deadline = time.monotonic() + 120
    while records(run) < 5:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)

    app = app_for(home, clock=time.time)
    async with app.run_test(size=(80, 24)) as pilot:
        monitor = await open_first_run(pilot, app)
        await wait_for(pilot, lambda: monitor.series.records >= 20)
        await pilot.press("q")
    seen_before_quit = monitor.series.records

    assert process.poll() is None and pid_alive(process.pid)  # the run outlived the app
    while records(run) < seen_before_quit + 20:
        time.sleep(0.05)

    app = app_for(home, clock=time.time)
    async with app.run_test(size=(80, 24)) as pilot:
        on_disk = records(run)
        monitor = await open_first_run(pilot, app)
        assert monitor.series.records >= on_disk > seen_before_quit
        steps = [step for step, _ in monitor.series.points["loss"]]
        assert steps[0] == 1 and steps == sorted(steps)  # from the first step, in order
        assert monitor.status.state == "training"
        await wait_for(pilot, lambda: monitor.series.records > on_disk)  # and it keeps following
