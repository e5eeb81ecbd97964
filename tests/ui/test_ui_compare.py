"""Marking runs in the runs list (space), comparing them (=) on the Compare screen, and chatting
with two marked runs side by side (c); the Compare screen at 80×24 as a snapshot."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from fake_chat import FakeChats
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from ui_helpers import NOW, app_for, make_run, three_runs, wait_for

from tests.fake_children import FakeRunner
from tui_ft.core.evals.report import EvalReport, TaskScore
from tui_ft.core.evals.store import finish_folder, start_folder
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status
from tui_ft.ui.app import TuiFtApp
from tui_ft.ui.chat.pane import ChatPane
from tui_ft.ui.chat.screen import ChatScreen
from tui_ft.ui.runs.compare import CompareScreen
from tui_ft.ui.runs.metric_chart import MetricChart
from tui_ft.ui.runs.screen import RunsScreen

DONE = Status("completed", started=NOW - 7200, updated=NOW - 3600, step=300, max_steps=300)


def finished(home: Path, name: str, method: str = "lora") -> RunDir:
    """A finished run whose trained model is all the chat checks for."""
    run = make_run(home, name, DONE, method=method)
    run.output_dir.mkdir(parents=True, exist_ok=True)
    marker = "config.json" if method == "full" else "adapter_config.json"
    (run.output_dir / marker).write_text("{}")
    return run


async def mark(pilot: Pilot[Any], *names: str) -> RunsScreen:
    app = pilot.app
    screen = app.screen
    assert isinstance(screen, RunsScreen)
    await wait_for(pilot, lambda: screen.loaded)
    table = screen.query_one(DataTable)
    for name in names:
        table.move_cursor(row=table.get_row_index(name))
        await pilot.pause()
        await pilot.press("space")
    return screen


def cell(screen: RunsScreen, name: str) -> str:
    table = screen.query_one(DataTable)
    return str(table.get_row(name)[1])


def text(screen: CompareScreen, selector: str) -> str:
    """What a Static shows, its Rich tables included, as plain text."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(screen.query_one(selector, Static).content)
    return console.export_text()


async def compared(pilot: Pilot[Any]) -> CompareScreen:
    app = pilot.app
    await pilot.press("equals_sign")
    await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.loaded)
    screen = app.screen
    assert isinstance(screen, CompareScreen)
    await pilot.pause()
    return screen


async def test_space_marks_runs_and_equals_compares_them(home: Path) -> None:
    three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(120, 40)) as pilot:
        runs = await mark(pilot, "demo-lora-running", "demo-full-failed")
        assert runs.marked == ["demo-lora-running", "demo-full-failed"]
        assert cell(runs, "demo-full-failed").startswith("● ")
        assert not cell(runs, "demo-lora-done").startswith("●")
        screen = await compared(pilot)
        assert [run.name for run in screen.runs] == ["demo-lora-running", "demo-full-failed"]
        facts = text(screen, "#compare-facts")
        assert "demo-lora-running" in facts and "peak memory" in facts
        config = text(screen, "#compare-config")
        assert "method" in config and "full" in config
        assert "No evaluation results yet" in text(screen, "#compare-evals")
        # The failed run never answered its probes.
        assert "No probe answers the runs have in common" in text(screen, "#compare-probes")
        loss = screen.query_one("#compare-loss", MetricChart)
        assert set(loss.data) == {"demo-lora-running", "demo-full-failed"}
        assert loss.data["demo-lora-running"][0][:2] == [1.0, 2.0]  # by step
        await pilot.press("x")
        assert loss.data["demo-lora-running"][0][:2] == [800.0, 1600.0]  # by tokens seen
        assert "by tokens seen" in text(screen, "#compare-axis")
        # A full fine-tune and a LoRA run: no chat of the two.
        assert not screen.check_action("chat", ())
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen) and app.screen.marked == runs.marked
        await pilot.press("space")  # unmarks the run under the cursor
        assert len(app.screen.marked) == 1


async def test_equals_needs_two_marked_runs(home: Path) -> None:
    three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        runs = await mark(pilot, "demo-lora-done")
        assert not runs.check_action("compare", ())
        await pilot.press("equals_sign")
        assert isinstance(app.screen, RunsScreen)


async def test_c_with_two_marked_runs_chats_with_both(home: Path) -> None:
    first, second = finished(home, "wren-r8"), finished(home, "wren-r16")
    chats = FakeChats()
    app: TuiFtApp = app_for(home, runner=FakeRunner(chats=chats))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.hardware.snapshot is not None)
        await mark(pilot, "wren-r8", "wren-r16")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen) and chats.clients)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: chats.client.requests)
        load = chats.client.requests[0]
        # The first marked in the base's place, on the left.
        assert (load["run"], load["with_run"]) == (str(second.path), str(first.path))
        titles = [pane.heading for pane in screen.query(ChatPane)]
        assert titles == ["run wren-r8", "run wren-r16"]
        assert not screen.check_action("eval", ())  # a quick eval is base against tuned


async def test_two_runs_that_cannot_share_a_chat_are_a_sentence(home: Path) -> None:
    finished(home, "wren-lora")
    finished(home, "wren-full", method="full")
    app = app_for(home)
    async with app.run_test(size=(100, 30)) as pilot:
        await mark(pilot, "wren-lora", "wren-full")
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        shown = [str(n.message) for n in app._notifications]
        assert any("is a full fine-tune and run" in m for m in shown), shown


async def test_the_evaluations_say_which_run_forgot(home: Path) -> None:
    """A run whose latest evaluation dropped below its base by more than chance: the word
    `forgetting` and the task in the evaluations table, as on its monitor and the runs list."""
    dropped = finished(home, "wren-a")
    kept = finished(home, "wren-b")
    arithmetic = ("forgetting_arithmetic", "exact_match")
    finish_folder(
        start_folder(dropped.path),
        EvalReport("wren-a", [TaskScore(*arithmetic, 0.6, 0.3, 0.05, 0.05)]),
    )
    finish_folder(
        start_folder(kept.path),
        EvalReport("wren-b", [TaskScore(*arithmetic, 0.6, 0.58, 0.05, 0.05)]),
    )
    app = app_for(home)
    async with app.run_test(size=(120, 40)) as pilot:
        await mark(pilot, "wren-a", "wren-b")
        screen = await compared(pilot)
        lines = text(screen, "#compare-evals").splitlines()
        alarm = next(line for line in lines if "forgetting alarm" in line)
        assert "forgetting: forgetting_arithmetic" in alarm
        assert alarm.split()[-1] == "none"  # wren-b's drop is within chance


def test_compare_screen_snapshot(snap_compare: Any, fixed_home: Path) -> None:
    three_runs(fixed_home)

    async def before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await mark(pilot, "demo-lora-running", "demo-lora-done")
        screen = await compared(pilot)
        charts = list(screen.query(MetricChart))
        await wait_for(pilot, lambda: all(not c._dirty for c in charts))
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app_for(fixed_home), terminal_size=(80, 24), run_before=before)
