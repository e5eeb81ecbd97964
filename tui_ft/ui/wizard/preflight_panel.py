"""The pre-flight part of the review screen: what the check is, that it is running (a spinner and
the seconds so far), then its measured numbers or its error sentence."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widget import Widget
from textual.widgets import LoadingIndicator, Static

from tui_ft.core.errors import UserError
from tui_ft.core.runs.preflight import PreflightReport
from tui_ft.core.safe_text import safe

IDLE_TEXT = (
    "Optional: p runs a pre-flight check: two training steps on the longest rows, measuring "
    "peak memory and step time (loads the model; a minute or more)."
)


class PreflightPanel(Widget):
    DEFAULT_CSS = """
    PreflightPanel {
        height: auto;
        padding: 0 1;
    }
    PreflightPanel #preflight-running {
        height: 1;
        display: none;
    }
    PreflightPanel.-running #preflight-running {
        display: block;
    }
    PreflightPanel.-running #preflight-text {
        display: none;
    }
    PreflightPanel LoadingIndicator {
        width: 8;
        height: 1;
        min-height: 1;
        margin-right: 1;
    }
    PreflightPanel #preflight-elapsed {
        width: 1fr;
    }
    PreflightPanel #preflight-text {
        height: auto;
        color: $text-muted;
    }
    PreflightPanel.-done #preflight-text {
        color: $text-success;
    }
    PreflightPanel.-failed #preflight-text {
        color: $text-error;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = "idle"  # idle | running | done | failed | cancelled

    def compose(self) -> ComposeResult:
        with Horizontal(id="preflight-running"):
            yield LoadingIndicator()
            yield Static("", id="preflight-elapsed")
        yield Static(IDLE_TEXT, id="preflight-text", markup=False)

    def start(self) -> None:
        self._set("running")
        self.tick(0)

    def tick(self, seconds: float) -> None:
        self.query_one("#preflight-elapsed", Static).update(
            f"Pre-flight running: {int(seconds)} s (escape cancels)"
        )

    def show_report(self, report: PreflightReport) -> None:
        self._set("done", Content(safe("Pre-flight passed: " + "\n".join(report.lines()))))

    def show_error(self, error: UserError) -> None:
        text = Content.assemble(("Pre-flight failed: ", "bold"), safe(error.message))
        if error.hint:
            text = Content("\n").join(
                [text, Content.assemble(("What to do: ", "bold"), safe(error.hint))]
            )
        self._set("failed", text)

    def show_cancelled(self) -> None:
        self._set("cancelled", "Pre-flight cancelled. p runs it again.")

    def _set(self, state: str, text: str | Content | None = None) -> None:
        self.state = state
        for name in ("running", "done", "failed"):
            self.set_class(state == name, f"-{name}")
        if text is not None:
            self.query_one("#preflight-text", Static).update(text)
