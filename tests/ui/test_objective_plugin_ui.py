"""The monitor of a run whose objective lives only in the tests (tests/objectives/tiny_sft.py):
its chart and its alarm appear beside the common ones, with no UI code naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static
from ui_helpers import app_for, metric, running_status, wait_for

from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.runs.layout import RunDir
from tui_ft.ui.runs.metric_chart import MetricChart
from tui_ft.ui.runs.monitor import MonitorScreen


async def test_the_monitor_charts_and_watches_the_objective_metric(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUI_FT_OBJECTIVES", "tests.objectives.tiny_sft")
    run = RunDir.create("plugged", home)
    save_config(RunConfig(name="plugged", objective="tiny_sft", max_steps=300), run.config_path)
    run.write_status(running_status(step=4))
    for step in range(1, 5):
        run.append_metrics({**metric(step), "token_accuracy": 0.0})
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_monitor(run)
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.replayed)
        screen = app.screen
        await pilot.press("2")
        tabs = str(screen.query_one("#chart-tabs", Static).render())
        assert "[ 2 accuracy ]" in tabs and "3 lr" in tabs
        chart = screen.query_one("#chart-accuracy", MetricChart)
        assert list(chart.data["token_accuracy"][1]) == [0.0] * 4
        health = str(screen.query_one("#health", Static).render())
        assert "token accuracy has been 0 since step 1" in health
