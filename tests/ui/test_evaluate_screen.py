"""The Evaluate screen, driven with a scripted runner (no child process, no model): `v` opens it
on a finished run, it builds the request, shows each task's scores as the progress lines come,
then the base / tuned / delta table with the forgetting alarm; earlier evaluations reopen;
Esc while running asks before stopping. Snapshots at 80×24. The command itself is tested in
tests/test_eval_engine.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Input, OptionList
from ui_helpers import app_for, three_runs, wait_for

from tests.fake_children import FakeChild, FakeRunner
from tui_ft.core.evals.process import EvalRequest
from tui_ft.core.evals.report import EvalReport, TaskScore
from tui_ft.core.evals.store import finish_folder, start_folder
from tui_ft.core.runs.layout import RunDir
from tui_ft.ui.evals.screen import EvaluateScreen
from tui_ft.ui.runs.monitor import MonitorScreen
from tui_ft.ui.runs.screen import RunsScreen
from tui_ft.ui.shell.confirm import ConfirmScreen

SCORES = [
    TaskScore("forgetting_knowledge_mc", "acc", 0.63, 0.61, 0.048, 0.049),
    TaskScore("forgetting_arithmetic", "exact_match", 0.34, 0.15, 0.053, 0.040),
    TaskScore("heldout_loss", "loss", 2.51, 0.43, 0.1, 0.05, False, 10, False),
]


def saved(run: RunDir, created: str = "2026-12-06 16:40:00", limit: int | None = None) -> Path:
    report = EvalReport(run.name, SCORES, created, limit, device="cpu", seconds=75.0)
    return finish_folder(start_folder(run.path), report)


def lines(folder: Path) -> list[str]:
    return [
        "reading 4 task(s) …",
        "base: forgetting_knowledge_mc …",
        "base: forgetting_knowledge_mc acc 0.630 (100 questions, 9 s)",
        "base: forgetting_arithmetic …",
        f"saved in {folder}",
    ]


def evaluating(folder: Path | None = None, hold: bool = False, error: str = "") -> FakeRunner:
    out = [] if folder is None else lines(folder)
    code = 1 if error else 0
    stdout = "" if error else json.dumps({"tasks": {}})
    return FakeRunner(lambda request: FakeChild(stdout, [*out, *error.splitlines()], code, hold))


async def open_evaluate(pilot: Any, app: Any, name: str = "demo-lora-done") -> EvaluateScreen:
    runs = app.screen
    await wait_for(pilot, lambda: runs.loaded)
    table = runs.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(name))
    await pilot.pause()
    await pilot.press("v")
    await wait_for(pilot, lambda: isinstance(app.screen, EvaluateScreen))
    return app.screen  # type: ignore[no-any-return]


async def test_evaluate_is_offered_for_finished_runs_from_the_list_and_the_monitor(
    home: Path,
) -> None:
    three_runs(home)
    app = app_for(home, runner=evaluating())
    async with app.run_test(size=(80, 24)) as pilot:
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        await wait_for(pilot, lambda: runs.loaded)
        table = runs.query_one(DataTable)
        table.move_cursor(row=table.get_row_index("demo-lora-running"))
        await pilot.pause()
        assert runs.check_action("evaluate", ()) is None
        screen = await open_evaluate(pilot, app)
        assert screen.state == "form" and screen.chosen_tasks() == "forgetting"
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.replayed)
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, EvaluateScreen))


async def test_an_evaluation_shows_progress_then_the_table_with_the_alarm(home: Path) -> None:
    runs = three_runs(home)
    done = runs["done"]
    folder = saved(done)
    runner = evaluating(folder)
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_evaluate(pilot, app)
        screen.query_one("#evaluate-more", Input).value = "arc_easy"
        screen.query_one("#evaluate-limit", Input).value = "50"
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.state == "done")
        [request] = runner.requests
        assert request == EvalRequest(done.path, "forgetting,arc_easy", 50, "auto")
        assert "--limit" in request.argv() and request.command().env == {"HF_HUB_OFFLINE": "1"}
        assert screen.steps["forgetting_knowledge_mc"] == {"base": "0.630"}
        assert screen.steps["forgetting_arithmetic"] == {"base": "…"}
        assert screen.metrics == {"forgetting_knowledge_mc": "acc"}
        table = screen.query_one(DataTable)
        assert table.row_count == 3
        alarm_row = [str(cell) for cell in table.get_row("forgetting_arithmetic")]
        assert alarm_row[-1] == "forgetting" and alarm_row[2:5] == ["0.340", "0.150", "-0.190"]
        alarm = str(screen.query_one("#evaluate-alarm").render())
        assert "Forgetting" in alarm and "forgetting_arithmetic" in alarm
        await pilot.press("escape")  # back to the form, where the evaluation is listed
        assert screen.state == "form" and len(screen.earlier) == 1


async def test_a_failed_evaluation_says_why_on_the_form(home: Path) -> None:
    three_runs(home)
    error = "error: lm-eval knows no task named nope.\nhint: `lm-eval ls tasks` lists them."
    app = app_for(home, runner=evaluating(error=error))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_evaluate(pilot, app)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.outcome is not None)
        assert screen.state == "form"
        assert "knows no task named nope" in str(screen.query_one("#evaluate-note").render())


async def test_escape_while_running_asks_then_stops(home: Path) -> None:
    three_runs(home)
    runner = evaluating(hold=True)
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_evaluate(pilot, app)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.state == "running" and runner.children)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        app.screen.dismiss(True)
        await wait_for(pilot, lambda: screen.state == "form")
        assert runner.child.cancelled.is_set()


async def test_keys_while_running_are_the_screens_even_when_started_from_a_field(
    home: Path,
) -> None:
    """Enter in the limit field starts it; the form (and that field) is then hidden, and q and
    Esc ask before stopping instead of landing in the hidden field."""
    three_runs(home)
    runner = evaluating(hold=True)
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_evaluate(pilot, app)
        limit = screen.query_one("#evaluate-limit", Input)
        limit.focus()
        await pilot.press("5", "enter")
        await wait_for(pilot, lambda: screen.state == "running" and runner.children)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "and quit" in str(app.screen.question)
        app.screen.dismiss(False)
        await pilot.pause()
        assert limit.value == "5" and screen.query_one("#evaluate-more", Input).value == ""
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        app.screen.dismiss(True)
        await wait_for(pilot, lambda: screen.state == "form")
        assert runner.child.cancelled.is_set()


async def test_earlier_evaluations_say_when_what_how_many_and_what_dropped(home: Path) -> None:
    saved(three_runs(home)["done"], limit=5)
    app = app_for(home, runner=evaluating())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_evaluate(pilot, app)
        earlier = screen.query_one("#evaluate-earlier", OptionList)
        label = str(earlier.get_option_at_index(0).prompt)
        # The suite's tasks under its one name; the held-out loss is no task of its own here.
        assert label == (
            "2026-12-06 16:40:00 · forgetting · limit 5 · forgetting: forgetting_arithmetic"
        )
        earlier.focus()
        earlier.highlighted = 0
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.state == "done")
        summary = str(screen.query_one("#evaluate-summary").render())
        assert summary.startswith("Evaluated 2026-12-06 16:40:00.")


def test_snapshot_form_with_an_earlier_evaluation(snap_compare: Any, fixed_home: Path) -> None:
    saved(three_runs(fixed_home)["done"])
    app = app_for(fixed_home, runner=evaluating())

    async def before(pilot: Any) -> None:
        await wait_for(pilot, lambda: pilot.app.hardware.snapshot is not None)
        await open_evaluate(pilot, pilot.app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_snapshot_table_with_the_alarm(snap_compare: Any, fixed_home: Path) -> None:
    saved(three_runs(fixed_home)["done"])
    app = app_for(fixed_home, runner=evaluating())

    async def before(pilot: Any) -> None:
        await wait_for(pilot, lambda: pilot.app.hardware.snapshot is not None)
        screen = await open_evaluate(pilot, pilot.app)
        earlier = screen.query_one("#evaluate-earlier", OptionList)
        earlier.focus()
        earlier.highlighted = 0
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.state == "done")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)
