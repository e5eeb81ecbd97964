"""Acting on runs: stop (SIGTERM to the trainer's process group), resume, delete. Shared by
`tui-ft stop` and the app, so both refuse the same things with the same sentences.

Pure Python: the UI process calls this (through a `Launcher`, which tests replace with a fake).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
from pathlib import Path
from typing import Protocol

from tui_ft.core import paths
from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.liveness import effective_status, is_this_host
from tui_ft.core.runs.lock import RunLock
from tui_ft.core.runs.status import Status

QUEUED_STOP_WAIT_S = 10.0  # a launcher holds the run's lock for a moment while it starts one
BEFORE_START = "before its trainer started"


class Launcher(Protocol):
    """What the app asks of the outside world to start, continue and stop trainers."""

    def launch(self, config: RunConfig, home: Path | None = None) -> RunDir: ...

    def resume(self, run: RunDir) -> None: ...

    def stop(self, run: RunDir) -> str: ...


class ProcessLauncher:
    """The real one: detached trainer processes (tui_ft.core.runs.launch) and signals."""

    def launch(self, config: RunConfig, home: Path | None = None) -> RunDir:
        # Imported here: starting a trainer reads the GPUs; listing runs does not need to.
        from tui_ft.core.runs.launch import launch_run

        return launch_run(config, home=home)

    def resume(self, run: RunDir) -> None:
        from tui_ft.core.runs.launch import resume_run

        resume_run(run)

    def stop(self, run: RunDir) -> str:
        return stop_run(run)


def stop_run(run: RunDir) -> str:
    """SIGTERM the run's trainer; returns what was signalled ("process group 1234"), or
    BEFORE_START when the run was still queued and is now stopped without a signal."""
    status = effective_status(run)
    if status.state == "queued" and stop_queued(run):
        return BEFORE_START
    return send_sigterm(run, stoppable_pid(run, effective_status(run)))


def stop_queued(run: RunDir) -> bool:
    """Stop a run whose trainer has not taken over yet: under the run's lock, `queued` becomes
    `stopped`, and the trainer, once it gets the lock, sees that and ends without training (no
    signal, which a trainer still starting up might not survive). False once a trainer holds
    the run: then it is signalled like any running one."""
    lock = RunLock(run.path)
    if not lock.acquire(QUEUED_STOP_WAIT_S, give_up=lambda: run.read_status().state != "queued"):
        return False
    with lock:
        status = run.read_status()
        if status.state != "queued":
            return False
        run.write_status(dataclasses.replace(status, state="stopped", eta_s=None))
    return True


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


def _after_hint(name: str, status: Status) -> str:
    if status.state == "completed":
        return "Its model is in its output/ folder; `tui-ft` opens the A/B chat."
    if status.state in ("stopped", "crashed"):
        return f"`tui-ft resume {name}` continues it from its last checkpoint."
    if status.error is not None and status.error.hint:
        return status.error.hint
    return "`tui-ft runs` shows what happened to it."


def delete_run(run: RunDir, home: Path | None = None) -> None:
    """Remove a run's directory, checkpoints and model included. Refuses an active run and any
    folder that is not a run directly inside the runs home (a symlink or a crafted name)."""
    base = (home or paths.runs_home()).resolve()
    if run.path.is_symlink() or run.path.resolve().parent != base:
        raise UserError(f"{run.path} is not a run inside the runs home {base}: not deleting it.")
    paths.run_dir(run.name, base)  # the same name rule as for creating runs
    if not (run.config_path.is_file() or run.status_path.is_file()):
        raise UserError(f"{run.path} is not a run directory: not deleting it.")
    status = effective_status(run)
    if status.active:
        raise UserError(
            f"run {run.name} is {status.state}: stop it before deleting it.",
            f"`tui-ft stop {run.name}` asks it to save and end.",
        )
    shutil.rmtree(run.path)


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
