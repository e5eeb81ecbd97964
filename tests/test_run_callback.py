"""The trainer callback's tokens/s: training steps only, so an evaluation between two logs does
not read as a throughput drop (the monitor's health line would cry wolf at each one)."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from tui_ft.core.errors import UserError
from tui_ft.core.runs.jsonl_tail import JsonlTail
from tui_ft.core.runs.layout import RunDir
from tui_ft.engine.train import callback as run_callback
from tui_ft.engine.train.status_writer import StatusWriter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def time(self) -> float:
        return self.now


def test_tokens_per_second_leaves_out_the_evaluation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(run_callback, "time", clock)
    run = RunDir.create("cb", tmp_path)
    callback = run_callback.RunDirCallback(
        run, StatusWriter(run), threading.Event(), [], None, is_main=True
    )
    state = SimpleNamespace(global_step=0, max_steps=10, epoch=0.0, num_input_tokens_seen=0)
    callback.on_train_begin(None, state, SimpleNamespace())
    for _ in range(2):  # two steps of 1 s, 100 tokens each
        callback.on_step_begin(None, state, SimpleNamespace())
        clock.now += 1
        state.global_step += 1
        state.num_input_tokens_seen += 100
        callback.on_step_end(None, state, SimpleNamespace())
    clock.now += 60  # an evaluation
    callback.on_log(None, state, SimpleNamespace(), logs={"loss": 1.0})
    records = list(JsonlTail(run.metrics_path).read_new())
    assert records[-1]["tokens_per_s"] == pytest.approx(100.0)


def test_the_heartbeat_outlives_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from tui_ft.engine.train import status_writer

    monkeypatch.setattr(status_writer, "HEARTBEAT_INTERVAL_S", 0.01)
    run = RunDir.create("hb", tmp_path)
    writer = StatusWriter(run).start()
    written = threading.Event()
    failures = iter([True, True])
    real_write = RunDir.write_status

    def flaky(self: RunDir, status: object) -> None:
        if next(failures, False):
            raise UserError("cannot write the run's status.json: the disk is full.")
        real_write(self, status)  # type: ignore[arg-type]
        written.set()

    monkeypatch.setattr(RunDir, "write_status", flaky)
    try:
        assert written.wait(60), "the heartbeat stopped after a failed write"
    finally:
        writer.close()
    assert "heartbeat: cannot write the run's status.json" in capfd.readouterr().err
