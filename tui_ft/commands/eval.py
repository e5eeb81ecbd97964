"""`tui-ft eval RUN --tasks T[,T…] [--limit N] [--json] [--no-chat-template]`: the run's base
and tuned models on lm-eval tasks, side by side, with the forgetting alarm
(tui_ft.engine.eval; docs/evaluate.md). The harness runs in this process; the table is saved
in the run's evals/."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from tui_ft.core.chat.target import chat_target
from tui_ft.core.children.env import offline_here
from tui_ft.core.evals.forgetting import alarm_sentence
from tui_ft.core.evals.report import EvalReport
from tui_ft.core.evals.table import COLUMNS, NUMBER_COLUMNS, summary_line, table_rows
from tui_ft.core.evals.tasks import TaskSpec, parse_tasks
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.safe_text import json_for_terminal, safe, safe_text

# Libraries that log every request or download at INFO: progress comes from our own lines.
QUIET_LOGGERS = ("lm-eval", "lm_eval", "datasets", "transformers", "bitsandbytes", "httpx")


def run(args: argparse.Namespace) -> int:
    specs = parse_tasks(args.tasks)
    target = chat_target(run=args.run)  # a run with no trained model fails before any loading
    assert target.run is not None
    if all(spec.file is not None for spec in specs):
        # Local task files: nothing to fetch, unless the model or the run's dataset (its
        # held-out split) is on the hub and not cached yet.
        offline_here([target.config.model], [target.config.dataset])
    report, folder = _evaluate(target.run, specs, args)
    if args.json:
        print(json_for_terminal(report.tasks_json(), indent=2))
    else:
        console = Console(highlight=False)
        console.print(table(report))
        for line in (summary_line(report), *report.notes, alarm_sentence(report.tasks)):
            if line:
                console.print(safe_text(line))
        console.print(safe_text(f"saved: {folder}"))
    say(f"saved in {folder}")
    return 0


def _evaluate(
    run: RunDir, specs: list[TaskSpec], args: argparse.Namespace
) -> tuple[EvalReport, Path]:
    os.environ.setdefault("TQDM_DISABLE", "1")  # the progress lines say where it is
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    from transformers.utils import logging as hf_logging

    from tui_ft.engine.eval.run import EvalOptions, evaluate_run

    hf_logging.set_verbosity_error()
    options = EvalOptions(
        limit=args.limit, chat_template=not args.no_chat_template, device=args.device
    )
    return evaluate_run(run, specs, options, say)


def say(line: str) -> None:
    """Progress on stderr (stdout holds the table or the JSON); it names files and tasks."""
    print(safe(line), file=sys.stderr, flush=True)


def table(report: EvalReport) -> Table:
    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in COLUMNS:
        grid.add_column(column, justify="right" if column in NUMBER_COLUMNS else "left")
    for row in table_rows(report):
        cells = [safe_text(cell) for cell in row.cells()]
        if row.alarm:
            cells[-1] = safe_text(row.alarm, style="bold red")
        grid.add_row(*cells)
    return grid
