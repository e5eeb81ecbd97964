"""SVG snapshots of each screen and key state, at 80×24 unless said (fixed clock, fake GPUs,
a fixed runs home: the pictures are the same on every run)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from ui_helpers import app_for, three_runs, wait_for

from tui_ft.core.runs.layout import RunDir
from tui_ft.ui.runs.metric_chart import MetricChart
from tui_ft.ui.runs.monitor import MonitorScreen

Before = Callable[[Pilot[Any]], Awaitable[None]]


def header_ready(app: Any) -> bool:
    found = app.screen.query("#gpus")  # the screen may not be composed yet
    return bool(found) and "reading" not in str(found.first().render())


def settled(opens: str | None = None) -> Before:
    """Wait for the GPUs, the runs listing and, when `opens` names a run, its replayed monitor
    with every visible chart drawn."""

    async def before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: header_ready(app))
        if hasattr(app.screen, "loaded"):
            await wait_for(pilot, lambda: app.screen.loaded)
        if opens is not None:
            app.open_monitor(RunDir(app.runs_home / opens))
            await wait_for(
                pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.replayed
            )
            await wait_for(pilot, lambda: all(not c._dirty for c in _shown_charts(app.screen)))
            await wait_for(pilot, lambda: header_ready(app))
        await pilot.pause()

    return before


def _shown_charts(screen: MonitorScreen) -> list[MetricChart]:
    return [c for c in screen.query(MetricChart) if c.size.area]


def test_runs_list_with_two_gpus(snap_compare: Any, fixed_home: Path) -> None:
    three_runs(fixed_home)
    assert snap_compare(app_for(fixed_home), terminal_size=(80, 24), run_before=settled())


@pytest.mark.parametrize(
    ("run", "size", "theme"),
    [
        ("demo-lora-running", (80, 24), "dark"),
        ("demo-full-failed", (80, 24), "dark"),  # its error and hint, with the log tail
        ("demo-lora-running", (160, 48), "dark"),  # every chart at once
        ("demo-lora-done", (80, 24), "light"),  # finished: chat and export offered
    ],
    ids=["training", "failed-with-hint", "wide", "completed-light"],
)
def test_monitor(
    snap_compare: Any, fixed_home: Path, run: str, size: tuple[int, int], theme: str
) -> None:
    three_runs(fixed_home)
    app = app_for(fixed_home, theme=theme)
    assert snap_compare(app, terminal_size=size, run_before=settled(opens=run))
