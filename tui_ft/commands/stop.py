"""`tui-ft stop RUN`: ask a running trainer to stop. SIGTERM makes it save a checkpoint and end
as `stopped` (so the run can be resumed); `--wait` follows it until it has."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import time

from tui_ft.core.errors import UserError
from tui_ft.core.rundir import RunDir, Status, is_this_host, pid_alive

POLL_S = 0.25


def run(args: argparse.Namespace) -> int:
    run_dir = RunDir.open(args.run)
    status = run_dir.effective_status()
    pid = stoppable_pid(run_dir, status)
    target = send_sigterm(run_dir, pid)
    print(
        f"Sent SIGTERM to {target} of run {run_dir.name}: the trainer saves a checkpoint "
        "and ends as `stopped`."
    )
    if args.wait <= 0:
        print("Saving can take a minute on a large model; `tui-ft runs` shows when it has ended.")
        return 0
    return wait_for_end(run_dir, pid, args.wait)


def stoppable_pid(run_dir: RunDir, status: Status) -> int:
    """The pid to signal, or a UserError saying why there is nothing to stop here."""
    name = run_dir.name
    if not status.active:
        raise UserError(
            f"run {name} is {status.state}: there is nothing to stop.", _after_hint(name, status)
        )
    if not is_this_host(status.host):
        raise UserError(
            f"run {name} is running on {status.host}, not on this machine "
            f"({socket.gethostname()}).",
            f"Stop it there with `tui-ft stop {name}`.",
        )
    if status.pid is None:
        raise UserError(
            f"run {name} is {status.state} but its trainer has not started yet: there is "
            "nothing to signal.",
            "Try again in a few seconds.",
        )
    return status.pid


def send_sigterm(run_dir: RunDir, pid: int) -> str:
    """Signal the trainer's whole process group when it leads one (it is launched in a session
    of its own, so torchrun's workers get the signal too); otherwise the process alone."""
    try:
        group = _group_of(pid)
        # Never our own group: a stale pid could name the shell that runs this command.
        if group == pid and group != os.getpgrp():
            os.killpg(group, signal.SIGTERM)
            return f"process group {group}"
        os.kill(pid, signal.SIGTERM)
        return f"process {pid}"
    except ProcessLookupError:
        raise UserError(
            f"the trainer of run {run_dir.name} (process {pid}) has already ended.",
            "`tui-ft runs` shows how it ended.",
        ) from None
    except PermissionError:
        raise UserError(
            f"cannot signal process {pid} of run {run_dir.name}: it belongs to another user.",
            "Run `tui-ft stop` as the user who started the run.",
        ) from None


def _group_of(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        # The leader is gone; its group may live on (torchrun's workers) and keeps its id,
        # which the kernel does not hand to a new process while the group exists.
        return pid


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
    print(
        f"Run {run_dir.name} is still {status.state} after {seconds:g} s: saving a checkpoint "
        "can take a while. `tui-ft runs` shows when it has ended."
    )
    return 1


def report_end(run_dir: RunDir, status: Status) -> int:
    name = run_dir.name
    if status.active:
        print(
            f"The trainer of run {name} ended without recording a final state. "
            f"`tui-ft resume {name}` continues from its last checkpoint."
        )
        return 1
    print(f"Run {name} is now {status.state}, at step {status.step}.")
    if status.error is not None:
        print(f"{status.error.message} {status.error.hint}".strip())
    elif status.state == "stopped":
        print(f"`tui-ft resume {name}` continues it.")
    return 0 if status.state in ("stopped", "completed") else 1


def _after_hint(name: str, status: Status) -> str:
    if status.state == "completed":
        return "Its model is in its output/ folder; `tui-ft` opens the A/B chat."
    if status.state in ("stopped", "crashed"):
        return f"`tui-ft resume {name}` continues it from its last checkpoint."
    if status.error is not None and status.error.hint:
        return status.error.hint
    return "`tui-ft runs` shows what happened to it."
