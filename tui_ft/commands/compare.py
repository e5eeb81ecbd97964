"""`tui-ft compare A B [C…] [--json]`: runs side by side (tui_ft.core.compare). The tables
here are the Compare screen's; the curves themselves are in `--json` and on that screen."""

from __future__ import annotations

import argparse

from rich.console import Console

from tui_ft.core.compare.report import compare_runs
from tui_ft.core.compare.text import comparison_tables, rich_table
from tui_ft.core.safe_text import json_for_terminal, safe_text

CURVES_NOTE = (
    "The loss and eval-loss curves (by step and by tokens seen): `--json`, or the app's "
    "Compare screen (mark runs with space in the runs list, then press =)."
)


def run(args: argparse.Namespace) -> int:
    comparison = compare_runs(args.runs)
    if args.json:
        print(json_for_terminal(comparison.to_dict(), indent=2))
        return 0
    console = Console(highlight=False)
    for note in comparison.notes:
        console.print(safe_text(f"Note: {note}", "yellow"))
    for table in comparison_tables(comparison):
        console.print()
        if table.rows:
            console.print(rich_table(table))
        else:
            console.print(safe_text(table.title, "bold"))
            console.print(safe_text(table.empty))
    console.print()
    console.print(safe_text(CURVES_NOTE, "dim"))
    return 0
