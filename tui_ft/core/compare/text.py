"""A comparison as tables of words, one column per run: what `tui-ft compare` prints and the
Compare screen shows, written once. Every cell may hold outside text (run names, config
values, model answers): `rich_table` makes each a safe Text, never markup."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui_ft.core.compare.evals import EvalScore
from tui_ft.core.compare.facts import RunFacts
from tui_ft.core.compare.probes import ProbeRow
from tui_ft.core.compare.report import Comparison
from tui_ft.core.evals.table import FORGETTING
from tui_ft.core.runs.text import NONE, loss_text, short_model
from tui_ft.core.safe_text import safe_text
from tui_ft.core.units import format_bytes, format_count, format_duration

if TYPE_CHECKING:
    from rich.table import Table

# The evaluations table's last row: the tasks each run's evaluations flag (each task's newest
# score, as the rows above show them).
ALARM_ROW = "forgetting alarm"


@dataclass(frozen=True)
class TextTable:
    title: str
    header: list[str]  # the first column's heading, then one per run
    rows: list[list[str]]
    empty: str = ""  # said instead of the table when it has no rows


def comparison_tables(comparison: Comparison) -> list[TextTable]:
    return [
        facts_table(comparison),
        config_table(comparison),
        evals_table(comparison),
        *probe_tables(comparison),
    ]


def facts_table(comparison: Comparison) -> TextTable:
    facts: list[tuple[str, Callable[[RunFacts], str]]] = [
        ("model", lambda r: short_model(r.model) or NONE),
        ("method", lambda r: r.method or NONE),
        ("objective", lambda r: r.objective or NONE),
        ("state", lambda r: r.state),
        ("steps", lambda r: f"{r.steps}/{r.max_steps}" if r.max_steps else str(r.steps)),
        ("tokens seen", lambda r: NONE if r.tokens is None else format_count(r.tokens)),
        ("last loss", lambda r: loss_text(r.final_loss)),
        ("best eval loss", lambda r: loss_text(r.best_eval_loss)),
        ("wall time", _wall),
        ("peak memory", _peak),
    ]
    rows = [[label, *(text(run) for run in comparison.runs)] for label, text in facts]
    if not comparison.same_base_model:
        rows[0][0] = "model (differs!)"
    return TextTable("Runs", ["", *comparison.names], rows)


def config_table(comparison: Comparison) -> TextTable:
    rows = [
        [key, *(_value(values.get(name)) for name in comparison.names)]
        for key, values in comparison.config.items()
    ]
    return TextTable(
        "Settings that differ",
        ["setting", *comparison.names],
        rows,
        empty="The runs share every setting of run.yaml (but their names).",
    )


def evals_table(comparison: Comparison) -> TextTable:
    rows = []
    for task in comparison.tasks:
        scores = [comparison.evals[name].get(task) for name in comparison.names]
        metric = next((s.metric for s in scores if s is not None), "")
        rows.append([f"{task} ({metric})", *(_score(s) for s in scores)])
    if rows:
        rows.append([ALARM_ROW, *(_alarm(comparison.forgetting.get(n)) for n in comparison.names)])
    return TextTable(
        "Evaluations: tuned (change from its base)",
        ["task", *comparison.names],
        rows,
        empty="No evaluation results yet: `tui-ft eval RUN --tasks forgetting` makes some.",
    )


def probe_tables(comparison: Comparison) -> list[TextTable]:
    """The probe answers at the last step every run answered, and each run's last answers when
    those came at other steps."""
    tables = []
    step = None
    if comparison.probes:
        step = comparison.probes[-1].step
        rows = [row for row in comparison.probes if row.step == step]
        tables.append(_probe_table(f"Probe answers at step {step}", comparison, rows))
    last = comparison.last_probes
    if last and (not comparison.probes or set(last[0].steps.values()) != {step}):
        tables.append(_probe_table("Last probe answers (step of each)", comparison, last))
    if not tables:
        tables.append(
            TextTable("Probe answers", [], [], empty="No probe answers the runs have in common.")
        )
    return tables


def rich_table(table: TextTable) -> Table:
    from rich import box
    from rich.table import Table

    grid = Table(
        title=safe_text(table.title, "bold"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_lines=any("\n" in cell for row in table.rows for cell in row),
    )
    for heading in table.header:
        grid.add_column(safe_text(heading), overflow="fold")
    for row in table.rows:
        grid.add_row(*(safe_text(cell) for cell in row))
    return grid


def _probe_table(title: str, comparison: Comparison, rows: list[ProbeRow]) -> TextTable:
    lines = []
    for row in rows:
        cells = [row.answers[name].strip() or "(empty)" for name in comparison.names]
        if row.step is None:
            cells = [
                f"[{row.steps[n]}] {cell}" for n, cell in zip(comparison.names, cells, strict=True)
            ]
        lines.append([row.prompt, *cells])
    return TextTable(title, ["prompt", *comparison.names], lines)


def _wall(run: RunFacts) -> str:
    if run.wall_s is None:
        return NONE
    resumed = f" ({run.resumes} resume{'s' if run.resumes != 1 else ''})" if run.resumes else ""
    return format_duration(run.wall_s) + resumed


def _peak(run: RunFacts) -> str:
    if run.peak_memory_bytes is None:
        return NONE
    return (
        f"{format_bytes(run.peak_memory_bytes)} {'GPU' if run.peak_memory_on == 'gpu' else 'RAM'}"
    )


def _score(score: EvalScore | None) -> str:
    if score is None or score.tuned is None:
        return NONE
    text = f"{score.tuned:.4f}"
    if score.delta is not None:
        text += f" ({score.delta:+.4f})"
    return text


def _alarm(tasks: list[str] | None) -> str:
    """The word, as the Evaluate screen's alarm column, the monitor and `tui-ft runs` say it."""
    if tasks is None:
        return NONE  # never evaluated by `tui-ft eval`
    return f"{FORGETTING}: {', '.join(tasks)}" if tasks else "none"


def _value(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
