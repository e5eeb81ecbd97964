"""What came of an export: a verdict line in words (never colour alone), a "Use it" panel with
the commands that run the export (Ollama, llama.cpp, vLLM, transformers/peft), then the same
lines `tui-ft export` prints (path, size, the check), or the error sentence."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from tui_ft.core.export.formats import report_beside
from tui_ft.core.export.process import ExportOutcome, ExportRequest
from tui_ft.core.export.report import failure_sentence, finer_quants, report_lines
from tui_ft.core.export.usage import usage_lines
from tui_ft.core.safe_text import safe

PASSED = "✓ Exported and checked: it answers like the run's model."
CHECK_FAILED = "✗ Written, but the check failed."
WORSE = "✗ Written, but it answers worse than the run's model: try {quant}."
FAILED = "✗ The export failed; nothing was replaced."
CANCELLED = "Cancelled: the export was stopped and the folder it was writing removed."


class ExportResult(Vertical):
    DEFAULT_CSS = """
    ExportResult { height: auto; }
    ExportResult #export-verdict { text-style: bold; }
    ExportResult #export-verdict.-passed { color: $text-success; }
    ExportResult #export-verdict.-failed { color: $text-error; }
    ExportResult #export-use { border: round $panel-lighten-2; padding: 0 1; height: auto; }
    ExportResult #export-use.-empty { display: none; }
    """

    def compose(self) -> ComposeResult:
        # How to run it before the check's details: at 80×24 the details scroll, the commands
        # a person came for stay in view.
        yield Static(id="export-verdict")
        yield Static(id="export-use")
        yield Static(id="export-body")

    def on_mount(self) -> None:
        self.query_one("#export-use").border_title = "Use it"

    def show(self, request: ExportRequest, outcome: ExportOutcome) -> None:
        verdict, body = _lines(request, outcome)
        shown = self.query_one("#export-verdict", Static)
        shown.set_class(outcome.passed, "-passed")
        shown.set_class(not outcome.passed and not outcome.cancelled, "-failed")
        shown.update(Content(safe(verdict)))
        self.query_one("#export-body", Static).update(Content("\n").join(body))
        use = _use_lines(outcome)
        panel = self.query_one("#export-use", Static)
        panel.set_class(not use, "-empty")
        panel.update(Content("\n").join(use))

    def text(self) -> str:
        """Everything shown, as plain text (for tests and the copy of a report)."""
        parts = ("verdict", "body", "use")
        return "\n".join(str(self.query_one(f"#export-{part}", Static).render()) for part in parts)


def _use_lines(outcome: ExportOutcome) -> list[Content]:
    """The commands that run a passed export; the tool lines plain, the commands bold."""
    report = outcome.report
    entries = report.get("use") if report is not None and outcome.passed else None
    if not isinstance(entries, list):
        return []
    return [
        Content.styled(safe(line), "bold") if line.startswith("  ") else Content(safe(line))
        for line in usage_lines(entries)
    ]


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
    where = Path(saved) if saved else report_beside(request.target)
    body = report_lines(report, where)
    return _verdict(report, outcome.passed), [*lines, *(_line(text) for text in body)]


def _verdict(report: dict[str, object], passed: bool) -> str:
    """A k-quant that only rounding failed is a written file that answers worse, not a crash:
    the verdict names the next finer type (the sentence below names the one after)."""
    if passed:
        return PASSED
    finer = finer_quants(report)
    return WORSE.format(quant=finer[0]) if finer else CHECK_FAILED


def _line(text: str) -> Content:
    return Content(safe(text))  # plain text: paths may hold brackets


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
