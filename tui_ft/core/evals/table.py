"""The base / tuned / delta table as text cells, one row per task: `tui-ft eval` prints it and
the Evaluate screen shows it. The alarm column says `forgetting` in words (never colour
alone) where the tuned model fell below its base by more than chance (forgetting.py)."""

from __future__ import annotations

from dataclasses import dataclass

from tui_ft.core.evals.forgetting import MARGIN, combined_stderr, forgot
from tui_ft.core.evals.report import EvalReport, TaskScore

COLUMNS = ("task", "metric", "base", "tuned", "Δ", "±err", "alarm")
NUMBER_COLUMNS = ("base", "tuned", "Δ", "±err")  # right-aligned, so the points line up
FORGETTING = "forgetting"


@dataclass(frozen=True)
class TableRow:
    task: str
    metric: str
    base: str
    tuned: str
    delta: str
    stderr: str
    alarm: str  # "forgetting", or "" when the drop is within chance

    def cells(self) -> tuple[str, ...]:
        return (self.task, self.metric, self.base, self.tuned, self.delta, self.stderr, self.alarm)


def table_rows(report: EvalReport, margin: float = MARGIN) -> list[TableRow]:
    return [_row(score, margin) for score in report.tasks]


def _row(score: TaskScore, margin: float) -> TableRow:
    places = 2 if score.metric == "perplexity" else 3
    has_stderr = score.base_stderr is not None or score.tuned_stderr is not None
    return TableRow(
        task=score.task,
        metric=score.metric,
        base=f"{score.base:.{places}f}",
        tuned=f"{score.tuned:.{places}f}",
        delta=f"{score.delta:+.{places}f}",
        stderr=f"{combined_stderr(score):.{places}f}" if has_stderr else "—",
        alarm=FORGETTING if forgot(score, margin) else "",
    )


def summary_line(report: EvalReport) -> str:
    """What was evaluated and how, under the table."""
    limit = f", at most {report.limit} questions per task" if report.limit else ""
    template = "with the chat template" if report.chat_template else "as plain text"
    return (
        f"{report.run}: {len(report.tasks)} rows on {report.device or 'the device'}, "
        f"{template}{limit}, {report.seconds:.0f} s."
    )
