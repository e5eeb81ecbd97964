"""`tui-ft runs` and `tui-ft stop`, through the real CLI entry point, against real processes."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tui_ft.cli import main
from tui_ft.core.paths import runs_home
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.liveness import HEARTBEAT_STALE_S, pid_alive
from tui_ft.core.runs.status import RunError, Status

REPO = Path(__file__).resolve().parent.parent
SLEEPER = [sys.executable, "-c", "import time; time.sleep(30)"]


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # rich would fold long names at its default 80


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for child in started:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def detached(children: list[subprocess.Popen[bytes]], argv: list[str]) -> int:
    """Started the way the launcher starts a trainer: in a session of its own (so the fixture
    can end the whole group)."""
    child = subprocess.Popen(argv, start_new_session=True, cwd=REPO)
    children.append(child)
    return child.pid


def make_run(name: str, status: Status, config: str = "model: demo\nmethod: lora\n") -> RunDir:
    run = RunDir.create(name)
    run.config_path.write_text(config)
    run.write_status(status)
    return run


def live(pid: int, **fields: Any) -> Status:
    status = Status("training", pid=pid, started=time.time(), updated=time.time())
    return dataclasses.replace(status, **fields)


def wait_until(condition: Callable[[], object], seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


# --- tui-ft runs -------------------------------------------------------------------------------


def test_runs_when_there_are_none(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"No runs yet in {runs_home()}. Start one with `tui-ft`."
    assert main(["runs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.fixture
def several_runs(children: list[subprocess.Popen[bytes]]) -> None:
    now = time.time()
    done = make_run("done", Status("completed", updated=now - 3 * 3600, step=60, max_steps=60))
    for step, loss in ((58, 0.61), (59, 0.5), (60, 0.4321)):
        done.append_metrics({"step": step, "loss": loss})
    done.append_metrics({"step": 60, "eval_loss": 0.9})  # the last record has no `loss`
    make_run(
        "live",
        live(detached(children, SLEEPER), step=25, max_steps=100),
        "model: /models/Qwen2.5-0.5B\nmethod: qlora\n",
    )
    make_run(
        "oom",
        Status(
            "failed",
            updated=now - 600,
            error=RunError("oom", "the GPU ran out of memory at step 3.", "Try QLoRA."),
        ),
    )
    dead = subprocess.Popen(SLEEPER)
    dead.kill()
    dead.wait()
    stale = now - 2 * HEARTBEAT_STALE_S
    make_run("gone", Status("training", pid=dead.pid, updated=stale, step=7, max_steps=70))
    make_run("broken", Status("stopped", updated=now - 7200), config="learning_rate: -1\n")


@pytest.mark.usefixtures("several_runs")
def test_runs_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    rows: dict[str, str] = {}
    for line in out.splitlines():  # the table's row, not the footnotes below it
        if line.strip():
            rows.setdefault(line.split()[0], line)
    assert out.index("live") < out.index("gone") < out.index("oom") < out.index("done")
    assert "training" in rows["live"] and "25/100 (25%)" in rows["live"]
    assert "Qwen2.5-0.5B" in rows["live"] and "qlora" in rows["live"]
    assert "completed" in rows["done"] and "0.4321" in rows["done"] and "3 h ago" in rows["done"]
    assert "demo" in rows["done"] and "lora" in rows["done"]
    assert "crashed" in rows["gone"] and "7/70 (10%)" in rows["gone"]
    assert "the GPU ran out of memory at step 3." in out and "Try QLoRA." in out
    assert "`tui-ft resume gone`" in out
    assert "run.yaml is not valid" in out and "learning_rate" in out


@pytest.mark.usefixtures("several_runs")
def test_runs_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--json"]) == 0
    runs = {run["name"]: run for run in json.loads(capsys.readouterr().out)}
    assert set(runs) == {"live", "gone", "oom", "done", "broken"}
    assert runs["done"]["loss"] == 0.4321
    assert runs["done"]["progress"] == 1.0
    assert runs["live"]["state"] == "training" and runs["live"]["progress"] == 0.25
    assert runs["live"]["model"] == "/models/Qwen2.5-0.5B"
    assert runs["gone"]["state"] == "crashed"
    assert runs["gone"]["error"]["kind"] == "interrupted"
    assert runs["oom"]["error"] == {
        "kind": "oom",
        "message": "the GPU ran out of memory at step 3.",
        "hint": "Try QLoRA.",
    }
    assert runs["broken"]["model"] == "" and runs["broken"]["note"]
    assert Path(runs["done"]["path"]).name == "done"


# --- tui-ft stop -------------------------------------------------------------------------------


GROUP_LEADER = """
import subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
open(sys.argv[1], "w").write(str(worker.pid))
time.sleep(30)
"""


def test_stop_sends_sigterm_to_the_trainers_process_group(
    tmp_path: Path, children: list[subprocess.Popen[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    """Like torchrun and its workers: the leader and the worker it started both get it."""
    worker_file = tmp_path / "worker.pid"
    leader = detached(children, [sys.executable, "-c", GROUP_LEADER, str(worker_file)])
    wait_until(lambda: worker_file.exists() and worker_file.read_text())
    worker = int(worker_file.read_text())
    make_run("busy", live(leader))
    assert main(["stop", "busy"]) == 0
    out = capsys.readouterr().out
    assert f"Sent SIGTERM to process group {leader} of run busy" in out
    assert "ends as `stopped`" in out
    assert children[0].wait(timeout=10) == -signal.SIGTERM
    wait_until(lambda: not pid_alive(worker))


def test_stop_reaches_the_workers_of_a_leader_that_already_ended(
    tmp_path: Path, children: list[subprocess.Popen[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    worker_file = tmp_path / "worker.pid"
    orphaning = GROUP_LEADER.replace("time.sleep(30)\n", "")  # the leader exits at once
    leader = subprocess.Popen(
        [sys.executable, "-c", orphaning, str(worker_file)], start_new_session=True
    )
    assert leader.wait(timeout=10) == 0
    worker = int(worker_file.read_text())
    try:
        make_run("orphans", live(leader.pid))
        assert main(["stop", "orphans"]) == 0
        assert f"process group {leader.pid}" in capsys.readouterr().out
        wait_until(lambda: not pid_alive(worker))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)


TRAINER = """
import os, signal, sys, time
from pathlib import Path
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status
run = RunDir(Path(sys.argv[1]))
def stop(*_):
    run.write_status(Status("stopped", pid=os.getpid(), step=12, max_steps=50))
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
Path(sys.argv[2]).touch()
time.sleep(30)
"""


def test_stop_wait_reports_how_the_run_ended(
    tmp_path: Path, children: list[subprocess.Popen[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    ready = tmp_path / "ready"
    run = RunDir.create("graceful")
    run.config_path.write_text("model: demo\n")
    pid = detached(children, [sys.executable, "-c", TRAINER, str(run.path), str(ready)])
    run.write_status(live(pid, step=12, max_steps=50))
    wait_until(ready.exists)
    assert main(["stop", "graceful", "--wait", "20"]) == 0
    out = capsys.readouterr().out
    assert "Run graceful is now stopped, at step 12." in out
    assert "`tui-ft resume graceful`" in out


def test_stop_wait_notices_a_trainer_that_died_without_a_word(
    children: list[subprocess.Popen[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    make_run("mute", live(detached(children, SLEEPER)))
    assert main(["stop", "mute", "--wait", "20"]) == 1
    assert "ended without recording a final state" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("state", "hint"),
    [("completed", "output/"), ("stopped", "tui-ft resume old"), ("failed", "Try QLoRA.")],
)
def test_stopping_a_finished_run_says_there_is_nothing_to_stop(
    capsys: pytest.CaptureFixture[str], state: str, hint: str
) -> None:
    make_run("old", Status(state, error=RunError("oom", "out of memory.", "Try QLoRA.")))
    assert main(["stop", "old"]) == 1
    err = capsys.readouterr().err
    assert f"error: run old is {state}: there is nothing to stop." in err
    assert hint in err


def test_stopping_a_crashed_run_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    dead = subprocess.Popen(SLEEPER)
    dead.kill()
    dead.wait()
    make_run("dead", Status("training", pid=dead.pid, updated=time.time() - 3600))
    assert main(["stop", "dead"]) == 1
    err = capsys.readouterr().err
    assert "run dead is crashed: there is nothing to stop." in err
    assert "`tui-ft resume dead`" in err


def test_stopping_another_hosts_run_names_that_host(capsys: pytest.CaptureFixture[str]) -> None:
    make_run("remote", Status("training", pid=1, host="gpu-node-7", updated=time.time()))
    assert main(["stop", "remote"]) == 1
    err = capsys.readouterr().err
    assert "run remote is running on gpu-node-7, not on this machine" in err


def test_stopping_an_unknown_run_names_the_runs_home(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stop", "nope"]) == 1
    assert f"no run named 'nope' in {runs_home().resolve()}" in capsys.readouterr().err


def test_a_pid_that_leads_no_group_is_signalled_alone(capsys: pytest.CaptureFixture[str]) -> None:
    """Its group is ours here: signalling the group would stop the test run itself."""
    child = subprocess.Popen(SLEEPER)
    try:
        make_run("plain", live(child.pid))
        assert main(["stop", "plain"]) == 0
        assert f"Sent SIGTERM to process {child.pid} of run plain" in capsys.readouterr().out
        assert child.wait(timeout=10) == -signal.SIGTERM
    finally:
        child.kill()
        child.wait()
