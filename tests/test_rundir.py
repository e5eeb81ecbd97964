"""The run directory protocol: status round trip and tolerance, atomic writes, crash detection
from a real dead process, names, opening runs, complete checkpoints, the list of runs."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tui_ft.core import paths
from tui_ft.core.errors import UserError
from tui_ft.core.runs.checkpoints import COMPLETE_MARKER
from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.listing import list_runs, new_run_name
from tui_ft.core.runs.liveness import HEARTBEAT_STALE_S, effective_status, pid_alive
from tui_ft.core.runs.status import ACTIVE_STATES, STATES, RunError, Status

SLEEPER = [sys.executable, "-c", "import time; time.sleep(30)"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(SLEEPER)
    yield child
    child.kill()
    child.wait()


def make_run(home: Path, name: str, status: Status | None = None, config: str = "") -> RunDir:
    run = RunDir.create(name, home)
    if config:
        run.config_path.write_text(config)
    if status is not None:
        run.write_status(status)
    return run


def training(pid: int | None, age_s: float, host: str = "", **fields: Any) -> Status:
    now = time.time()
    host = host or socket.gethostname()
    status = Status("training", pid=pid, host=host, started=now - 3600, updated=now - age_s)
    return dataclasses.replace(status, **fields)


# --- status ------------------------------------------------------------------------------------


def test_states_and_active_states_agree() -> None:
    assert set(STATES) > ACTIVE_STATES
    assert {"completed", "stopped", "failed", "crashed"} == set(STATES) - ACTIVE_STATES


def test_status_round_trips_through_json(home: Path) -> None:
    status = Status(
        state="failed",
        pid=1234,
        host="gpu-box",
        started=1.5,
        updated=2.5,
        step=40,
        max_steps=100,
        epoch=1.25,
        eta_s=None,
        error=RunError("oom", "the GPU ran out of memory.", "Use QLoRA."),
        memory={"estimate_bytes": 10, "peak_reserved_bytes": 12},
        extra={"added_later": [1, 2]},
    )
    assert Status.from_dict(json.loads(json.dumps(status.to_dict()))) == status
    run = make_run(home, "r", status)
    assert run.read_status() == status
    assert json.loads(run.status_path.read_text())["added_later"] == [1, 2]  # flat, not nested


def test_status_from_dict_tolerates_missing_unknown_and_mistyped_keys() -> None:
    status = Status.from_dict(
        {"state": "training", "step": "12", "pid": True, "max_steps": 0, "epoch": float("nan"),
         "error": "boom", "memory": [], "future": {"x": 1}}
    )  # fmt: skip
    assert status.state == "training"
    assert (status.step, status.pid, status.max_steps, status.epoch) == (0, None, None, 0.0)
    assert status.error == RunError("internal", "boom")
    assert status.memory == {}
    assert status.extra == {"future": {"x": 1}}
    assert Status.from_dict({}) == Status("queued")
    assert Status.from_dict(None) == Status("queued")


@pytest.mark.parametrize(
    "content", [b"", b'{"state": "training", "st', b"\x00\x01", b"[1, 2]", b"null"]
)
def test_a_damaged_status_file_reads_as_queued_without_raising(home: Path, content: bytes) -> None:
    run = make_run(home, "r", config="model: demo\n")
    run.status_path.write_bytes(content)
    assert run.read_status() == Status("queued")
    assert list_runs(home)[0].note.startswith("status.json")


def test_a_missing_status_file_reads_as_queued(home: Path) -> None:
    assert RunDir.create("r", home).read_status() == Status("queued")


def test_status_writes_are_atomic_and_leave_no_temp_files(home: Path) -> None:
    """The heartbeat thread and the training loop write at once; a reader never sees half."""
    run = make_run(home, "r")
    torn: list[bytes] = []

    def writer(offset: int) -> None:
        for step in range(200):
            run.write_status(Status("training", step=offset + step, extra={"pad": "x" * 4000}))

    threads = [threading.Thread(target=writer, args=(n * 1000,)) for n in range(2)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        raw = run.status_path.read_bytes() if run.status_path.exists() else b"{}"
        try:
            json.loads(raw)
        except ValueError:
            torn.append(raw)
    for thread in threads:
        thread.join()
    assert torn == []
    assert sorted(p.name for p in run.path.iterdir()) == ["status.json"]
    assert oct(run.status_path.stat().st_mode & 0o777) == oct(0o644)


# --- crash detection ---------------------------------------------------------------------------


def test_pid_alive(sleeper: subprocess.Popen[bytes]) -> None:
    assert pid_alive(os.getpid())
    assert pid_alive(sleeper.pid)
    assert not pid_alive(0)
    assert not pid_alive(-1)
    sleeper.kill()
    deadline = time.time() + 60  # a guard against a hang; a noisy CI may take seconds
    while psutil.Process(sleeper.pid).status() != psutil.STATUS_ZOMBIE:  # killed, not reaped
        assert time.time() < deadline
        time.sleep(0.01)
    os.kill(sleeper.pid, 0)  # a zombie still answers signals...
    assert not pid_alive(sleeper.pid)  # ...but will never write again
    sleeper.wait()
    assert not pid_alive(sleeper.pid)


def test_a_killed_trainer_with_a_stale_heartbeat_is_crashed(
    home: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    run = make_run(home, "killed", training(sleeper.pid, age_s=0, step=7))
    assert effective_status(run).state == "training"
    os.kill(sleeper.pid, signal.SIGKILL)
    sleeper.wait()
    assert effective_status(run).state == "training"  # dead, but within the heartbeat window
    run.write_status(training(sleeper.pid, age_s=HEARTBEAT_STALE_S + 5, step=7))
    status = effective_status(run)
    assert status.state == "crashed"
    assert status.step == 7
    assert status.error is not None and status.error.kind == "interrupted"
    assert f"process {sleeper.pid}" in status.error.message
    assert "`tui-ft resume killed`" in status.error.hint
    assert run.read_status().state == "training"  # readers never rewrite the file


def test_a_live_trainer_with_a_stale_heartbeat_stays_active(
    home: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    """A long evaluation may starve the heartbeat: a live process is not a crash."""
    run = make_run(home, "slow", training(sleeper.pid, age_s=0))
    assert effective_status(run, now=time.time() + 10 * HEARTBEAT_STALE_S).state == "training"


def test_a_reused_pid_does_not_keep_a_dead_run_alive(
    home: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    """After a reboot the old pid may belong to a program born after the last heartbeat."""
    run = make_run(home, "rebooted", training(sleeper.pid, age_s=3600))
    assert effective_status(run).state == "crashed"


def test_another_hosts_run_is_crashed_only_after_a_long_silence(home: Path) -> None:
    run = make_run(home, "remote", training(pid=1, age_s=5 * 60, host="other-box"))
    assert effective_status(run).state == "training"
    run.write_status(training(pid=1, age_s=20 * 60, host="other-box"))
    status = effective_status(run)
    assert status.state == "crashed"
    assert status.error is not None and "other-box" in status.error.message


def test_finished_states_are_never_second_guessed(home: Path) -> None:
    for state in ("completed", "stopped", "failed"):
        run = make_run(home, state, Status(state, pid=None, updated=1.0))
        assert effective_status(run).state == state


def test_a_run_without_a_trainer_process_crashes_only_once_quiet(home: Path) -> None:
    run = make_run(home, "waiting", config="model: demo\n")
    assert effective_status(run).state == "queued"  # just created: the launcher is starting it
    old = time.time() - 2 * HEARTBEAT_STALE_S
    os.utime(run.config_path, (old, old))
    status = effective_status(run)
    assert status.state == "crashed"
    assert status.error is not None and "never reported a process" in status.error.message


# --- names, create and open --------------------------------------------------------------------


def test_create_never_reuses_a_directory(home: Path) -> None:
    runs = [RunDir.create("demo-run", home) for _ in range(3)]
    assert [r.name for r in runs] == ["demo-run", "demo-run-2", "demo-run-3"]
    assert all(r.path.is_dir() and r.path.parent == home.resolve() for r in runs)


def test_create_keeps_numbered_long_names_valid(home: Path) -> None:
    name = "a" * 100
    RunDir.create(name, home)
    second = RunDir.create(name, home)
    assert second.name == "a" * 98 + "-2"
    paths.run_dir(second.name, home)


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", ".hidden", "", "x" * 101])
def test_create_refuses_names_that_could_escape_the_home(home: Path, name: str) -> None:
    with pytest.raises(UserError):
        RunDir.create(name, home)
    assert not (home.parent / "evil").exists()


def test_open_by_name_folder_run_yaml_and_relative_path(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = make_run(home, "alpha", config="model: demo\n")
    assert RunDir.open("alpha", home) == run
    assert RunDir.open(str(run.path), home) == run
    assert RunDir.open(str(run.config_path), home) == run
    monkeypatch.chdir(home)
    assert RunDir.open("./alpha", home) == run
    monkeypatch.setenv("TUI_FT_HOME", str(home))
    assert RunDir.open("alpha") == run


def test_open_a_missing_run_names_the_home_and_the_nearest_runs(home: Path) -> None:
    make_run(home, "smollm2-lora-20261129-0512", config="model: demo\n")
    make_run(home, "qwen-full-20261129-0600", config="model: demo\n")
    with pytest.raises(UserError) as caught:
        RunDir.open("smollm2-lora", home)
    assert str(home.resolve()) in caught.value.message
    assert "smollm2-lora-20261129-0512" in caught.value.hint
    assert "qwen" not in caught.value.hint
    with pytest.raises(UserError) as caught:
        RunDir.open("zzz", home)
    assert "`tui-ft runs` lists the 2 runs" in caught.value.hint


def test_open_refuses_a_folder_that_is_not_a_run(home: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no run named 'nothing'") as caught:
        RunDir.open("nothing", home)
    assert "no runs there yet" in caught.value.hint
    with pytest.raises(UserError, match="not a run directory"):
        RunDir.open(str(tmp_path), home)
    with pytest.raises(UserError, match="no run at"):
        RunDir.open("../evil", home)


def test_paths_follow_the_design(home: Path) -> None:
    run = RunDir(home / "r")
    names = [
        run.config_path, run.status_path, run.metrics_path, run.probes_path, run.ledger_path,
        run.log_path, run.checkpoints_dir, run.output_dir,
    ]  # fmt: skip
    assert [p.name for p in names] == [
        "run.yaml", "status.json", "metrics.jsonl", "probes.jsonl", "ledger.json", "train.log",
        "checkpoints", "output",
    ]  # fmt: skip
    assert {p.parent for p in names} == {run.path}
    assert run.name == "r"


@pytest.mark.parametrize(
    ("model", "start"),
    [
        ("demo", "smollm2-135m-instruct-lora-"),
        ("HuggingFaceTB/SmolLM2-360M-Instruct", "smollm2-360m-instruct-lora-"),
        ("/models/Qwen2.5-0.5B/", "qwen2.5-0.5b-lora-"),
        ("~/gguf/Llama-3.2-1B.Q4_K_M.gguf", "llama-3.2-1b.q4_k_m-lora-"),
        ("/hf/hub/models--Qwen--Qwen3-8B/snapshots/" + "a" * 40, "qwen3-8b-lora-"),
        ("Ünïcode model ✨", "n-code-model-lora-"),
        ("...", "model-lora-"),
        ("", "model-lora-"),
        ("x" * 300, "x" * 60 + "-lora-"),
    ],
)
def test_new_run_name_is_short_readable_and_always_valid(model: str, start: str) -> None:
    moment = time.mktime((2026, 11, 29, 5, 12, 0, 0, 0, -1))
    name = new_run_name(model, "lora", now=moment)
    assert name == f"{start}20261129-0512"
    paths.run_dir(name)
    paths.run_dir(new_run_name(model, "../../../x" * 20))


# --- records, ledger, checkpoints --------------------------------------------------------------


class Scalar:
    """Stands in for a numpy/torch scalar: JSON cannot hold it, .item() can."""

    def item(self) -> float:
        return 0.5


def test_metrics_and_probes_append_one_line_per_record(home: Path) -> None:
    run = RunDir.create("r", home)
    run.append_metrics({"step": 1, "loss": 2.0})
    run.append_metrics({"step": 2, "loss": Scalar(), "where": home})
    run.append_probe({"step": 2, "prompt": "Who are you?", "answer": "Je suis ✨"})
    assert read_jsonl(run.metrics_path) == [
        {"step": 1, "loss": 2.0},
        {"step": 2, "loss": 0.5, "where": str(home)},
    ]
    assert read_jsonl(run.probes_path)[0]["answer"] == "Je suis ✨"
    assert run.metrics_path.read_bytes().count(b"\n") == 2


def test_ledger_write_update_and_tolerance(home: Path) -> None:
    run = RunDir.create("r", home)
    assert run.read_ledger() == {}
    run.write_ledger({"command": "tui-ft train run.yaml", "versions": {"torch": "2.13.0"}})
    run.update_ledger(peak_reserved_bytes=123)
    assert run.read_ledger() == {
        "command": "tui-ft train run.yaml",
        "versions": {"torch": "2.13.0"},
        "peak_reserved_bytes": 123,
    }
    run.ledger_path.write_text("{broken")
    assert run.read_ledger() == {}
    assert [p.name for p in run.path.iterdir()] == ["ledger.json"]


def test_last_good_checkpoint_takes_the_newest_complete_one(home: Path) -> None:
    run = RunDir.create("r", home)
    assert run.last_good_checkpoint() is None
    for name, complete in [
        ("checkpoint-5", True),
        ("checkpoint-40", True),
        ("checkpoint-100", False),  # cut short by a crash: no marker
        ("tmp-checkpoint-200", True),
        ("checkpoint-300.partial", True),
        ("checkpoint-x", True),
    ]:
        (run.checkpoints_dir / name).mkdir(parents=True)
        if complete:
            (run.checkpoints_dir / name / COMPLETE_MARKER).write_text("")
    (run.checkpoints_dir / "checkpoint-500").write_text("a file, not a folder")
    assert run.last_good_checkpoint() == run.checkpoints_dir / "checkpoint-40"


# --- the list of runs --------------------------------------------------------------------------


def test_list_runs_puts_active_runs_first_then_the_most_recent(
    home: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    now = time.time()
    make_run(home, "old-done", Status("completed", updated=now - 7200), "model: demo\n")
    make_run(home, "new-done", Status("stopped", updated=now - 60), "model: demo\n")
    make_run(
        home,
        "live",
        Status("training", pid=sleeper.pid, updated=now, step=25, max_steps=100),
        "model: org/some-model\nmethod: qlora\ndataset: data.jsonl\n",
    )
    runs = list_runs(home)
    assert [r.name for r in runs] == ["live", "new-done", "old-done"]
    live = runs[0]
    assert (live.model, live.method, live.dataset) == ("org/some-model", "qlora", "data.jsonl")
    assert live.progress == 0.25
    assert live.age_s < 60
    assert 7000 < runs[2].age_s < 7400
    assert runs[2].progress == 1.0  # completed, total unknown


def test_list_runs_tolerates_broken_runs(home: Path) -> None:
    make_run(home, "bad-yaml", Status("failed"), "model: [unclosed\n")
    make_run(home, "bad-config", Status("stopped"), "learning_rate: -1\n")
    make_run(home, "no-yaml", Status("stopped"))
    make_run(home, "bad-status", config="model: demo\n").status_path.write_text("{")
    RunDir.create("empty", home)  # a launch that never wrote anything: not a run yet
    (home / ".hidden").mkdir()
    (home / ".hidden" / "status.json").write_text("{}")
    (home / "stray-file").write_text("x")
    notes = {r.name: r.note for r in list_runs(home)}
    assert set(notes) == {"bad-yaml", "bad-config", "no-yaml", "bad-status"}
    assert notes["bad-yaml"].startswith("run.yaml is not valid")
    assert "learning_rate" in notes["bad-config"]
    assert notes["no-yaml"] == "no run.yaml"
    assert notes["bad-status"] == "status.json is not valid JSON"


def test_list_runs_without_a_home_is_empty(tmp_path: Path) -> None:
    assert list_runs(tmp_path / "nowhere") == []


def test_a_checkpoint_whose_files_changed_is_skipped_and_named(home: Path) -> None:
    from tui_ft.core.runs.checkpoints import write_marker

    run = make_run(home, "cut")
    for step in (4, 6):
        folder = run.checkpoints_dir / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "optimizer.pt").write_bytes(b"x" * 100)
        write_marker(folder)
    assert run.last_good_checkpoint() == run.checkpoints_dir / "checkpoint-6"
    (run.checkpoints_dir / "checkpoint-6" / "optimizer.pt").write_bytes(b"x" * 40)
    assert run.last_good_checkpoint() == run.checkpoints_dir / "checkpoint-4"
    assert run.damaged_checkpoints() == {6: "optimizer.pt has 40 of its 100 bytes"}
    (run.checkpoints_dir / "checkpoint-6" / "optimizer.pt").unlink()
    assert run.damaged_checkpoints() == {6: "optimizer.pt is missing"}


@pytest.mark.parametrize("damage", [b'{"state": "compl', b"", b"[1, 2]"])
def test_a_damaged_status_of_a_completed_run_reads_completed(home: Path, damage: bytes) -> None:
    run = make_run(home, "done", Status("completed", step=6, max_steps=6))
    run.output_dir.mkdir()
    run.append_metrics({"step": 6, "loss": 0.5})
    run.status_path.write_bytes(damage)
    status = effective_status(run, now=time.time() + 3600)
    assert status.state == "completed" and status.step == 6
    (summary,) = list_runs(home)
    assert summary.status.state == "completed" and "output/ is complete" in summary.note


def test_a_damaged_status_of_a_stopped_run_reads_stopped_from_its_ledger(home: Path) -> None:
    run = make_run(home, "paused", Status("stopped", step=3))
    run.write_ledger({"final_state": "stopped"})
    run.status_path.write_bytes(b"{")
    assert effective_status(run, now=time.time() + 3600).state == "stopped"


@pytest.mark.parametrize(
    ("code", "reason"),
    [(28, "the disk is full"), (30, "read-only file system"), (13, "permission denied")],
)
def test_a_run_file_that_cannot_be_written_is_a_sentence(
    home: Path, monkeypatch: pytest.MonkeyPatch, code: int, reason: str
) -> None:
    run = make_run(home, "full", Status("training", step=3))

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(UserError, match=f"status.json.*{reason}") as caught:
        run.write_status(Status("stopped"))
    assert caught.value.hint
    assert run.read_status().state == "training"  # the old file is whole
    assert [p.name for p in run.path.iterdir() if p.name.endswith(".tmp")] == []
    monkeypatch.setattr("pathlib.Path.open", refuse)
    with pytest.raises(UserError, match=f"metrics.jsonl.*{reason}"):
        run.append_metrics({"step": 4})
