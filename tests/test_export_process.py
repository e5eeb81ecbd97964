"""The export child process as the app runs it: progress lines as they come, the report from
stdout, the command's own error sentence, and a cancel that kills it and removes the folder it
was writing. A stand-in script plays `tui-ft export` (no model is loaded)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.fake_children import StandIn
from tui_ft.core.export.formats import partial_prefix
from tui_ft.core.export.process import ExportProcess, ExportRequest, error_text


def _play(script: str) -> StandIn:
    return StandIn(textwrap.dedent(script))


def test_the_command_line_is_the_cli_export_with_json(tmp_path: Path) -> None:
    request = ExportRequest(tmp_path / "run", "gguf", "q8_0", tmp_path / "out")
    assert request.argv()[1:] == [
        "-m", "tui_ft.cli", "export", str(tmp_path / "run"), "--format", "gguf", "--json",
        "--quant", "q8_0", "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    merged = ExportRequest(tmp_path / "run", "merged")
    assert "--quant" not in merged.argv() and "--out" not in merged.argv()
    assert merged.target == tmp_path / "run" / "export" / "merged"
    # A GGUF's default folder is its quantization's own; the command's default quant without one.
    assert request.target == tmp_path / "out"
    assert ExportRequest(tmp_path / "run", "gguf", "q6_k").target == (
        tmp_path / "run" / "export" / "gguf-q6_k"
    )
    assert ExportRequest(tmp_path / "run", "ollama").target == (
        tmp_path / "run" / "export" / "ollama-q4_k_m"
    )


def test_progress_lines_then_the_report(tmp_path: Path) -> None:
    runner = _play(
        """
        import json, sys
        print("loading the base model", file=sys.stderr)
        print("bar  10%\\rbar 100%", file=sys.stderr)  # a progress bar redrawn in place
        # A report larger than a pipe's buffer, written before stderr is done.
        print(json.dumps({"passed": True, "path": "x.gguf", "answers": "a" * 200_000}))
        print("done", file=sys.stderr)
        """,
    )
    report = {"passed": True, "path": "x.gguf", "answers": "a" * 200_000}
    export = ExportProcess(ExportRequest(tmp_path / "run", "gguf", "f16"), runner)
    assert list(export.lines()) == ["loading the base model", "bar 100%", "done"]
    outcome = export.finish()
    assert outcome.passed and outcome.report == report and not outcome.error


def test_a_refused_export_gives_the_commands_sentence(tmp_path: Path) -> None:
    runner = _play(
        """
        import sys
        print("run demo is training, not completed.", file=sys.stderr)
        print("error: run demo is training, not completed: only a finished run can be exported.",
              file=sys.stderr)
        print("hint: Export it once `tui-ft runs` shows demo as completed.", file=sys.stderr)
        sys.exit(1)
        """,
    )
    export = ExportProcess(ExportRequest(tmp_path / "run", "merged"), runner)
    list(export.lines())
    outcome = export.finish()
    assert outcome.report is None and not outcome.passed
    assert outcome.error.splitlines() == [
        "error: run demo is training, not completed: only a finished run can be exported.",
        "hint: Export it once `tui-ft runs` shows demo as completed.",
    ]


def test_a_failed_check_keeps_its_report(tmp_path: Path) -> None:
    runner = _play(
        """
        import json, sys
        print(json.dumps({"passed": False, "failures": ["the f16 GGUF answers 1 of 4"]}))
        print("error: the f16 GGUF answers 1 of 4 probe prompts differently.", file=sys.stderr)
        sys.exit(1)
        """,
    )
    export = ExportProcess(ExportRequest(tmp_path / "run", "gguf", "f16"), runner)
    list(export.lines())
    outcome = export.finish()
    assert outcome.report is not None and not outcome.passed
    assert outcome.error == "error: the f16 GGUF answers 1 of 4 probe prompts differently."


def test_cancel_kills_the_export_and_removes_its_partial_folder(tmp_path: Path) -> None:
    target = tmp_path / "run" / "export" / "gguf-f16"
    target.mkdir(parents=True)
    (target / "earlier.gguf").write_text("an earlier, good export")
    other = target.parent / (partial_prefix(target, 1) + "someone-else")  # not this export's
    other.mkdir()
    runner = _play(
        f"""
        import os, sys, time
        from pathlib import Path
        partial = Path({str(target.parent)!r}) / f".gguf-f16.tmp-{{os.getpid()}}-abc"
        partial.mkdir()
        (partial / "half.gguf").write_bytes(b"half a model")
        print("writing demo-f16.gguf", file=sys.stderr)
        time.sleep(120)
        """,
    )
    export = ExportProcess(ExportRequest(tmp_path / "run", "gguf", "f16"), runner)
    lines = export.lines()
    assert next(lines) == "writing demo-f16.gguf"  # the partial folder exists by now
    assert any(target.parent.glob(f".gguf-f16.tmp-{export.child.pid}-*"))
    export.cancel()
    assert list(lines) == []
    outcome = export.finish()
    assert outcome.cancelled and outcome.report is None and not outcome.passed
    assert not any(target.parent.glob(f".gguf-f16.tmp-{export.child.pid}-*"))
    assert (target / "earlier.gguf").read_text() == "an earlier, good export"
    assert other.is_dir()
    export.cancel()  # a second cancel, after the end, is harmless


def test_error_text_without_an_error_line() -> None:
    assert error_text([], 1) == "the export process ended with exit code 1."
    assert error_text(["a", "b", "c", "d"], 1) == "b\nc\nd"
    assert "killed (SIGKILL)" in error_text(["loading"], -9)


def test_the_report_is_json_on_stdout_only(tmp_path: Path) -> None:
    runner = _play("print('not json')")
    export = ExportProcess(ExportRequest(tmp_path / "run", "merged"), runner)
    list(export.lines())
    outcome = export.finish()
    assert outcome.report is None and outcome.error == "the export process ended with exit code 0."
    assert json.dumps(outcome.report) == "null"
