"""One trainer per run: an exclusive `flock` on the run's `run.lock`.

Who holds it: a launcher (`tui-ft train`, `resume`, the app) while it checks that nothing runs,
writes `queued` and starts the trainer; `tui-ft stop` while it stops a run that is still
queued; the trainer (rank 0, or the only process) for its whole life, so the kernel frees it
the moment the trainer dies, even by `kill -9`. The launcher lets go right after the start and
the trainer takes it a moment later: in between, `status.json` says `queued` with the new
trainer's pid, which is what a second launcher checks before it starts anything.

Pure Python (fcntl): the UI takes it too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Collection
from pathlib import Path

from tui_ft.core.errors import UserError
from tui_ft.core.runs.layout import RunDir

LOCK_FILE = "run.lock"
POLL_S = 0.05
# A launcher lets go within milliseconds of starting its trainer; this is for a loaded machine.
TRAINER_WAIT_S = 60.0


class RunLock:
    """The lock of the run folder `run_path`; `acquire` it, `release` it (or let the process
    end). Two RunLocks on the same folder exclude each other, in one process or in two."""

    def __init__(self, run_path: Path) -> None:
        self.path = Path(run_path) / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        # Who holds it, for the sentence a refused launcher prints.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def acquire(self, timeout: float, give_up: Callable[[], bool] = lambda: False) -> bool:
        """Wait up to `timeout` seconds; `give_up` is asked between tries (say, once the run's
        status shows a live trainer there is no point in waiting)."""
        deadline = time.monotonic() + timeout
        while not self.try_acquire():
            if give_up() or time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor drops the flock

    def holder(self) -> int | None:
        """The pid written by the last holder (it may have ended since)."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int(self.path.read_text().split()[0])
        return None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class NotThisTrainer(UserError):
    """This trainer must not run: another one holds the run, or the run was stopped before
    this one started (`stopped`: then ending is the request fulfilled, not a failure)."""

    def __init__(self, message: str, hint: str = "", stopped: bool = False) -> None:
        super().__init__(message, hint)
        self.stopped = stopped


def claim_for_trainer(run: RunDir, mine: Collection[int]) -> RunLock:
    """The run's lock, held by this trainer until it ends. `mine`: the pids a launcher may have
    queued it as (itself; under torchrun, its parent). A trainer queued by a launcher waits for
    the launcher to let go; any other waits only for a moment. Raises NotThisTrainer, without
    writing anything, when this trainer is not the run's."""

    def queued_for_me() -> bool:
        status = run.read_status()
        return status.state == "queued" and (status.pid is None or status.pid in mine)

    lock = RunLock(run.path)
    # Not queued for this one: wait only as long as a stop or a launcher holds it to check.
    waited = lock.acquire(TRAINER_WAIT_S, give_up=lambda: not queued_for_me())
    if not waited and not lock.acquire(1.0):
        holder = lock.holder()
        raise NotThisTrainer(
            f"run {run.name} already has a trainer"
            + (f" (process {holder} holds {lock.path})." if holder else "."),
            "One trainer per run: this one ends without touching the run's files.",
        )
    status = run.read_status()
    if status.state == "stopped" and status.pid in mine:
        lock.release()
        raise NotThisTrainer(
            f"run {run.name} was stopped before its trainer started.",
            f"`tui-ft resume {run.name}` starts it again.",
            stopped=True,
        )
    if status.state == "queued" and status.pid is not None and status.pid not in mine:
        lock.release()
        raise NotThisTrainer(
            f"run {run.name} was queued again for process {status.pid} while this trainer started.",
            "One trainer per run: this one ends without touching the run's files.",
        )
    return lock
