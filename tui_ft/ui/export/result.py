"""What came of an export: a verdict line in words (never colour alone), then the same lines
`tui-ft export` prints (path, size, the check, the Ollama command), or the error sentence."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from tui_ft.core.export.formats import check_report_path
from tui_ft.core.export.process import ExportOutcome, ExportRequest
from tui_ft.core.export.report import failure_sentence, report_lines
from tui_ft.core.safe_text import safe

PASSED = "✓ Exported and checked: it answers like the run's model."
CHECK_FAILED = "✗ Written, but the check failed."
FAILED = "✗ The export failed; nothing was replaced."
CANCELLED = "Cancelled: the export was stopped and the folder it was writing removed."


class ExportResult(Vertical):
    DEFAULT_CSS = """
    ExportResult { height: auto; }
    ExportResult #export-verdict { text-style: bold; }
    ExportResult #export-verdict.-passed { color: $text-success; }
    ExportResult #export-verdict.-failed { color: $text-error; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="export-verdict")
        yield Static(id="export-body")

    def show(self, request: ExportRequest, outcome: ExportOutcome) -> None:
        verdict, body = _lines(request, outcome)
        shown = self.query_one("#export-verdict", Static)
        shown.set_class(outcome.passed, "-passed")
        shown.set_class(not outcome.passed and not outcome.cancelled, "-failed")
        shown.update(Content(safe(verdict)))
        self.query_one("#export-body", Static).update(Content("\n").join(body))

    def text(self) -> str:
        """Everything shown, as plain text (for tests and the copy of a report)."""
        parts = [self.query_one(f"#export-{part}", Static).render() for part in ("verdict", "body")]
        return "\n".join(str(part) for part in parts)


def _lines(request: ExportRequest, outcome: ExportOutcome) -> tuple[str, list[Content]]:
    if outcome.cancelled:
        return CANCELLED, [
            Content(safe(f"An earlier export in {request.target} was left as it was."))
        ]
    report = outcome.report
    if report is None:
        return FAILED, [Content(safe(line)) for line in _said(outcome)]
    lines = [] if outcome.passed else [Content(safe(_failure(report)))]
    saved = report.get("check_report")
    where = Path(saved) if saved else check_report_path(request.run, request.fmt, request.out)
    body = report_lines(report, where)
    return PASSED if outcome.passed else CHECK_FAILED, [*lines, *(_line(text) for text in body)]


def _line(text: str) -> Content:
    # The command to copy stands out; everything else is plain text (paths may hold brackets).
    text = safe(text)
    if text.startswith("  ollama create"):
        return Content.styled(text, "bold")
    return Content(text)


def _said(outcome: ExportOutcome) -> list[str]:
    return outcome.error.splitlines() or ["The export process said nothing about why."]


def _failure(report: dict[str, object]) -> str:
    try:
        return failure_sentence(report).removeprefix("error: ")
    except KeyError:  # a report from another version of tui-ft, without every field
        return "See the check report for what differed."


def copy_text(outcome: ExportOutcome) -> tuple[str, str] | None:
    """What the copy key copies, and its name: the Ollama command, else the exported path."""
    report = outcome.report
    if report is None:
        return None
    ollama = report.get("ollama")
    if isinstance(ollama, dict) and ollama.get("command"):
        return str(ollama["command"]), "the ollama create command"
    return str(Path(str(report["path"]))), "the exported path"
