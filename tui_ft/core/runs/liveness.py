"""Is a run's trainer still alive? The status a person should see: an active state whose
heartbeat went stale and whose process is gone is reported as `crashed`, without rewriting
anything on disk. See docs/run-directory.md. Pure Python (psutil)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import time

import psutil

from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import RunError, Status
from tui_ft.core.units import format_age

HEARTBEAT_INTERVAL_S = 5.0  # the trainer refreshes `updated` at least this often
HEARTBEAT_STALE_S = 60.0  # silent this long, with its process gone: crashed
# Another machine's pid cannot be checked, and clocks drift: only a long silence counts there.
OTHER_HOST_STALE_S = 600.0
# A process created this long after the last heartbeat cannot have written it: a reused pid.
PID_REUSE_SLACK_S = 2.0


def effective_status(run: RunDir, now: float | None = None) -> Status:
    """The status a person should see: an active run whose trainer is gone is `crashed`."""
    return effective(run, run.read_status(), time.time() if now is None else now)


def effective(run: RunDir, status: Status, now: float) -> Status:
    """`status`, as read from `run`, judged at `now`."""
    if not status.active:
        return status
    heartbeat = last_sign_of_life(run, status)
    silent_for = now - heartbeat
    if is_this_host(status.host):
        if silent_for <= HEARTBEAT_STALE_S or _trainer_alive(status.pid, heartbeat):
            return status
    elif silent_for <= OTHER_HOST_STALE_S:
        return status
    return dataclasses.replace(status, state="crashed", error=_interrupted(run, status, silent_for))


def last_sign_of_life(run: RunDir, status: Status) -> float:
    """The heartbeat; before the first one, when the run's files were last written."""
    if status.updated or status.started:
        return max(status.updated, status.started)
    for path in (run.status_path, run.config_path, run.path):
        with contextlib.suppress(OSError):
            return path.stat().st_mtime
    return 0.0


def _interrupted(run: RunDir, status: Status, silent_for: float) -> RunError:
    quiet = format_age(silent_for)
    if status.pid is None:
        message = f"the trainer never reported a process; the run has been quiet for {quiet}."
    elif is_this_host(status.host):
        message = (
            f"the trainer (process {status.pid}) ended without recording why; "
            f"its last heartbeat was {quiet} ago, at step {status.step}."
        )
    else:
        message = f"the trainer on {status.host} has not reported for {quiet}."
    hint = (
        f"`tui-ft resume {run.name}` continues from its last checkpoint; "
        f"{run.log_path} holds its last output."
    )
    return RunError("interrupted", message, hint)


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine and is not a zombie (a killed child whose
    parent has not reaped it still answers os.kill, but will never write again)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user's process
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:  # ZombieProcess included
        return False
    except psutil.AccessDenied:
        return True


def is_this_host(host: str) -> bool:
    """A status without a host was written by a trainer on this machine (nothing else writes)."""
    return not host or host == socket.gethostname()


def _trainer_alive(pid: int | None, heartbeat: float) -> bool:
    return pid is not None and pid_alive(pid) and not _created_after(pid, heartbeat)


def _created_after(pid: int, moment: float) -> bool:
    """After a reboot the trainer's pid may belong to another program: one that started after
    the trainer's last heartbeat is not the trainer."""
    try:
        return psutil.Process(pid).create_time() > moment + PID_REUSE_SLACK_S
    except psutil.Error:
        return False
