"""Every screen that shows outside text, fed the hostile text of tests/hostile.py: what the app
would write to the terminal holds none of the payloads' escapes, and markup from data shows as
written instead of failing. The app's own escape codes (colours, cursor moves) are of course
there; `written` is exactly what the app sends the terminal for the current screen."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fake_chat import FakeChats
from test_chat_screen import chat_app, done_run, open_chat  # the chat tests' own way in
from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import DataTable, Input, Static
from ui_helpers import FIXTURES, app_for, make_run, wait_for

from tests.fake_children import FakeChild, FakeRunner
from tests.hostile import HOSTILE, MARKUP, OSC52, assert_inert
from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import RunError, Status
from tui_ft.ui.chat.eval import QuickEvalScreen
from tui_ft.ui.chat.pane import ChatPane
from tui_ft.ui.runs.detail import RunDetail
from tui_ft.ui.runs.monitor import MonitorScreen
from tui_ft.ui.runs.screen import RunsScreen
from tui_ft.ui.shell.error_screen import ErrorScreen
from tui_ft.ui.wizard.dataset import DatasetStep

FAILED = Status(
    "failed",
    step=3,
    max_steps=9,
    error=RunError("crashed", f"{HOSTILE} [/nope]", f"hint {HOSTILE}"),
)


def written(app: App[Any]) -> str:
    """What the app writes to the terminal to draw its current screen, toasts included (the
    headless driver drops it; this renders the same update through the app's console)."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    assert update is not None
    return update.render_segments(app.console)


class RawApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(Content(f"raw {OSC52}"))


async def test_the_check_sees_an_escape_that_reaches_the_terminal() -> None:
    """The check is real: raw text in a widget does reach what the app writes."""
    app = RawApp()
    async with app.run_test(size=(60, 5)):
        with pytest.raises(AssertionError):
            assert_inert(written(app))


def hostile_run(home: Path, name: str = "hostile") -> RunDir:
    run = make_run(home, name, FAILED)
    run.config_path.write_text(
        json.dumps({"model": f"Qwen[/x]{HOSTILE}", "method": "lora", "dataset": HOSTILE})
    )
    return run


async def test_runs_list_and_detail_show_hostile_names_models_and_errors_inert(
    home: Path,
) -> None:
    hostile_run(home)
    # A folder made by hand, with markup and an escape in its name.
    odd = home / f"r[bold]x{OSC52}"
    odd.mkdir(parents=True)
    RunDir(odd).write_status(FAILED)
    app = app_for(home)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.loaded)
        screen = app.screen
        assert screen.query_one(DataTable).row_count == 2
        for row in range(2):
            screen.query_one(DataTable).move_cursor(row=row)
            await pilot.pause()
            detail = str(screen.query_one(RunDetail).render())
            assert "[/nope]" in detail  # shown as written
            assert_inert(written(app))
        names = " ".join(str(screen.query_one(DataTable).get_row_at(r)[1]) for r in range(2))
        assert "r[bold]x" in names  # a name is not markup


async def test_monitor_shows_hostile_probes_log_and_error_inert(home: Path) -> None:
    run = hostile_run(home)
    probe = {"step": 10, "prompt": f"Q {HOSTILE}", "answer": f"A {HOSTILE}"}
    run.probes_path.write_text(json.dumps(probe) + "\n")
    run.log_path.write_text(f"loading {HOSTILE}\n{OSC52} done\n")
    app = app_for(home)
    async with app.run_test(size=(140, 40)) as pilot:
        app.open_monitor(run)
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.replayed)
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        screen.action_toggle_log()  # a failed run opens on its log: the probes next
        await pilot.pause()
        assert "[/nope]" in str(screen.query_one("#probes", Static).render())
        assert_inert(written(app))
        screen.action_toggle_log()
        await pilot.pause()
        assert_inert(written(app))


async def test_chat_panes_stream_a_hostile_answer_inert(home: Path) -> None:
    run = done_run(home)
    chats = FakeChats()
    app = chat_app(home, chats)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_chat(pilot, run)
        box = screen.query_one("#chat-input", Input)
        box.value = f"tell me {MARKUP}"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.turn is not None)
        fake = chats.client
        fake.started()
        # An escape cut in two by the tokenizer, then the rest of the payloads.
        fake.token("base", "a \x1b", 1)
        fake.token("base", "]52;c;aGFja2Vk\x07 b", 2)
        fake.token("tuned", HOSTILE, 3)
        tuned = screen.query_one("#pane-tuned", ChatPane)
        await wait_for(pilot, lambda: tuned.text == HOSTILE)
        await pilot.pause()
        assert_inert(written(app))
        fake.done("base", f"a {OSC52} b")
        fake.done("tuned", HOSTILE)
        await wait_for(pilot, lambda: screen.phase == "ready")
        await pilot.pause()
        assert_inert(written(app))
        # An error from the chat process, told as a notification.
        fake.emit({"event": "error", "id": None, "kind": "internal", "message": HOSTILE})
        await pilot.pause()
        assert app._notifications  # shown, and inert
        assert_inert(written(app))


async def test_quick_eval_shows_hostile_prompts_and_answers_inert(
    home: Path, tmp_path: Path
) -> None:
    run = done_run(home)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"prompt": HOSTILE, "expect": [MARKUP]}) + "\n")
    chats = FakeChats()
    app = chat_app(home, chats)
    async with app.run_test(size=(140, 40)) as pilot:
        await open_chat(pilot, run)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, QuickEvalScreen))
        evaluation = app.screen
        assert isinstance(evaluation, QuickEvalScreen)
        evaluation.query_one("#eval-source", Input).value = str(prompts)
        await pilot.press("enter")
        await wait_for(pilot, lambda: evaluation.result is not None and not evaluation.running)
        assert evaluation.query_one(DataTable).row_count == 1
        await pilot.pause()
        assert_inert(written(app))


def hostile_report() -> dict[str, Any]:
    report = json.loads((FIXTURES / "inspect_demo.json").read_text(encoding="utf-8"))
    report.update(
        dataset=f"data[/x]{OSC52}.jsonl",
        path=f"data[/x]{OSC52}.jsonl",
        reason=f"detected {HOSTILE}",
        template_note=f"note {HOSTILE}",
        problem_count=1,
        problems=[{"where": f"line 2 {MARKUP}", "message": f"role {HOSTILE!r} [/nope]"}],
    )
    example = copy.deepcopy(report["rendered"][0])
    example["where"] = f"data[/x]{OSC52}.jsonl line 1"
    example["segments"] = [
        {"text": HOSTILE, "trained": False, "special": False},
        {"text": HOSTILE, "trained": True, "special": False},
    ]
    report["rendered"] = [example]
    return report


async def test_dataset_preview_shows_a_hostile_report_and_path_inert(home: Path) -> None:
    report = json.dumps(hostile_report())
    app = app_for(home, runner=FakeRunner(lambda request: FakeChild(report)))
    async with app.run_test(size=(140, 40)) as pilot:
        app.push_screen(DatasetStep(RunConfig(dataset=f"data[/x]{OSC52}.jsonl")))
        await wait_for(pilot, lambda: app.screen.report is not None)
        await pilot.pause()
        facts = str(app.screen.query_one("#dataset-facts", Static).render())
        assert "detected" in facts
        assert "[/nope]" in str(app.screen.query_one("#dataset-problems", Static).render())
        assert_inert(written(app))


async def test_a_hostile_preference_pair_and_objective_sentence_are_inert(home: Path) -> None:
    report = json.loads((FIXTURES / "inspect_demo_preference.json").read_text(encoding="utf-8"))
    example = copy.deepcopy(report["rendered"][0])
    example["prompt_segments"] = [{"text": HOSTILE, "trained": False, "special": False}]
    example["answers"] = [
        {"side": "chosen", "text": HOSTILE, "tokens": 3, "truncated": False},
        {"side": "rejected", "text": f"{MARKUP}{HOSTILE}", "tokens": 4, "truncated": True},
    ]
    report.update(
        rendered=[example],
        fit={"objective": "sft", "fits": False, "sentence": f"{HOSTILE} does not fit."},
        dataset_problem=f"every row {HOSTILE}",
    )
    app = app_for(home, runner=FakeRunner(lambda request: FakeChild(json.dumps(report))))
    async with app.run_test(size=(140, 40)) as pilot:
        app.push_screen(DatasetStep(RunConfig(dataset="pairs.jsonl")))
        await wait_for(pilot, lambda: app.screen.report is not None)
        await pilot.pause()
        shown = str(app.screen.query_one("#dataset-example", Static).render())
        assert "[/nope]" in shown and "rejected · 4 tokens · cut at max_length" in shown
        assert "does not fit." in str(app.screen.query_one("#dataset-facts", Static).render())
        assert_inert(written(app))


async def test_a_preview_error_naming_a_hostile_file_is_inert(home: Path) -> None:
    said = [f"error: {HOSTILE} was not found.", f"hint: Check {MARKUP}."]
    app = app_for(home, runner=FakeRunner(lambda request: FakeChild(stderr=said, returncode=1)))
    async with app.run_test(size=(120, 36)) as pilot:
        app.push_screen(DatasetStep(RunConfig(dataset="x.jsonl")))
        await wait_for(pilot, lambda: app.screen.pending is None)
        await pilot.pause()
        assert "[/nope]" in str(app.screen.query_one("#dataset-facts", Static).render())
        assert_inert(written(app))


async def test_the_error_modal_and_error_notifications_are_inert(home: Path) -> None:
    app = app_for(home)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        app.report_error(UserError(f"broken {HOSTILE}", f"hint {HOSTILE}"))
        await pilot.pause()
        assert_inert(written(app))
        app.report_error(ValueError(HOSTILE))
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen))
        await pilot.pause()
        assert_inert(written(app))
