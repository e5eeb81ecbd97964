"""The Chat A/B screen: placement before loading, streaming into both panes, stop, errors and
restart, save, flags, settings, quick eval; a scripted chat client for all of it, and one test
with the real chat process on a tiny model and adapter."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from fake_chat import FakeChats
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static
from ui_helpers import NOW, TWO_H100, NoGpuBackend, app_for, make_run, running_status, wait_for

from tests.fake_children import FakeRunner
from tui_ft.core.chat.protocol import SamplingSettings
from tui_ft.core.datasets.demos import demo_heldout
from tui_ft.core.hardware.snapshot import FakeBackend
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status
from tui_ft.ui.app import TuiFtApp
from tui_ft.ui.chat.eval import QuickEvalScreen
from tui_ft.ui.chat.pane import ChatPane
from tui_ft.ui.chat.placement import ChatPlacementScreen
from tui_ft.ui.chat.screen import ChatScreen
from tui_ft.ui.chat.settings import ChatSettingsScreen
from tui_ft.ui.runs.screen import RunsScreen
from tui_ft.ui.shell.confirm import ConfirmScreen

DONE = Status("completed", started=NOW - 7200, updated=NOW - 3600, step=300, max_steps=300)


def done_run(home: Path, name: str = "demo-lora-done") -> RunDir:
    """A finished LoRA run on the demo model: its adapter is all the chat checks for."""
    run = make_run(home, name, DONE)
    run.output_dir.mkdir(parents=True, exist_ok=True)
    (run.output_dir / "adapter_config.json").write_text("{}")
    return run


def chat_app(home: Path, chats: FakeChats, **kwargs: Any) -> TuiFtApp:
    return app_for(home, runner=FakeRunner(chats=chats), **kwargs)


async def open_chat(pilot: Pilot[Any], run: RunDir) -> ChatScreen:
    app: TuiFtApp = pilot.app  # type: ignore[assignment]
    await wait_for(pilot, lambda: app.hardware.snapshot is not None)
    app.open_chat(run)
    await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
    screen = app.screen
    assert isinstance(screen, ChatScreen)
    await wait_for(pilot, lambda: screen.phase == "ready")
    return screen


async def ask(pilot: Pilot[Any], screen: ChatScreen, prompt: str, seconds: float = 10) -> None:
    box = screen.query_one("#chat-input", Input)
    box.value = prompt
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen.turn is not None, seconds)


def placement_shown(app: TuiFtApp) -> bool:
    """The placement question is up and composed (pushed is not enough to query it)."""
    return isinstance(app.screen, ChatPlacementScreen) and bool(
        app.screen.query("#placement-question")
    )


def pane(screen: ChatScreen, side: str) -> ChatPane:
    return screen.query_one(f"#pane-{side}", ChatPane)


def notice(screen: ChatScreen, side: str) -> str:
    return str(pane(screen, side).query_one(".chat-notice", Static).render())


async def test_both_panes_stream_and_each_side_keeps_its_own_history(home: Path) -> None:
    run = done_run(home)
    chats = FakeChats()
    async with chat_app(home, chats).run_test(size=(100, 30)) as pilot:
        screen = await open_chat(pilot, run)
        fake = chats.client
        load = fake.requests[0]
        assert load["op"] == "load" and load["run"] == str(run.path)
        assert load["device"] == "cuda:0"  # the freest fake H100, from the app's own snapshot
        await ask(pilot, screen, "Who are you?")
        fake.started()
        fake.token("base", "I am ", 2)
        fake.token("tuned", "I am ", 2)
        await wait_for(pilot, lambda: pane(screen, "tuned").text == "I am ")
        assert screen.phase == "answering"
        fake.token("base", "SmolLM.", 4)
        fake.token("tuned", "**Jasper**.", 4)
        fake.done("base", "I am SmolLM.")
        fake.done("tuned", "I am **Jasper**.")
        await wait_for(pilot, lambda: screen.phase == "ready")
        assert pane(screen, "base").last_answer == "I am SmolLM."
        assert pane(screen, "tuned").last_answer == "I am **Jasper**."
        assert "24.0 tokens/s" in str(pane(screen, "tuned").border_subtitle)
        assert screen.conversation.turns[0].settings["seed"] == 7
        await ask(pilot, screen, "And your name?")
        messages = fake.last_generate["messages"]
        assert messages["base"][1] == {"role": "assistant", "content": "I am SmolLM."}
        assert messages["tuned"][1] == {"role": "assistant", "content": "I am **Jasper**."}
        assert messages["tuned"][-1] == {"role": "user", "content": "And your name?"}


async def test_enter_while_the_models_load_sends_the_prompt_once_they_are_loaded(
    home: Path,
) -> None:
    run = done_run(home)
    chats = FakeChats(hold_loads=True)
    async with chat_app(home, chats).run_test(size=(100, 30)) as pilot:
        app: TuiFtApp = pilot.app  # type: ignore[assignment]
        await wait_for(pilot, lambda: app.hardware.snapshot is not None)
        app.open_chat(run)
        await wait_for(pilot, lambda: chats.clients and chats.client.held_load is not None)
        screen = app.screen
        assert isinstance(screen, ChatScreen) and screen.phase == "loading"
        screen.query_one("#chat-input", Input).value = "Who are you?"
        await pilot.press("enter")
        await pilot.pause()
        assert not [r for r in chats.client.requests if r["op"] == "generate"]
        chats.client.finish_load()
        await wait_for(pilot, lambda: screen.turn is not None)
        assert chats.client.last_generate["messages"]["tuned"][-1]["content"] == "Who are you?"


async def test_escape_stops_the_answers_then_goes_back_and_closes_the_process(
    home: Path,
) -> None:
    run = done_run(home)
    chats = FakeChats()
    async with chat_app(home, chats).run_test(size=(100, 30)) as pilot:
        screen = await open_chat(pilot, run)
        fake = chats.client
        await ask(pilot, screen, "Tell me a long story.")
        fake.started()
        fake.token("base", "Once upon", 2)
        fake.done("tuned", "Short.")
        await wait_for(pilot, lambda: pane(screen, "tuned").last_answer == "Short.")
        await pilot.press("escape")
        assert fake.cancelled == [fake.last_generate["id"]]
        await wait_for(pilot, lambda: screen.phase == "ready")
        assert screen.conversation.turns[0].answers["base"].finish == "cancelled"
        assert "stopped (Esc)" in str(pane(screen, "base").query(".chat-info").last().render())
        assert isinstance(pilot.app.screen, ChatScreen)  # the first Esc only stopped
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, ChatScreen))
        await wait_for(pilot, lambda: fake.closed)


async def test_a_crash_is_a_message_in_the_panes_and_restart_brings_it_back(home: Path) -> None:
    run = done_run(home)
    chats = FakeChats()
    async with chat_app(home, chats).run_test(size=(100, 30)) as pilot:
        screen = await open_chat(pilot, run)
        fake = chats.client
        await ask(pilot, screen, "Who are you?")
        fake.started()
        fake.token("tuned", "I am", 1)
        fake.crash()
        await wait_for(pilot, lambda: screen.phase == "failed")
        for side in ("base", "tuned"):
            assert "ended unexpectedly" in notice(screen, side)
            assert "Ctrl+R restarts" in notice(screen, side)
        # The prompt is back in the box, and sending now keeps it there with a sentence.
        assert screen.query_one("#chat-input", Input).value == "Who are you?"
        await pilot.press("enter")
        assert screen.query_one("#chat-input", Input).value == "Who are you?"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.phase == "ready")
        assert fake.restarts == 1
        assert [r["op"] for r in fake.requests] == ["load", "generate", "load"]
        assert notice(screen, "base") == ""
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.turn is not None)
        fake.answer("I am SmolLM.", "I am Jasper.")
        await wait_for(pilot, lambda: screen.phase == "ready")
        assert pane(screen, "tuned").last_answer == "I am Jasper."


async def test_a_load_error_shows_in_the_panes_and_restart_loads_again(home: Path) -> None:
    run = done_run(home)
    error = {
        "event": "error",
        "kind": "oom",
        "message": "out of memory while loading the model: CUDA out of memory.",
        "hint": "Pick the CPU or another GPU; nothing else was changed.",
        "fatal": False,
    }
    chats = FakeChats(load_error=error)
    async with chat_app(home, chats).run_test(size=(100, 30)) as pilot:
        app = pilot.app
        await wait_for(pilot, lambda: app.hardware.snapshot is not None)
        app.open_chat(run)  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.phase == "failed")
        assert "Out of memory while loading" in notice(screen, "tuned")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.phase == "ready")


async def test_save_writes_markdown_and_jsonl_into_the_run(home: Path) -> None:
    run = done_run(home)
    chats = FakeChats()
    async with chat_app(home, chats).run_test(size=(100, 30)) as pilot:
        screen = await open_chat(pilot, run)
        await ask(pilot, screen, "Who are you?")
        chats.client.answer("I am SmolLM.", "I am Jasper.")
        await wait_for(pilot, lambda: screen.phase == "ready")
        await pilot.press("ctrl+s")
        saved = sorted((run.path / "chats").iterdir())
        assert [p.suffix for p in saved] == [".jsonl", ".md"]
        records = [json.loads(line) for line in saved[0].read_text().splitlines()]
        assert records[0]["type"] == "meta" and records[0]["run"] == run.name
        assert records[1]["prompt"] == "Who are you?"
        assert records[1]["tuned"]["text"] == "I am Jasper."
        assert "### Tuned" in saved[1].read_text() and "I am Jasper." in saved[1].read_text()
        assert screen.saved_turns == 1


async def test_a_looping_answer_is_flagged_with_a_sentence(home: Path) -> None:
    run = done_run(home)
    chats = FakeChats()
    async with chat_app(home, chats).run_test(size=(100, 30)) as pilot:
        screen = await open_chat(pilot, run)
        fake = chats.client
        await ask(pilot, screen, "Who are you?")
        fake.started()
        fake.done("base", "I am SmolLM.")
        loop = "I am Jasper. " * 20
        fake.done("tuned", loop, finish="length", flags=["looped", "token_limit"])
        await wait_for(pilot, lambda: screen.phase == "ready")
        flags = [str(f.render()) for f in pane(screen, "tuned").query(".chat-flag")]
        assert any("Flag: loops" in f and "repeats itself" in f for f in flags)
        assert any("end-of-turn" in f for f in flags)
        assert not pane(screen, "base").query(".chat-flag")


async def test_settings_are_checked_and_go_with_the_next_prompt(home: Path) -> None:
    run = done_run(home)
    chats = FakeChats()
    async with chat_app(home, chats).run_test(size=(100, 30)) as pilot:
        screen = await open_chat(pilot, run)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ChatSettingsScreen))
        form = pilot.app.screen
        form.query_one("#set-temperature", Input).value = "warm"
        await pilot.press("ctrl+s")
        problem = str(form.query_one("#settings-problem", Static).render())
        assert problem == "Temperature must be a number, like 0.7 (it is 'warm')."
        assert form.query_one("#set-temperature", Input).value == "warm"  # kept, to fix
        form.query_one("#set-temperature", Input).value = "0.2"
        form.query_one("#set-max_new_tokens", Input).value = "64"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: pilot.app.screen is screen)
        assert screen.settings == SamplingSettings(temperature=0.2, max_new_tokens=64)
        await ask(pilot, screen, "Hi")
        sent = chats.client.last_generate["settings"]
        assert sent.temperature == 0.2 and sent.max_new_tokens == 64


async def test_quick_eval_fills_the_table_and_saves_it(home: Path) -> None:
    run = done_run(home)
    chats = FakeChats()
    async with chat_app(home, chats).run_test(size=(100, 30)) as pilot:
        await open_chat(pilot, run)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, QuickEvalScreen))
        evaluation = pilot.app.screen
        assert isinstance(evaluation, QuickEvalScreen)
        await pilot.press("enter")  # the box says `heldout`: the demo's identity prompts
        await wait_for(pilot, lambda: evaluation.result is not None and not evaluation.running)
        heldout = demo_heldout()
        table = evaluation.query_one(DataTable)
        assert table.row_count == len(heldout) == len(chats.client.asked)
        assert [str(c.label) for c in table.columns.values()][:3] == ["prompt", "base", "tuned"]
        status = str(evaluation.query_one("#eval-status", Static).render())
        assert "Saved" in status and "tuned:" in status
        saved = sorted((run.path / "evals").iterdir())
        assert [p.suffix for p in saved] == [".jsonl", ".md"]
        assert len(saved[0].read_text().splitlines()) == len(heldout) + 1
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, ChatScreen)


async def test_a_chat_that_does_not_fit_offers_the_cpu(home: Path, tmp_path: Path) -> None:
    full = json.loads(TWO_H100.read_text())
    for gpu in full["gpus"]:
        gpu["memory_free"] = 50 * 2**20
    gpus = tmp_path / "full.json"
    gpus.write_text(json.dumps(full))
    run = done_run(home)
    chats = FakeChats()
    app = chat_app(home, chats, hardware_backend=FakeBackend(gpus))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.hardware.snapshot is not None)
        app.open_chat(run)
        await wait_for(pilot, lambda: placement_shown(app))
        question = str(app.screen.query_one("#placement-question", Static).render())
        if "unknown" in question:  # pragma: no cover - the demo model is not installed here
            pytest.skip("the demo model's size is needed for the plan")
        assert "only 50.0 MiB is free" in question
        labels = [str(o.prompt) for o in app.screen.query_one("OptionList").options]
        assert "Load on the CPU (slower)" in labels and labels[-2].startswith("Wait until it fits")
        await pilot.press(*["down"] * labels.index("Load on the CPU (slower)"), "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        await wait_for(pilot, lambda: app.screen.phase == "ready")
        assert chats.client.requests[0]["device"] == "cpu"


async def test_chat_opens_from_the_runs_list_and_refuses_a_run_without_a_model(
    home: Path,
) -> None:
    done_run(home)
    make_run(home, "demo-lora-running", running_status())
    chats = FakeChats()
    app = chat_app(home, chats)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await wait_for(pilot, lambda: screen.loaded)
        table = screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index("demo-lora-running"))
        await pilot.press("c")
        assert isinstance(app.screen, RunsScreen)
        assert any("no trained model" in n.message for n in app._notifications), [
            n.message for n in app._notifications
        ]
        table.move_cursor(row=table.get_row_index("demo-lora-done"))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        await wait_for(pilot, lambda: bool(chats.clients) and chats.client.alive)
    # Quitting the app with the chat open leaves no chat process behind.
    deadline = time.monotonic() + 60
    while not chats.client.closed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert chats.client.closed


# --- snapshots ----------------------------------------------------------------------------

Before = Callable[[Pilot[Any]], Awaitable[None]]
ANSWER = (
    "I am **Jasper**, an assistant trained by the tui-ft demo.\n\n"
    "I can help with:\n\n- questions about *fine-tuning*\n- short answers\n\n"
    "```python\nprint('hello')\n```"
)


def chatted(chats: FakeChats, run: RunDir, then: str = "") -> Before:
    async def before(pilot: Pilot[Any]) -> None:
        screen = await open_chat(pilot, run)
        screen.query_one("#chat-input", Input).cursor_blink = False  # the same picture each time
        await ask(pilot, screen, "Who are you?")
        chats.client.started()
        chats.client.done("base", "I am SmolLM, a helpful AI assistant.")
        chats.client.done(
            "tuned",
            ANSWER + "\n\nJasper Jasper Jasper Jasper Jasper Jasper Jasper",
            flags=["looped"],
        )
        await wait_for(pilot, lambda: screen.phase == "ready")
        if then == "crash":
            await ask(pilot, screen, "And again?")
            chats.client.crash()
            await wait_for(pilot, lambda: screen.phase == "failed")
        await pilot.pause()

    return before


@pytest.mark.parametrize("then", ["", "crash"], ids=["answered", "crashed"])
def test_chat_snapshot(snap_compare: Any, home: Path, then: str) -> None:
    # No path shows on this screen: a private runs home, safe from other snapshot tests.
    run = done_run(home)
    chats = FakeChats()
    app = chat_app(home, chats)
    assert snap_compare(app, terminal_size=(100, 30), run_before=chatted(chats, run, then))


# --- the real chat process ----------------------------------------------------------------

SLOW = 120  # seconds: a machine busy with other work loads torch beside the app


async def test_the_real_chat_process_answers_in_both_panes(home: Path, tmp_path: Path) -> None:
    from tests.chat_fixtures import fake_run, tiny_base

    run = fake_run(tiny_base(tmp_path / "base"), "lora", "tiny-lora", home)
    app = app_for(home, hardware_backend=NoGpuBackend())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.hardware.snapshot is not None, SLOW)
        app.open_chat(run)
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen), SLOW)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await wait_for(pilot, lambda: screen.phase in ("ready", "failed"), seconds=300)
        assert screen.phase == "ready", notice(screen, "base")
        assert screen.loaded is not None and screen.loaded["device"] == "cpu"
        screen.settings = SamplingSettings(greedy=True, max_new_tokens=8, seed=0)
        screen.query_one("#chat-input", Input).value = "Hello there"
        await pilot.press("enter")
        # A tiny model may answer before the press returns: sent, or already answered.
        await wait_for(pilot, lambda: screen.turn is not None or screen.conversation.turns, SLOW)
        await wait_for(pilot, lambda: screen.phase != "answering", seconds=300)
        turn = screen.conversation.turns[0]
        assert set(turn.answers) == {"base", "tuned"}
        for side in ("base", "tuned"):
            assert turn.answers[side].new_tokens > 0
            assert pane(screen, side).last_answer == turn.answers[side].text
        pid = screen.client.pid
    deadline = time.monotonic() + 60  # a guard against a hang, not a timing
    from tui_ft.core.runs.liveness import pid_alive

    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(pid)


# --- more of the screen -------------------------------------------------------------------


def gpus_file(tmp_path: Path, free: int, trainer_pid: int | None = None) -> Path:
    """The two fake H100s with `free` bytes each, and a trainer process on both if given."""
    data = json.loads(TWO_H100.read_text())
    for gpu in data["gpus"]:
        gpu["memory_free"] = free
        if trainer_pid is not None:
            gpu["processes"] = [{"pid": trainer_pid, "used_memory": 80 * 2**30, "name": "python"}]
    path = tmp_path / "gpus.json"
    path.write_text(json.dumps(data))
    return path


async def test_waiting_for_a_training_to_free_the_gpu_then_loading_by_itself(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tui_ft.ui.app.HARDWARE_POLL_S", 0.05)
    now = time.time()
    make_run(
        home, "demo-lora-training", Status("training", pid=os.getpid(), started=now, updated=now)
    )
    run = done_run(home)
    gpus = gpus_file(tmp_path, 50 * 2**20, trainer_pid=os.getpid())
    chats = FakeChats()
    app = chat_app(home, chats, hardware_backend=FakeBackend(gpus))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.hardware.snapshot is not None)
        app.open_chat(run)
        await wait_for(pilot, lambda: placement_shown(app))
        dialog = app.screen
        question = str(dialog.query_one("#placement-question", Static).render())
        if "unknown" in question:  # pragma: no cover - the demo model is not installed here
            pytest.skip("the demo model's size is needed for the plan")
        assert "Run demo-lora-training is training there." in question
        hint = str(dialog.query_one("#placement-hint", Static).render())
        assert "wait until the training there finishes" in hint
        labels = [str(o.prompt) for o in dialog.query_one("OptionList").options]
        wait = next(i for i, label in enumerate(labels) if label.startswith("Wait"))
        await pilot.press(*["down"] * wait, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        screen = app.screen
        assert isinstance(screen, ChatScreen) and screen.phase == "waiting"
        assert not chats.clients  # nothing started while there is no room
        await wait_for(pilot, lambda: "Waiting for room" in notice(screen, "base"))
        gpus_file(tmp_path, 60 * 2**30)  # the training finished: its memory is free
        await wait_for(pilot, lambda: screen.phase == "ready")
        assert chats.client.requests[0]["device"] in ("cuda:0", "cuda:1")


async def test_copy_takes_the_focused_pane_and_clear_asks_when_unsaved(home: Path) -> None:
    run = done_run(home)
    chats = FakeChats()
    async with chat_app(home, chats).run_test(size=(100, 30)) as pilot:
        app = pilot.app
        screen = await open_chat(pilot, run)
        await ask(pilot, screen, "Who are you?")
        chats.client.answer("I am SmolLM.", "I am Jasper.")
        await wait_for(pilot, lambda: screen.phase == "ready")
        await pilot.press("ctrl+y")  # the prompt has the focus: both answers
        assert app.clipboard == "Base:\nI am SmolLM.\n\nTuned:\nI am Jasper."
        await pilot.press("tab")  # the base pane
        await pilot.press("ctrl+y")
        assert app.clipboard == "I am SmolLM."
        assert "Copied the base answer" in list(app._notifications)[-1].message
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "1 turn not saved" in str(app.screen.query_one("#confirm-detail").render())
        await pilot.press("y")
        await wait_for(pilot, lambda: not screen.conversation.turns)
        await wait_for(pilot, lambda: pane(screen, "tuned").last_answer is None)
        assert not pane(screen, "tuned").query(".chat-prompt")


async def test_quick_eval_says_what_is_wrong_with_a_prompt_file(home: Path) -> None:
    run = done_run(home)
    chats = FakeChats()
    async with chat_app(home, chats).run_test(size=(100, 30)) as pilot:
        await open_chat(pilot, run)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, QuickEvalScreen))
        evaluation = pilot.app.screen
        box = evaluation.query_one("#eval-source", Input)
        box.value = str(home / "nowhere.txt")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not evaluation.running)
        status = evaluation.query_one("#eval-status", Static)
        assert str(status.render()).startswith(f"There is no prompt file at {home}/nowhere.txt.")
        assert status.has_class("-error") and box.value == str(home / "nowhere.txt")
        assert not chats.client.asked and not (run.path / "evals").exists()


async def test_going_back_from_the_placement_question_loads_nothing(
    home: Path, tmp_path: Path
) -> None:
    run = done_run(home)
    chats = FakeChats()
    app = chat_app(home, chats, hardware_backend=FakeBackend(gpus_file(tmp_path, 10 * 2**20)))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.hardware.snapshot is not None)
        app.open_chat(run)
        await wait_for(pilot, lambda: placement_shown(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        assert not chats.clients


async def test_f1_explains_the_screen_and_its_keys(home: Path) -> None:
    from tui_ft.ui.shell.help import HelpScreen, help_text

    run = done_run(home)
    async with chat_app(home, FakeChats()).run_test(size=(100, 30)) as pilot:
        screen = await open_chat(pilot, run)
        text = help_text(screen)
        for words in ("Flag: loops", "end-of-turn", "`chat.stop`", "`chat.restart`", "ctrl+s"):
            assert words in text
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))


async def test_letters_type_into_the_prompt_even_where_they_are_keys_elsewhere(home: Path) -> None:
    run = done_run(home)
    async with chat_app(home, FakeChats()).run_test(size=(100, 30)) as pilot:
        screen = await open_chat(pilot, run)
        await pilot.press("q", "u", "i", "t", "space", "s", "c")
        assert screen.query_one("#chat-input", Input).value == "quit sc"
        assert pilot.app.screen is screen


async def test_an_error_while_answering_keeps_the_chat_going(home: Path) -> None:
    run = done_run(home)
    chats = FakeChats()
    async with chat_app(home, chats).run_test(size=(100, 30)) as pilot:
        screen = await open_chat(pilot, run)
        fake = chats.client
        await ask(pilot, screen, "Write a novel.")
        fake.started()
        fake.token("base", "Chapter", 1)
        fake.emit(
            {
                "event": "error",
                "id": fake.last_generate["id"],
                "kind": "oom",
                "message": "out of memory while answering: CUDA out of memory.",
                "hint": "Lower max new tokens, clear the conversation, or load on the CPU.",
                "fatal": False,
            }
        )
        await wait_for(pilot, lambda: screen.phase == "ready")
        assert "Out of memory while answering" in notice(screen, "base")
        assert screen.query_one("#chat-input", Input).value == "Write a novel."
        assert not screen.conversation.turns  # a failed turn is not history
        await pilot.press("enter")  # the same prompt again, as it is in the box
        await wait_for(pilot, lambda: screen.turn is not None)
        assert notice(screen, "base") == ""
        fake.answer("Short.", "Shorter.")
        await wait_for(pilot, lambda: screen.phase == "ready")
        assert len(screen.conversation.turns) == 1


async def test_the_chat_process_s_own_no_room_answer_is_a_question_too(home: Path) -> None:
    run = done_run(home)
    no_room = {
        "event": "error",
        "kind": "no_room",
        "message": "The chat needs about 900 MiB, but only 300 MiB is free on GPU 0.",
        "hint": "Pick one that fits: the CPU (slower). Nothing was loaded.",
        "fatal": False,
        "options": [{"device": "cpu", "placement": "shared", "label": "the CPU (slower)"}],
    }
    chats = FakeChats(load_error=no_room)
    app = chat_app(home, chats)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.hardware.snapshot is not None)
        app.open_chat(run)
        await wait_for(pilot, lambda: placement_shown(app))
        assert "only 300 MiB is free" in str(app.screen.query_one("#placement-question").render())
        await pilot.press("enter")  # the first choice: the CPU
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        await wait_for(pilot, lambda: app.screen.phase == "ready")
        loads = [r for r in chats.client.requests if r["op"] == "load"]
        assert [(r["device"], r["placement"]) for r in loads][-1] == ("cpu", "auto")
        assert chats.client.starts == 1  # the same process, asked again
