"""One trainer per run: the run folder's lock, how a trainer claims it, and how launches,
resumes and stops use it, refusing with sentences and leaving the run's files as they were."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui_ft.core.errors import UserError
from tui_ft.core.runs import launch
from tui_ft.core.runs import lock as run_lock
from tui_ft.core.runs.control import BEFORE_START, stop_run
from tui_ft.core.runs.launch import resume_run, running, start_trainer
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.lock import NotThisTrainer, RunLock, claim_for_trainer
from tui_ft.core.runs.status import Status

HOLD = "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
HOLD += "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(600)"


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    made = RunDir.create("locked", tmp_path / "runs")
    made.config_path.write_text("model: demo\ndataset: demo\n")
    made.write_status(Status("stopped", step=4, max_steps=8))
    return made


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield child
    child.kill()
    child.wait()


def files_of(run: RunDir) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in run.path.iterdir() if p.name != run_lock.LOCK_FILE}


def test_two_locks_on_one_run_exclude_each_other_and_name_the_holder(run: RunDir) -> None:
    first, second = RunLock(run.path), RunLock(run.path)
    assert first.try_acquire() and not second.try_acquire()
    assert second.holder() == os.getpid()
    first.release()
    assert second.try_acquire()
    second.release()


def test_the_lock_dies_with_its_holder_even_by_kill_9(run: RunDir) -> None:
    path = run.path / run_lock.LOCK_FILE
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    lock = RunLock(run.path)
    assert not lock.try_acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert lock.acquire(timeout=30)
    lock.release()


def test_a_trainer_queued_by_a_launcher_claims_the_run(run: RunDir) -> None:
    run.write_status(Status("queued", pid=4242))
    lock = claim_for_trainer(run, mine={4242})
    assert lock.held
    lock.release()


def test_a_trainer_refuses_a_run_another_trainer_holds(run: RunDir) -> None:
    with RunLock(run.path) as other:
        assert other.try_acquire()
        with pytest.raises(NotThisTrainer, match="already has a trainer") as refused:
            claim_for_trainer(run, mine={4242})
    assert not refused.value.stopped
    assert "One trainer per run" in refused.value.hint


def test_a_trainer_whose_run_was_queued_for_another_refuses(run: RunDir) -> None:
    run.write_status(Status("queued", pid=5151))
    before = files_of(run)
    with pytest.raises(NotThisTrainer, match="queued again for process 5151"):
        claim_for_trainer(run, mine={4242})
    assert files_of(run) == before


def test_a_trainer_stopped_while_queued_ends_as_asked(run: RunDir) -> None:
    run.write_status(Status("queued", pid=4242))
    assert stop_run(run) == BEFORE_START
    assert run.read_status().state == "stopped"
    with pytest.raises(NotThisTrainer, match="stopped before its trainer started") as refused:
        claim_for_trainer(run, mine={4242})
    assert refused.value.stopped


def test_a_run_prepared_but_never_started_can_be_stopped(run: RunDir) -> None:
    run.write_status(Status("queued"))
    assert stop_run(run) == BEFORE_START
    assert run.read_status().state == "stopped"


def test_a_live_trainer_refuses_a_second_launch_and_nothing_is_written(
    run: RunDir, sleeper: subprocess.Popen[bytes]
) -> None:
    now = time.time()
    live = Status("training", pid=sleeper.pid, host=socket.gethostname(), updated=now, step=5)
    run.write_status(live)
    before = files_of(run)
    with pytest.raises(UserError, match=r"still training \(process \d+\): one trainer per run"):
        resume_run(run)
    assert files_of(run) == before
    assert running(run) is not None


def test_a_dead_trainer_with_a_fresh_heartbeat_does_not_block_a_resume(run: RunDir) -> None:
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    status = Status("training", pid=dead.pid, host=socket.gethostname(), updated=time.time())
    run.write_status(status)
    assert running(run) is None


def test_another_hosts_live_run_refuses_a_launch_here(run: RunDir) -> None:
    run.write_status(Status("training", pid=1, host="other-box", updated=time.time()))
    error = running(run)
    assert error is not None and "a trainer on other-box" in error.message


def test_a_lock_held_too_long_refuses_with_the_holder_named(
    run: RunDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(launch, "LAUNCH_WAIT_S", 0.2)
    before = files_of(run)
    with RunLock(run.path) as other:
        assert other.try_acquire()
        with pytest.raises(UserError, match=f"locked by process {os.getpid()}"):
            start_trainer(run)
    assert files_of(run) == before
