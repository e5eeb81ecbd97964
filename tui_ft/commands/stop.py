"""`tui-ft stop RUN`: ask a running trainer to stop. SIGTERM makes it save a checkpoint and end
as `stopped` (so the run can be resumed); `--wait` follows it until it has."""

from __future__ import annotations

import argparse
import time

from tui_ft.core.runs.control import BEFORE_START, send_sigterm, stop_queued, stoppable_pid
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.liveness import effective_status, pid_alive
from tui_ft.core.runs.status import Status
from tui_ft.core.safe_text import safe

POLL_S = 0.25


def run(args: argparse.Namespace) -> int:
    run_dir = RunDir.open(args.run)
    status = effective_status(run_dir)
    if status.state == "queued" and stop_queued(run_dir):
        print(
            f"Run {run_dir.name} is now stopped, {BEFORE_START}: its trainer ends without "
            f"training. `tui-ft resume {run_dir.name}` starts it again."
        )
        return 0
    pid = stoppable_pid(run_dir, effective_status(run_dir))
    target = send_sigterm(run_dir, pid)
    say(
        f"Sent SIGTERM to {target} of run {run_dir.name}: the trainer saves a checkpoint "
        "and ends as `stopped`."
    )
    if args.wait <= 0:
        say("Saving can take a minute on a large model; `tui-ft runs` shows when it has ended.")
        return 0
    return wait_for_end(run_dir, pid, args.wait)


def wait_for_end(run_dir: RunDir, pid: int, seconds: float) -> int:
    """0 once the run is `stopped` (or `completed`), 1 for any other ending or none in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = run_dir.read_status()
        if not status.active:
            return report_end(run_dir, status)
        if not pid_alive(pid):
            return report_end(run_dir, run_dir.read_status())  # re-read: its last write wins
        time.sleep(POLL_S)
    status = run_dir.read_status()
    say(
        f"Run {run_dir.name} is still {status.state} after {seconds:g} s: saving a checkpoint "
        "can take a while. `tui-ft runs` shows when it has ended."
    )
    return 1


def report_end(run_dir: RunDir, status: Status) -> int:
    name = run_dir.name
    if status.active:
        say(
            f"The trainer of run {name} ended without recording a final state. "
            f"`tui-ft resume {name}` continues from its last checkpoint."
        )
        return 1
    say(f"Run {name} is now {status.state}, at step {status.step}.")
    if status.error is not None:
        say(f"{status.error.message} {status.error.hint}".strip())
    elif status.state == "stopped":
        say(f"`tui-ft resume {name}` continues it.")
    return 0 if status.state in ("stopped", "completed") else 1


def say(line: str) -> None:
    """Run names and error sentences come from the run's files: shown safe."""
    print(safe(line))
