"""The monitor's health line: every rule, table-driven over metrics.jsonl-shaped records."""

from __future__ import annotations

from typing import Any

import pytest

from tui_ft.core.runs.health import STALL_S, HealthMonitor, assess
from tui_ft.core.runs.status import Status

NOW = 1_767_225_600.0


def steps(losses: list[Any], **extra: list[Any]) -> list[dict[str, Any]]:
    """One training record per loss, with optional parallel columns (grad_norm=[...])."""
    records = []
    for i, loss in enumerate(losses, start=1):
        record: dict[str, Any] = {"step": i, "loss": loss}
        for key, values in extra.items():
            record[key] = values[i - 1]
        records.append(record)
    return records


def evals(*losses: float, every: int = 10) -> list[dict[str, Any]]:
    return [{"step": every * i, "eval_loss": loss} for i, loss in enumerate(losses, start=1)]


TRAINING = Status("training", pid=4242, updated=NOW - 2)
FLAT = [1.0] * 20
GRADS = [1.0] * 20
RATES = [3000.0] * 20

CASES: list[tuple[str, list[dict[str, Any]], Status | None, set[str]]] = [
    ("a steady run", steps(FLAT, grad_norm=GRADS, tokens_per_s=RATES), TRAINING, set()),
    ("no records yet", [], TRAINING, set()),
    ("loss written as the string nan", steps([1.0, 0.9, "nan"]), None, {"non-finite"}),
    ("loss inf", steps([1.0, "inf"]), None, {"non-finite"}),
    ("loss -inf", steps([1.0, "-inf"]), None, {"non-finite"}),
    ("eval loss nan", [*steps(FLAT), {"step": 21, "eval_loss": "nan"}], None, {"non-finite"}),
    ("a loss that recovered", steps([1.0, "nan", 0.9]), None, set()),
    ("a grad-norm spike", steps(FLAT, grad_norm=[*GRADS[:-1], 50.0]), None, {"grad-spike"}),
    ("a spike long ago", steps(FLAT * 3, grad_norm=[*GRADS, 50.0, *([1.0] * 39)]), None, set()),
    ("a spike with too little history", steps([1.0] * 4, grad_norm=[1, 1, 1, 90]), None, set()),
    ("grad norm nan is not a spike", steps(FLAT, grad_norm=[*GRADS[:-1], "nan"]), None, set()),
    ("eval loss rising 3 in a row", evals(2.0, 1.5, 1.6, 1.7, 1.8), None, {"overfitting"}),
    ("eval loss rising twice only", evals(2.0, 1.5, 1.6, 1.7), None, set()),
    ("eval loss flat then rising", evals(2.0, 1.5, 1.5, 1.6, 1.7), None, set()),
    ("eval loss falling", evals(2.0, 1.8, 1.6, 1.4, 1.2), None, set()),
    (
        "throughput halved",
        steps(FLAT, tokens_per_s=[*RATES[:-3], 1000.0, 1100.0, 900.0]),
        None,
        {"throughput-drop"},
    ),
    ("one slow step", steps(FLAT, tokens_per_s=[*RATES[:-1], 100.0]), None, set()),
    ("no heartbeat", [], Status("training", pid=4242, updated=NOW - STALL_S - 5), {"stalled"}),
    ("a finished run is quiet", [], Status("completed", updated=NOW - 3600), set()),
    ("queued without heartbeat", [], Status("queued"), set()),
]


@pytest.mark.parametrize(
    ("records", "status", "kinds"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_alarm_kinds(records: list[dict[str, Any]], status: Status | None, kinds: set[str]) -> None:
    assert {alarm.kind for alarm in assess(records, status, NOW)} == kinds


def test_nan_alarm_names_the_step_and_comes_first() -> None:
    records = steps(FLAT, grad_norm=[*GRADS[:-1], 50.0])
    records += [{"step": 21, "loss": "nan"}, {"step": 22, "loss": "nan"}]
    alarms = assess(records, Status("training", updated=NOW - STALL_S - 1), NOW)
    assert alarms[0].kind == "non-finite"
    assert alarms[0].severity == "error"
    assert "nan since step 21" in alarms[0].message
    assert "learning rate" in alarms[0].hint


def test_overfitting_names_the_best_step_and_its_checkpoint() -> None:
    records = evals(2.0, 1.2, 1.3, 1.4, 1.5)
    (kept,) = assess(records, checkpoints=[20, 50])
    assert "1.2 at step 20" in kept.hint
    assert "checkpoint-20 holds it" in kept.hint
    (gone,) = assess(records, checkpoints=[50])
    assert "step 20" in gone.hint and "checkpoint-20" not in gone.hint


def test_spike_message_gives_the_ratio_to_the_median() -> None:
    (alarm,) = assess(steps(FLAT, grad_norm=[*([2.0] * 19), 40.0]))
    assert alarm.message == "grad norm spiked to 40 at step 20 (20× its running median 2)."


def test_a_new_spike_is_a_new_alarm_key() -> None:
    monitor = HealthMonitor()
    monitor.feed(steps(FLAT, grad_norm=[*GRADS[:-1], 50.0]))
    first = monitor.check()[0].key
    monitor.feed([{"step": 21, "loss": 1.0, "grad_norm": 60.0}])
    assert monitor.check()[0].key != first


def test_feeding_in_batches_equals_feeding_at_once() -> None:
    records = steps([1.0] * 10 + ["nan"], grad_norm=[1.0] * 10 + [80.0]) + evals(1, 2, 3, 4)
    monitor = HealthMonitor()
    for record in records:
        monitor.feed([record])
    assert monitor.check() == assess(records)
