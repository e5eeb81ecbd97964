"""The monitor fed a growing run directory: charts, progress, health alarms, failures."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Log, ProgressBar, Static
from ui_helpers import (
    FakeLauncher,
    app_for,
    fill,
    make_run,
    metric,
    running_status,
    three_runs,
    wait_for,
)

from tui_ft.core.runs.layout import RunDir
from tui_ft.ui.app import TuiFtApp
from tui_ft.ui.runs.metric_chart import MetricChart
from tui_ft.ui.runs.monitor import MonitorScreen
from tui_ft.ui.shell.confirm import ConfirmScreen


def text(screen: MonitorScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def open_monitor(pilot: Pilot[Any], app: TuiFtApp, run: RunDir) -> MonitorScreen:
    app.open_monitor(run)
    await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.replayed)
    assert isinstance(app.screen, MonitorScreen)
    return app.screen


async def test_a_growing_metrics_file_moves_charts_and_progress(home: Path) -> None:
    run = make_run(home, "growing", running_status(step=0))
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_monitor(pilot, app, run)
        chart = screen.query_one("#chart-loss", MetricChart)
        assert "waiting for the first log" in str(chart.query_one(".chart-empty", Static).render())
        for step in range(1, 11):
            run.append_metrics(metric(step))
        run.write_status(dataclasses.replace(running_status(step=10), max_steps=40))
        await wait_for(pilot, lambda: len(chart.data.get("loss", ((), ()))[0]) == 10)
        assert list(chart.data["loss"][0]) == list(range(1, 11))
        await wait_for(pilot, lambda: screen.query_one(ProgressBar).progress == 10)
        assert screen.query_one(ProgressBar).total == 40
        assert "step 10/40" in text(screen, "#progress-text")

        # A record being written: nothing of it yet, all of it once its line ends.
        with run.metrics_path.open("a") as handle:
            handle.write('{"step": 11, "loss": 0.5, "ep')
        await pilot.pause(0.2)
        assert len(chart.data["loss"][0]) == 10
        with run.metrics_path.open("a") as handle:
            handle.write('och": 0.3}\n')
        await wait_for(pilot, lambda: len(chart.data["loss"][0]) == 11)
        assert chart.data["loss"][1][-1] == 0.5
        assert "loss 0.5" in chart.title


async def test_nan_loss_rings_the_bell_and_shows_on_the_health_line(home: Path) -> None:
    run = make_run(home, "diverging", running_status(step=5))
    fill(run, 5)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_monitor(pilot, app, run)
        assert "healthy" in text(screen, "#health")
        run.append_metrics({"step": 6, "loss": "nan", "grad_norm": "nan"})
        await wait_for(pilot, lambda: "nan since step 6" in text(screen, "#health"))
        assert "lower the learning rate" in text(screen, "#health")
        assert screen.bells == 1
        run.append_metrics({"step": 7, "loss": "nan"})
        await pilot.pause(0.3)
        assert screen.bells == 1  # the same alarm rings once


async def test_rising_eval_loss_names_the_best_step(home: Path) -> None:
    run = make_run(home, "overfitting", running_status(step=40))
    fill(run, 40)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_monitor(pilot, app, run)
        for step, loss in ((10, 1.2), (20, 1.0), (30, 1.1), (40, 1.3), (50, 1.5)):
            run.append_metrics({"step": step, "eval_loss": loss})
        (run.checkpoints_dir / "checkpoint-20").mkdir(parents=True)
        (run.checkpoints_dir / "checkpoint-20" / ".complete").write_text("1")
        await wait_for(pilot, lambda: "overfitting" in text(screen, "#health"))
        assert "Best eval loss 1 at step 20: checkpoint-20 holds it." in text(screen, "#health")
        assert screen.bells == 1


async def test_history_alarms_do_not_ring_on_open(home: Path) -> None:
    run = make_run(home, "old-nan", running_status(step=3))
    run.append_metrics({"step": 1, "loss": "nan"})
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_monitor(pilot, app, run)
        assert "nan" in text(screen, "#health")
        assert screen.bells == 0


async def test_a_failed_run_shows_its_error_hint_and_log(home: Path) -> None:
    runs = three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_monitor(pilot, app, runs["failed"])
        panel = text(screen, "#error-panel")
        assert "CUDA ran out of memory at step 12" in panel
        assert "Lower batch_size to 4" in panel
        log = screen.query_one(Log)
        assert log.display and "torch.OutOfMemoryError" in log.lines[-1]
        assert not screen.query_one("#probes-box").display
        assert screen.check_action("stop", ()) is None


async def test_a_finished_run_offers_chat_and_export(home: Path) -> None:
    runs = three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_monitor(pilot, app, runs["done"])
        assert screen.query_one("#finished").display
        assert "A/B chat" in text(screen, "#finished")
        assert screen.check_action("chat", ()) is True
        await pilot.press("c")
        await pilot.pause()
        # This finished run has no output/ folder: the chat says so instead of opening.
        assert any("its trained model is not there" in n.message for n in app._notifications)


async def test_stop_from_the_monitor_asks_first(home: Path) -> None:
    runs = three_runs(home)
    launcher = FakeLauncher()
    app = app_for(home, launcher=launcher)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_monitor(pilot, app, runs["running"])
        titles = [command.title for command in app.get_system_commands(screen)]
        assert "Stop" in titles and "Chat A/B" not in titles  # only what can run now
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert launcher.calls == []
        await pilot.press("s", "y")
        await wait_for(pilot, lambda: launcher.calls == [("stop", "demo-lora-running")])


async def test_keys_pick_a_chart_and_toggle_the_log(home: Path) -> None:
    runs = three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_monitor(pilot, app, runs["running"])
        await pilot.press("3")
        assert screen.query_one("#chart-grad_norm").display
        assert not screen.query_one("#chart-loss").display
        assert "[ 3 grad norm ]" in text(screen, "#chart-tabs")
        await pilot.press("l")
        assert screen.query_one(Log).display and not screen.query_one("#probes-box").display


async def test_wide_terminals_show_every_chart(home: Path) -> None:
    runs = three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_monitor(pilot, app, runs["running"])
        await pilot.pause()
        for chart in screen.query(MetricChart):
            assert chart.display and chart.size.area > 0
        assert screen.query_one(Log).display and screen.query_one("#probes-box").display
