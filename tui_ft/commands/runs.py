"""`tui-ft runs`: every run in the runs home, active first, as a table or (`--json`) a list."""

from __future__ import annotations

import argparse
import dataclasses
import math
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tui_ft.core.evals.forgetting import run_alarm, run_forgotten
from tui_ft.core.paths import runs_home
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.listing import RunSummary, last_loss, list_runs
from tui_ft.core.runs.text import NONE, loss_text, method_text, progress_text, short_model
from tui_ft.core.safe_text import json_for_terminal, safe_text
from tui_ft.core.units import format_age

# Colour only underlines the word: the state is always written out.
STATE_STYLES = {
    "queued": "cyan",
    "loading": "cyan",
    "training": "bold green",
    "evaluating": "bold green",
    "saving": "bold green",
    "completed": "green",
    "stopped": "yellow",
    "failed": "bold red",
    "crashed": "bold red",
}


def run(args: argparse.Namespace) -> int:
    runs = list_runs()
    if args.json:
        print(json_for_terminal([as_json(summary) for summary in runs], indent=2))
        return 0
    console = Console(highlight=False)
    if not runs:
        console.print(safe_text(f"No runs yet in {runs_home()}. Start one with `tui-ft`."))
        return 0
    console.print(table(runs))
    for line in footnotes(runs):
        console.print(line)
    return 0


def as_json(summary: RunSummary) -> dict[str, Any]:
    status = summary.status
    loss = last_loss(RunDir(summary.path))
    return {
        "name": summary.name,
        "path": str(summary.path),
        "state": status.state,
        "step": status.step,
        "max_steps": status.max_steps,
        "progress": summary.progress,
        "loss": loss if loss is None or math.isfinite(loss) else str(loss),
        "model": summary.model,
        "method": summary.method,
        "objective": summary.objective,
        "start_from": summary.start_from or None,
        "dataset": summary.dataset,
        "age_s": round(summary.age_s, 1),
        "updated": status.updated or None,
        "pid": status.pid,
        "host": status.host,
        "error": None if status.error is None else dataclasses.asdict(status.error),
        "note": summary.note,
        # The tasks its evaluations (`tui-ft eval`) flag, each task's newest score; null: never
        # evaluated.
        "forgetting": run_forgotten(summary.path),
    }


def table(runs: list[RunSummary]) -> Table:
    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    grid.add_column("run", overflow="fold")
    grid.add_column("state")
    grid.add_column("progress", justify="right")
    grid.add_column("loss", justify="right")
    grid.add_column("model", overflow="fold")
    grid.add_column("method")
    grid.add_column("updated", justify="right")
    for summary in runs:
        state = summary.status.state
        # Every cell is a Text: names, models and states come from files, and a plain string
        # would be read as markup (a model named `Qwen[/x]` broke the whole table).
        grid.add_row(
            safe_text(summary.name),
            safe_text(state, style=STATE_STYLES.get(state, "")),
            safe_text(progress_text(summary)),
            safe_text(loss_text(last_loss(RunDir(summary.path)))),
            safe_text(short_model(summary.model) or NONE),
            safe_text(method_text(summary)),
            Text(f"{format_age(summary.age_s)} ago"),
        )
    return grid


def footnotes(runs: list[RunSummary]) -> list[Text]:
    """What went wrong, with what to do, below the table: a long sentence would wreck a row."""
    lines: list[Text] = []
    for summary in runs:
        error = summary.status.error
        if error is not None and summary.status.state in ("failed", "crashed"):
            lines.append(
                Text.assemble(
                    safe_text(summary.name, "bold"),
                    f" {summary.status.state}: ",
                    safe_text(error.message),
                )
            )
            if error.hint:
                lines.append(safe_text(f"  {error.hint}", style="dim"))
        alarm = run_alarm(summary.path)
        if alarm:
            lines.append(
                Text.assemble(safe_text(summary.name, "bold"), safe_text(f": {alarm}", "yellow"))
            )
        if summary.note:
            lines.append(
                Text.assemble(
                    safe_text(summary.name, "bold"), safe_text(f": {summary.note}", "yellow")
                )
            )
    return [Text(""), *lines] if lines else []
