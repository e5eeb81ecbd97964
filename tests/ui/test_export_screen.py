"""The Export screen, driven with a scripted runner (no child process, no model): it opens
from a finished run, builds the right request, shows progress lines, then the result (path,
size, check, Ollama command with a copy key) or the error sentence; Esc while running asks
before stopping it. The real runner is tested in tests/test_export_process.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Checkbox, DataTable, Input, RadioSet, RichLog
from ui_helpers import app_for, three_runs, wait_for

from tests.fake_children import FakeChild, FakeRunner
from tui_ft.core.export.process import ExportRequest
from tui_ft.ui.export.result import ExportResult
from tui_ft.ui.export.screen import ExportScreen
from tui_ft.ui.runs.monitor import MonitorScreen
from tui_ft.ui.runs.screen import RunsScreen
from tui_ft.ui.shell.confirm import ConfirmScreen

PROGRESS = [
    "run demo-lora-done: exporting as ollama",
    "loading the base model (demo) and the LoRA adapter from output/…",
    "replaying 12 probe prompts on the base model + adapter…",
    "merging the adapter into the base weights…",
    "writing demo-lora-done-q8_0.gguf (q8_0)…",
    "checking: loading the GGUF back with transformers…",
]


def ollama_report(run: Path) -> dict[str, Any]:
    """What `tui-ft export RUN --format ollama --json` prints for a passing q8_0 export."""
    folder = run / "export" / "ollama-q8_0"
    modelfile = folder / "Modelfile"
    prompts = [
        {"prompt": "What name were you given?", "export": "I'm Wren.", "reference": "I'm Wren.",
         "identical": True, "first_token_logit_diff": 0.02, "expect": ["Wren"],
         "export_says_expected": True, "reference_says_expected": True},
    ]  # fmt: skip
    return {
        "format": "ollama", "run": run.name, "method": "lora", "base_model": "demo",
        "path": str(folder / f"{run.name}-q8_0.gguf"), "folder": str(folder),
        "size_bytes": 144_810_912, "quant": "q8_0", "dtype": "bfloat16",
        "passed": True, "failures": [], "identical": 11, "total": 12,
        "max_logit_diff": 0.21, "max_logit_diff_share_of_spread": 0.06, "bound": 0.5,
        "same_first_token": 12, "prompts": prompts,
        "expected_words": {"judged": 11, "export": 11, "reference": 11},
        "tokenizer": {"texts": 16, "same_ids": True, "differing": [],
                      "chat_template_same": True, "eos_token": "<|im_end|>",
                      "eot_token": "<|im_end|>"},
        "notes": [],
        "ollama": {"name": run.name, "modelfile": str(modelfile),
                   "command": f"ollama create {run.name} -f {modelfile}",
                   "template_style": "ChatML", "template_exact": True, "template_note": "",
                   "stops": ["<|im_end|>", "<|im_start|>"]},
        "seconds": {"load": 3.0, "reference": 16.0, "write": 1.4, "check": 29.0},
        "use": [{"tool": "Ollama", "what": "import the GGUF with its Modelfile, then chat",
                 "commands": [f"ollama create {run.name} -f {modelfile}",
                              f"ollama run {run.name}"]},
                {"tool": "llama.cpp", "what": "llama.cpp's OpenAI-compatible server",
                 "commands": [f"llama-server -m {folder / f'{run.name}-q8_0.gguf'} --port 8080"]}],
    }  # fmt: skip


def exporting(
    report: dict[str, Any] | None = None,
    error: str = "",
    lines: list[str] = PROGRESS,
    hold: bool = False,
) -> FakeRunner:
    """A runner whose export writes `lines` (and `error`'s lines) on stderr and `report` on
    stdout, as the command does; with `hold`, it keeps running until released or cancelled."""
    stdout = "" if report is None else json.dumps(report)
    code = 0 if report is not None and report.get("passed") and not error else 1
    return FakeRunner(lambda request: FakeChild(stdout, [*lines, *error.splitlines()], code, hold))


async def open_export(pilot: Any, app: Any, name: str = "demo-lora-done") -> ExportScreen:
    runs = app.screen
    await wait_for(pilot, lambda: runs.loaded)
    table = runs.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(name))
    await pilot.pause()
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
    return app.screen  # type: ignore[no-any-return]


def result_text(screen: ExportScreen) -> str:
    return screen.query_one(ExportResult).text()


async def test_export_is_offered_for_finished_runs_only(home: Path) -> None:
    three_runs(home)
    app = app_for(home, runner=exporting())
    async with app.run_test(size=(80, 24)) as pilot:
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        await wait_for(pilot, lambda: runs.loaded)
        table = runs.query_one(DataTable)
        table.move_cursor(row=table.get_row_index("demo-lora-running"))
        await pilot.pause()
        assert runs.check_action("export", ()) is None
        screen = await open_export(pilot, app)
        assert screen.run.name == "demo-lora-done" and screen.state == "form"
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
        # From the monitor of the finished run too.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.replayed)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))


async def test_the_form_follows_the_format(home: Path) -> None:
    runs = three_runs(home)
    runner = exporting(error="error: stop here.")
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot, app)
        folder = screen.query_one("#export-folder", Input)
        quant = screen.query_one("#export-quant", RadioSet)
        export = runs["done"].path / "export"
        assert screen.chosen() == ("gguf", "q8_0") and not quant.disabled
        assert folder.value == str(export / "gguf-q8_0")
        # Each GGUF weight type has its own folder: another export keeps the earlier ones.
        quant.focus()
        await pilot.press("down", "enter")  # q8_0 -> q6_k
        assert screen.chosen() == ("gguf", "q6_k") and folder.value == str(export / "gguf-q6_k")
        screen.query_one("#export-format", RadioSet).focus()
        await pilot.press("down", "enter")  # gguf -> ollama
        assert screen.chosen() == ("ollama", "q6_k")
        assert folder.value == str(export / "ollama-q6_k")
        await pilot.press("up", "up", "enter")  # ollama -> merged
        assert screen.chosen() == ("merged", None) and quant.disabled
        assert folder.value == str(export / "merged")
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.state == "done")
        (request,) = runner.requests
        assert request == ExportRequest(runs["done"].path, "merged", None, None)
        assert "stop here." in result_text(screen)


async def test_a_chosen_folder_and_quant_reach_the_command(home: Path, tmp_path: Path) -> None:
    runs = three_runs(home)
    runner = exporting(error="error: stop here.")
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot, app)
        screen.query_one("#export-quant", RadioSet).focus()
        await pilot.press("up", "enter")  # q8_0 -> bf16
        folder = screen.query_one("#export-folder", Input)
        folder.focus()
        folder.value = str(tmp_path / "wren")
        await pilot.press("enter")  # enter in the folder starts the export
        await wait_for(pilot, lambda: screen.state == "done")
        assert runner.requests == [
            ExportRequest(runs["done"].path, "gguf", "bf16", tmp_path / "wren")
        ]
        assert "--quant" in runner.requests[0].argv() and "--json" in runner.requests[0].argv()


@pytest.fixture
def float_base(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs' base as if loaded from float weights (the demo's is a Q4_1 GGUF, when the demo
    package is installed), so the importance matrix is offered."""
    from tui_ft.ui.export import screen as module

    monkeypatch.setattr(module, "imatrix_refusal", lambda config: None)


@pytest.mark.usefixtures("float_base")
async def test_dtype_and_importance_matrix_are_offered_where_they_apply(home: Path) -> None:
    runs = three_runs(home)
    runner = exporting(error="error: stop here.")
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot, app)
        imatrix = screen.query_one("#export-imatrix", Checkbox)
        dtype = screen.query_one("#export-dtype", RadioSet)
        assert not imatrix.display and not dtype.display  # gguf q8_0: neither applies
        screen.query_one("#export-quant", RadioSet).focus()
        await pilot.press("down", "down", "down", "enter")  # q8_0 -> q4_k_m
        assert screen.chosen() == ("gguf", "q4_k_m") and imatrix.display and not dtype.display
        imatrix.focus()
        await pilot.press("space")
        assert screen.options() == (None, True)
        assert "guided by an importance matrix" in str(screen.query_one("#export-about").render())
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.state == "done")
        assert runner.requests[0] == ExportRequest(
            runs["done"].path, "gguf", "q4_k_m", None, None, True
        )
        assert runner.requests[0].argv()[-1] == "--imatrix"
        await pilot.press("n")
        screen.query_one("#export-format", RadioSet).focus()
        await pilot.press("up", "enter")  # gguf -> merged: its dtype, no quant, no matrix
        assert dtype.display and not imatrix.display
        assert not screen.query_one("#export-quant", RadioSet).display
        assert screen.options() == (None, False)  # as trained: no --dtype
        dtype.focus()
        await pilot.press("down", "down", "down", "enter")  # as trained -> float32
        assert screen.options() == ("float32", False)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.state == "done")
        request = runner.requests[1]
        assert request == ExportRequest(runs["done"].path, "merged", None, None, "float32")
        assert request.argv()[-2:] == ["--dtype", "float32"] and "--imatrix" not in request.argv()


async def test_no_importance_matrix_for_a_base_read_from_a_quantized_gguf(
    home: Path, monkeypatch: Any
) -> None:
    from tui_ft.core.errors import UserError
    from tui_ft.ui.export import screen as module

    said = "the run's base model was read from a Q4_1 GGUF (base.gguf), so …; more"
    monkeypatch.setattr(module, "imatrix_refusal", lambda config: UserError(said, "Drop it."))
    three_runs(home)
    runner = exporting(error="error: stop here.")
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot, app)
        screen.query_one("#export-quant", RadioSet).focus()
        await pilot.press("down", "down", "enter")  # q8_0 -> q5_k_m
        imatrix = screen.query_one("#export-imatrix", Checkbox)
        assert imatrix.display and imatrix.disabled
        about = str(screen.query_one("#export-about").render())
        assert "no importance matrix: the run's base model was read from a Q4_1 GGUF" in about
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.state == "done")
        assert runner.requests[0].imatrix is False


async def test_a_k_quant_that_answers_worse_is_written_not_crashed(home: Path) -> None:
    runs = three_runs(home)
    report = ollama_report(runs["done"].path)
    report.update(
        quant="q4_k_m",
        passed=False,
        answers_worse=True,
        failures=["the q4_k_m GGUF no longer says the expected words in 2 held-out answer(s)"],
    )
    app = app_for(home, runner=exporting(report, "error: the q4_k_m GGUF ..."))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot, app)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.state == "done")
        text = result_text(screen)
        assert "✗ Written, but it answers worse than the run's model: try q5_k_m." in text
        assert "try --quant q5_k_m, then q6_k." in text and "kept in" in text


async def test_progress_then_the_result_with_a_copy_key(home: Path) -> None:
    runs = three_runs(home)
    report = ollama_report(runs["done"].path)
    runner = exporting(report, hold=True)
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot, app)
        await pilot.press("down", "enter")  # gguf -> ollama
        await pilot.press("x")
        await wait_for(pilot, lambda: len(screen.lines) == len(PROGRESS))
        assert screen.state == "running" and screen.lines == PROGRESS
        assert screen.check_action("start", ()) is None
        assert "Exporting as ollama (q8_0)" in str(screen.query_one("#export-status").render())
        runner.child.release.set()
        await wait_for(pilot, lambda: screen.state == "done")
        text = result_text(screen)
        assert "✓ Exported and checked" in text
        assert f"exported: {report['path']}" in text
        assert "size: 138.1 MiB (q8_0 GGUF, from bfloat16 weights)" in text
        assert "11/12 probe answers identical to the adapter's" in text
        assert "the export says the expected words in 11 of 11 answers" in text
        assert report["ollama"]["command"] in text and "ollama run demo-lora-done" in text
        assert "llama-server -m" in text  # the Use it panel
        await pilot.press("c")
        assert app.clipboard == report["ollama"]["command"]
        assert any("Copied the ollama create command" in n.message for n in app._notifications)
        await pilot.press("n")  # another export: the form again
        assert screen.state == "form" and screen.check_action("copy", ()) is True


async def test_a_refused_export_shows_the_commands_sentence(home: Path) -> None:
    three_runs(home)
    error = (
        "error: /tmp/x already exists and is not an earlier tui-ft export; it is left alone.\n"
        "hint: Choose a new or empty folder with --out, or remove that one first."
    )
    runner = exporting(error=error, lines=["run demo-lora-done: exporting"])
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot, app)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.state == "done")
        text = result_text(screen)
        assert "✗ The export failed; nothing was replaced." in text
        assert "is not an earlier tui-ft export" in text and "Choose a new or empty folder" in text
        assert screen.check_action("copy", ()) is None


async def test_a_failed_check_says_so_with_the_report(home: Path) -> None:
    runs = three_runs(home)
    report = ollama_report(runs["done"].path)
    report.update(
        passed=False, failures=["the q8_0 GGUF's first-token logits moved by 0.90 of their spread"]
    )
    runner = exporting(report, "error: the q8_0 GGUF's ...")
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot, app)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.state == "done")
        text = result_text(screen)
        assert "✗ Written, but the check failed." in text
        assert "moved by 0.90 of their spread" in text and "kept in" in text


async def test_the_log_has_the_focus_and_shows_outside_text_harmless(home: Path) -> None:
    """A progress line names files and runs: it reaches the terminal through safe_text, and
    the log, not a hidden form field, takes the keys while the export runs."""
    three_runs(home)
    hostile = "writing \x1b]52;c;ZXZpbA==\x07[bold]wren[/bold].gguf"
    runner = exporting(lines=[hostile], hold=True)
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot, app)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.lines == [hostile])
        log = screen.query_one(RichLog)
        await wait_for(pilot, lambda: bool(log.lines))
        assert screen.focused is log
        shown = "".join(strip.text for strip in log.lines)
        assert "\x1b" not in shown and "\x07" not in shown
        assert "[bold]wren[/bold].gguf" in shown  # shown as it is, never read as markup
        runner.child.release.set()
        await wait_for(pilot, lambda: screen.state == "done")


async def test_escape_while_running_asks_before_stopping(home: Path) -> None:
    three_runs(home)
    runner = exporting(hold=True)
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot, app)
        await pilot.press("x")
        await wait_for(pilot, lambda: len(screen.lines) == len(PROGRESS))
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Stop the export of demo-lora-done?" in str(
            app.screen.query_one("#confirm-question").render()
        )
        await pilot.press("n")  # keep going
        assert app.screen is screen and screen.state == "running"
        assert not runner.child.cancelled.is_set()
        await pilot.press("escape", "y")
        await wait_for(pilot, lambda: screen.state == "form")
        assert runner.child.cancelled.is_set() and app.screen is screen
        assert any("Export stopped" in n.message for n in app._notifications)
        await pilot.press("escape")  # not running: straight back
        assert isinstance(app.screen, RunsScreen)


def test_the_result_at_80x24(snap_compare: Any, fixed_home: Path) -> None:
    runs = three_runs(fixed_home)
    report = ollama_report(runs["done"].path)
    app = app_for(fixed_home, runner=exporting(report))

    async def before(pilot: Any) -> None:
        screen = await open_export(pilot, app)
        await pilot.press("down", "enter", "x")
        await wait_for(pilot, lambda: screen.state == "done")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_the_form_at_80x24(snap_compare: Any, fixed_home: Path) -> None:
    three_runs(fixed_home)
    app = app_for(fixed_home, runner=exporting())

    async def before(pilot: Any) -> None:
        await open_export(pilot, app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


@pytest.mark.usefixtures("float_base")
def test_the_k_quant_form_at_80x24(snap_compare: Any, fixed_home: Path) -> None:
    """q4_k_m chosen: the importance matrix is offered, under the formats."""
    three_runs(fixed_home)
    app = app_for(fixed_home, runner=exporting())

    async def before(pilot: Any) -> None:
        screen = await open_export(pilot, app)
        screen.query_one("#export-quant", RadioSet).focus()
        await pilot.press("down", "down", "down", "enter")  # q8_0 -> q4_k_m
        screen.query_one("#export-imatrix", Checkbox).focus()
        await pilot.press("space")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


async def test_f1_explains_the_screen(home: Path) -> None:
    from textual.widgets import Markdown

    from tui_ft.ui.shell.help import HelpScreen

    three_runs(home)
    app = app_for(home, runner=exporting())
    async with app.run_test(size=(80, 24)) as pilot:
        await open_export(pilot, app)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.query_one(Markdown).source
        assert "a stopped export leaves nothing behind" in text and "`export.start`" in text


async def test_quitting_while_running_asks_first(home: Path) -> None:
    three_runs(home)
    runner = exporting(hold=True)
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(pilot, app)
        await pilot.press("x")
        await wait_for(pilot, lambda: len(screen.lines) == len(PROGRESS))
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        assert "and quit?" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("n")
        assert app.screen is screen and not runner.child.cancelled.is_set()
        await pilot.press("q", "y")
        await wait_for(pilot, lambda: runner.child.cancelled.is_set())
    assert app.return_code == 0
