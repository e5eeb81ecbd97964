"""RunWatch: one poll replays the history, later polls bring only what was appended."""

from __future__ import annotations

from pathlib import Path

from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status
from tui_ft.core.runs.watch import RunWatch

NOW = 1_767_225_600.0


def test_first_poll_replays_then_only_news(tmp_path: Path) -> None:
    run = RunDir.create("r", tmp_path)
    run.write_status(Status("training", updated=NOW - 1, step=2, max_steps=10))
    run.append_metrics({"step": 1, "loss": 2.0})
    run.append_metrics({"step": 2, "loss": 1.9})
    run.append_probe({"step": 2, "prompt": "hi", "answer": "hello"})
    run.log_path.write_text("loading\ntraining\n")
    watch = RunWatch(run, clock=lambda: NOW)

    first = watch.poll()
    assert first is not None and first.first
    assert [r["step"] for r in first.metrics] == [1, 2]
    assert first.probes[0]["answer"] == "hello"
    assert first.log_lines == ["loading", "training"]
    assert first.status.step == 2 and not first.alarms

    assert watch.poll() is None  # nothing new

    with run.metrics_path.open("a") as handle:
        handle.write('{"step": 3, "loss": "nan"}\n{"step": 4, "lo')  # a line being written
    update = watch.poll()
    assert update is not None and not update.first
    assert update.metrics == [{"step": 3, "loss": "nan"}]
    assert [a.kind for a in update.alarms] == ["non-finite"]
    with run.metrics_path.open("a") as handle:
        handle.write('ss": "nan"}\n')
    update = watch.poll()
    assert update is not None and update.metrics == [{"step": 4, "loss": "nan"}]
    assert update.bad_lines == 0


def test_a_status_change_alone_is_news(tmp_path: Path) -> None:
    run = RunDir.create("r", tmp_path)
    run.write_status(Status("training", updated=NOW))
    watch = RunWatch(run, clock=lambda: NOW)
    watch.poll()
    run.write_status(Status("completed", updated=NOW))
    update = watch.poll()
    assert update is not None and update.status.state == "completed"
