"""Trainers that die or are stopped at a bad moment: `kill -9` at seeded random steps, SIGTERM
in the middle of a checkpoint save, a torn last line of metrics.jsonl, two resumes in the same
instant, a stop while the run is still queued. Each ends with the run resumed to its planned
step and one continuous history."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.faults.conftest import (
    TRAINER_TIMEOUT_S,
    assert_one_history,
    fault_config,
    run_injected,
    stopped_at_4,
    training_steps,
)
from tests.test_train import wait_for
from tui_ft.core.errors import UserError
from tui_ft.core.runs.control import BEFORE_START, ProcessLauncher, stop_run
from tui_ft.core.runs.launch import prepare_run, resume_run, start_trainer
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.liveness import effective_status, pid_alive
from tui_ft.core.runs.status import Status

KILLS = 20  # one seed each
LATER = 3600.0  # seen from an hour on: crash detection no longer waits for the heartbeat


def kill_group(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def test_kill_9_at_seeded_random_steps_then_resume_to_the_end(
    tiny_model: str, dataset: str
) -> None:
    # Room for every kill: 1-3 steps after the last, plus the steps a busy machine trains
    # between reading the status and the kill landing (a resume starts from the checkpoint,
    # which can be behind the status). 3 * KILLS ran out once on a loaded 2-core machine.
    planned = 6 * KILLS + 2
    run = prepare_run(fault_config(tiny_model, dataset, max_steps=planned, save_every_steps=1))
    process = start_trainer(run)
    for seed in range(KILLS):
        done = run.read_status().step
        target = done + random.Random(seed).randint(1, 3)
        wait_for(lambda t=target, p=process: run.read_status().step >= t or p.poll() is not None)
        assert process.poll() is None, run.log_path.read_text()[-3000:]
        kill_group(process)
        shown = effective_status(run, now=time.time() + LATER)
        assert shown.state == "crashed" and shown.error is not None
        assert shown.error.kind == "interrupted"
        assert f"tui-ft resume {run.name}" in shown.error.hint
        process = resume_run(run)
    assert process.wait(timeout=TRAINER_TIMEOUT_S) == 0
    assert_one_history(run, planned)
    assert len(list(run.path.glob("metrics.before-resume-*.jsonl"))) == KILLS


def test_sigterm_during_a_checkpoint_save_ends_stopped_and_resumes(
    tiny_model: str, dataset: str
) -> None:
    run = prepare_run(fault_config(tiny_model, dataset, max_steps=8))
    assert run_injected("sigterm-in-save", run) == 0
    status = run.read_status()
    assert status.state == "stopped" and status.error is None, run.log_path.read_text()[-3000:]
    checkpoint = run.last_good_checkpoint()
    assert checkpoint is not None and checkpoint.name == f"checkpoint-{status.step}"
    assert resume_run(run).wait(timeout=TRAINER_TIMEOUT_S) == 0
    assert_one_history(run, 8)


def test_a_torn_last_line_of_metrics_is_dropped_on_resume(
    finished_run: Path, tmp_path: Path
) -> None:
    run = stopped_at_4(finished_run, tmp_path, "torn")
    run.write_status(Status("training", pid=_dead_pid(), step=5, max_steps=6, updated=1.0))
    with run.metrics_path.open("a") as metrics:
        metrics.write('{"step": 5, "epoch": 1.6, "lo')  # kill -9 in the middle of a write
    assert effective_status(run).state == "crashed"
    assert resume_run(run).wait(timeout=TRAINER_TIMEOUT_S) == 0
    assert_one_history(run, 6)


def test_two_resumes_at_once_start_one_trainer(finished_run: Path, tmp_path: Path) -> None:
    run = stopped_at_4(finished_run, tmp_path, "twice")
    app = ProcessLauncher()
    for attempt in range(20):
        started, refused = _resume_twice_at_once(run, app)
        assert len(started) == 1 and len(refused) == 1, (attempt, refused)
        assert "one trainer per run" in refused[0].message
        status = run.read_status()
        assert status.state == "queued" and status.pid is not None
        if attempt < 19:
            os.killpg(status.pid, signal.SIGKILL)
            wait_for(lambda pid=status.pid: not pid_alive(pid), 60)
    # The last one trains to the end; a trainer started by hand meanwhile refuses.
    second = subprocess.run(
        [sys.executable, "-m", "tui_ft.engine.train.main", str(run.path), "--resume"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 1 and "One trainer per run" in second.stderr, second.stderr
    wait_for(lambda: not run.read_status().active, TRAINER_TIMEOUT_S)
    assert_one_history(run, 6)


def test_a_stop_while_queued_stops_before_training(tiny_model: str, dataset: str) -> None:
    run = prepare_run(fault_config(tiny_model, dataset))
    process = start_trainer(run)
    assert stop_run(run) == BEFORE_START
    assert run.read_status().state == "stopped"
    assert process.wait(timeout=TRAINER_TIMEOUT_S) == 0
    status = run.read_status()
    assert status.state == "stopped" and status.step == 0
    assert not run.metrics_path.exists() and not run.checkpoints_dir.exists()
    assert resume_run(run).wait(timeout=TRAINER_TIMEOUT_S) == 0
    assert_one_history(run, 6)
    assert training_steps(run)[0] == 1


def _resume_twice_at_once(
    run: RunDir, app: ProcessLauncher
) -> tuple[list[subprocess.Popen[bytes] | None], list[UserError]]:
    """The app's resume and the CLI's, released together by a barrier."""
    barrier = threading.Barrier(2)
    started: list[subprocess.Popen[bytes] | None] = []
    refused: list[UserError] = []

    def from_the_app() -> None:
        barrier.wait()
        try:
            app.resume(run)
            started.append(None)  # the app does not keep the process
        except UserError as err:
            refused.append(err)

    def from_the_cli() -> None:
        barrier.wait()
        try:
            started.append(resume_run(run))
        except UserError as err:
            refused.append(err)

    threads = [threading.Thread(target=f) for f in (from_the_app, from_the_cli)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return started, refused


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid
