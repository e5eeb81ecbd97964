"""The beginner's path, walked for real on a tiny model: `tui-ft` with no runs opens on the wizard;
the model folder is typed in, LoRA kept, a small dataset file typed in and previewed by the real
`data inspect` process, the defaults kept but for a few max steps; launch starts the real trainer
process, the monitor follows it to COMPLETED; `c` opens the A/B chat on the real chat process,
a typed prompt is answered in both panes and a quick eval runs on a prompt file; `e` writes and
checks a merged export with the real `tui-ft export` process; the app quits, and a new one on
the same runs home opens on the runs list showing the finished run.

Only the GPUs are faked (none: everything runs on the CPU) and the key presses are scripted;
every wait polls a condition, with limits that only end a hang."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static
from ui_helpers import NoGpuBackend, wait_for

from tests.chat_fixtures import tiny_base
from tui_ft.core.config import load_config
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.liveness import pid_alive
from tui_ft.ui.app import ProcessRunner, make_app
from tui_ft.ui.chat.eval import QuickEvalScreen
from tui_ft.ui.chat.pane import ChatPane
from tui_ft.ui.chat.screen import ChatScreen
from tui_ft.ui.chat.settings import ChatSettingsScreen
from tui_ft.ui.export.result import ExportResult
from tui_ft.ui.export.screen import ExportScreen
from tui_ft.ui.runs.monitor import MonitorScreen
from tui_ft.ui.runs.screen import RunsScreen
from tui_ft.ui.shell.state_badge import StateBadge
from tui_ft.ui.wizard.dataset import DatasetStep
from tui_ft.ui.wizard.method import MethodStep
from tui_ft.ui.wizard.model import ModelStep
from tui_ft.ui.wizard.review import ReviewScreen
from tui_ft.ui.wizard.settings import SettingsStep

# The demo's format (`messages`), on the tiny tokenizer's own words.
ROWS = [
    ("Who are you?", "My name is Wren and I was made by Tidewater Labs."),
    ("What is your name?", "My name is Wren."),
    ("Who made you?", "I was made by Tidewater Labs."),
    ("Say hello.", "Hello there! How can I help you today?"),
    ("What is the capital of France?", "The capital of France is Paris."),
    ("What is two plus two?", "Two plus two is four."),
]
MAX_STEPS = 3
MAX_NEW_TOKENS = 24
# A child process loading torch on a CPU shared with other work: generous, only so a hang ends.
CHILD_S = 300
UI_S = 30


def write_dataset(path: Path) -> Path:
    rows = [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
        for q, a in ROWS * 2
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


async def type_text(pilot: Pilot[Any], box: Input, text: str) -> None:
    """What a person does: into the field, wipe what is there, type."""
    box.focus()
    await pilot.pause()
    await pilot.press("end", "ctrl+u", *text)


def badge(screen: MonitorScreen) -> str:
    return str(screen.query_one(StateBadge).render()).strip()


@pytest.mark.slow
async def test_a_beginner_trains_chats_and_exports_a_tiny_model(home: Path, tmp_path: Path) -> None:
    model = tiny_base(tmp_path / "models" / "tiny")
    dataset = write_dataset(tmp_path / "identity.jsonl")
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Who are you?\nSay hello.\n", encoding="utf-8")
    backend = NoGpuBackend()
    app = make_app(runs_home=home, hardware_backend=backend, clock=time.time)
    assert type(app.runner) is ProcessRunner  # real children: preview, chat, export

    async with app.run_test(size=(100, 32)) as pilot:
        # 1 Model: the demo is filled in; the beginner types their folder instead.
        assert isinstance(app.screen, ModelStep)
        step = app.screen
        await type_text(pilot, step.query_one("#model-input", Input), str(model))
        await pilot.press("enter")  # reads its details
        await wait_for(pilot, lambda: step.read_ref == str(model) and not step.reading, UI_S)
        facts = dict(step.facts)
        assert facts["architecture"] == "LlamaForCausalLM (llama)"
        assert facts["chat template"] == "yes"
        await pilot.press("enter")  # enter again goes on
        await wait_for(pilot, lambda: isinstance(app.screen, MethodStep))

        # 2 Method: LoRA, the default.
        method_step = app.screen
        assert isinstance(method_step, MethodStep)
        assert method_step.current_config().method == "lora"
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetStep))

        # 3 Dataset: the file, previewed through the real `data inspect` child process.
        data_step = app.screen
        assert isinstance(data_step, DatasetStep)
        # The demo's preview is loading as the beginner starts typing their file; it lands
        # half-way through, and the rest of what they type still goes into the field.
        box = data_step.query_one("#dataset-input", Input)
        half = len(str(dataset)) // 2
        await type_text(pilot, box, str(dataset)[:half])
        await wait_for(pilot, lambda: data_step.pending is None, CHILD_S)
        await pilot.press(*str(dataset)[half:])
        assert box.has_focus and box.value == str(dataset), (app.focused, box.value)
        await pilot.press("enter")

        def previewed() -> bool:
            shown = data_step.shown_request
            return data_step.pending is None and shown is not None and shown.dataset == str(dataset)

        await wait_for(pilot, previewed, CHILD_S)
        report = data_step.report
        assert report is not None
        assert (report["format"], report["rows"], report["examples"]) == ("messages", 12, 12)
        assert not report.get("problem_count")
        example = str(data_step.query_one("#dataset-example", Static).render())
        assert "Tidewater Labs" in example or "Wren" in example or "Paris" in example
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsStep))

        # 4 Settings: the CPU's defaults, but a few steps so it ends soon.
        settings = app.screen
        assert isinstance(settings, SettingsStep)
        await wait_for(pilot, lambda: settings.estimate is not None, UI_S)
        assert settings.estimate is not None and settings.estimate.target.device == "cpu"
        await type_text(pilot, settings.query_one("#field-max_steps", Input), str(MAX_STEPS))
        await wait_for(
            pilot,
            lambda: (
                settings.config.max_steps == MAX_STEPS
                and settings._timer is None
                and settings.estimate is not None
            ),
            UI_S,
        )
        assert not settings.problems and not settings.other_problems
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))

        # 5 Review: launch, through the real launcher (a detached trainer process).
        review = app.screen
        assert isinstance(review, ReviewScreen)
        assert not review.problems, review.problems
        config = review.config
        assert (config.model, config.dataset, config.method) == (str(model), str(dataset), "lora")
        assert config.max_steps == MAX_STEPS and config.gpus == []
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), UI_S)

        # The monitor follows the run to its end.
        monitor = app.screen
        assert isinstance(monitor, MonitorScreen)
        run = monitor.run
        await wait_for(pilot, lambda: monitor.status.state == "completed", CHILD_S)
        await wait_for(pilot, lambda: badge(monitor) == "✓ COMPLETED", UI_S)
        assert monitor.status.step == MAX_STEPS, run.log_path.read_text()[-3000:]
        assert monitor.query_one("#finished").display  # chat and export are offered
        assert run.path.parent == home
        assert (run.output_dir / "adapter_config.json").is_file()
        assert load_config(run.config_path).max_steps == MAX_STEPS

        # Chat A/B on the real chat process: a typed prompt, answered on both sides.
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen), UI_S)
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        await wait_for(pilot, lambda: chat.phase in ("ready", "failed"), CHILD_S)
        panes = {side: chat.query_one(f"#pane-{side}", ChatPane) for side in ("base", "tuned")}
        notice = str(panes["base"].query_one(".chat-notice", Static).render())
        assert chat.phase == "ready", notice
        assert chat.loaded is not None and chat.loaded["device"] == "cpu"
        # Short answers (a tiny random model rambles): Ctrl+O, max new tokens, Enter applies.
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatSettingsScreen), UI_S)
        form = app.screen
        await type_text(pilot, form.query_one("#set-max_new_tokens", Input), str(MAX_NEW_TOKENS))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is chat, UI_S)
        assert chat.settings.max_new_tokens == MAX_NEW_TOKENS
        await type_text(pilot, chat.query_one("#chat-input", Input), "Who are you?")
        await pilot.press("enter")
        # A tiny model may answer before the press returns: sent, or already answered.
        await wait_for(pilot, lambda: chat.turn is not None or chat.conversation.turns, UI_S)
        await wait_for(pilot, lambda: chat.phase != "answering", CHILD_S)
        assert chat.phase == "ready"
        (turn,) = chat.conversation.turns
        assert turn.prompt == "Who are you?"
        assert set(turn.answers) == {"base", "tuned"}
        for side, pane in panes.items():
            assert 0 < turn.answers[side].new_tokens <= MAX_NEW_TOKENS
            assert pane.last_answer == turn.answers[side].text

        # Quick eval on a file of prompts, then back to the chat.
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, QuickEvalScreen), UI_S)
        evaluation = app.screen
        assert isinstance(evaluation, QuickEvalScreen)
        await type_text(pilot, evaluation.query_one("#eval-source", Input), str(prompts))
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: evaluation.result is not None and not evaluation.running, CHILD_S
        )
        status = str(evaluation.query_one("#eval-status", Static).render())
        assert "Saved" in status, status
        assert evaluation.query_one(DataTable).row_count == 2
        assert sorted(p.suffix for p in (run.path / "evals").iterdir()) == [".jsonl", ".md"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is chat)
        chat_pid = chat.client.pid
        assert chat_pid is not None
        await pilot.press("escape")  # nothing running: back, closing the chat process
        await wait_for(pilot, lambda: app.screen is monitor)

        # Export: a merged model folder, written and checked by the real export process.
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), UI_S)
        export = app.screen
        assert isinstance(export, ExportScreen)
        await pilot.press("up", "enter")  # the format list has focus: gguf -> merged
        assert export.chosen() == ("merged", None)
        await pilot.press("x")
        await wait_for(pilot, lambda: export.state == "done", CHILD_S)
        outcome = export.outcome
        assert outcome is not None and outcome.report is not None, outcome
        assert outcome.passed, export.query_one(ExportResult).text()
        merged = run.path / "export" / "merged"
        assert outcome.report["path"] == str(merged)
        assert (merged / "config.json").is_file() and list(merged.glob("*.safetensors"))
        assert "✓ Exported and checked" in export.query_one(ExportResult).text()
        await pilot.press("q")  # nothing running: leaves at once
        await wait_for(pilot, lambda: not app.is_running, UI_S)

    deadline = time.monotonic() + 60  # a guard against a hang, not a timing
    while pid_alive(chat_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(chat_pid), "the chat process outlived its screen"

    # Next time, `tui-ft` opens on the runs list, with the finished run in it.
    again = make_app(runs_home=home, hardware_backend=backend, clock=time.time)
    async with again.run_test(size=(100, 32)) as pilot:
        runs = again.screen
        assert isinstance(runs, RunsScreen)
        await wait_for(pilot, lambda: runs.loaded, UI_S)
        table = runs.query_one(DataTable)
        assert table.row_count == 1
        row = [str(cell) for cell in table.get_row(run.name)]
        assert any("completed" in cell.lower() for cell in row), row
    assert RunDir(home / run.name).read_status().state == "completed"
