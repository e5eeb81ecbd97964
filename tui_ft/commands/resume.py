"""`tui-ft resume RUN`: continue a stopped or crashed run from its last complete checkpoint, or
extend a finished one with --more-epochs / --more-steps."""

from __future__ import annotations

import argparse
import sys

from tui_ft.commands.train import follow
from tui_ft.core.runs.control import resume_notes
from tui_ft.core.runs.launch import resume_run
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.safe_text import safe


def run(args: argparse.Namespace) -> int:
    run_dir = RunDir.open(args.run)
    process = resume_run(
        run_dir, more_epochs=args.more_epochs, more_steps=args.more_steps, nproc=args.nproc or 1
    )
    for line in resume_notes(run_dir):
        print(f"note: {safe(line)}", file=sys.stderr)  # names files found in the run
    if args.detach:
        print(run_dir.name)
        print(f"resumed in the background (log: {run_dir.log_path}).", file=sys.stderr)
        return 0
    return follow(run_dir, process)
