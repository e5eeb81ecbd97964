"""`tui-ft resume RUN`: continue a stopped or crashed run from its last complete checkpoint, or
extend a finished one with --more-epochs / --more-steps."""

from __future__ import annotations

import argparse
import sys

from tui_ft.commands.train import follow
from tui_ft.core.launch import resume_run
from tui_ft.core.rundir import RunDir


def run(args: argparse.Namespace) -> int:
    run_dir = RunDir.open(args.run)
    process = resume_run(
        run_dir, more_epochs=args.more_epochs, more_steps=args.more_steps, nproc=args.nproc or 1
    )
    for line in resume_notes(run_dir):
        print(f"note: {line}", file=sys.stderr)
    if args.detach:
        print(run_dir.name)
        print(f"resumed in the background (log: {run_dir.log_path}).", file=sys.stderr)
        return 0
    return follow(run_dir, process)


def resume_notes(run_dir: RunDir) -> list[str]:
    """Where the resume starts, when it is not simply the newest checkpoint."""
    checkpoint = run_dir.last_good_checkpoint()
    start = checkpoint.name if checkpoint else "the beginning (step 0)"
    notes = [
        f"checkpoint-{step} is damaged ({why}); resuming from {start}."
        for step, why in run_dir.damaged_checkpoints().items()
    ]
    if checkpoint is None and not notes:
        notes.append(
            f"run {run_dir.name} had not trained a step yet; it starts from the beginning."
        )
    return notes
