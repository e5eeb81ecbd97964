"""Is this run healthy? The monitor's health line, as plain rules over metrics.jsonl records and
status.json, so that every alarm is unit-tested without a terminal.

Each rule looks at the run as a person watching the charts would: a loss that became NaN, a
gradient norm far above its usual level, an eval loss that keeps rising, tokens per second that
fell, a trainer that stopped sending heartbeats. An alarm says what happened and what to do.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from tui_ft.core.alarm import Alarm
from tui_ft.core.objectives.spec import HealthRule
from tui_ft.core.runs.liveness import HEARTBEAT_INTERVAL_S
from tui_ft.core.runs.metrics import as_number
from tui_ft.core.runs.status import Status
from tui_ft.core.units import format_count

# A spike: this many times the running median of the previous grad norms ...
GRAD_SPIKE_FACTOR = 10.0
GRAD_WINDOW = 50
GRAD_MIN_HISTORY = 8  # ... once there is enough history for a median to mean something
GRAD_RECENT = 20  # a spike stays on the health line for this many logged grad norms
# Overfitting: the eval loss rose this many evaluations in a row.
RISING_EVALS = 3
# A throughput drop: the median of the last few below this share of the earlier median.
THROUGHPUT_SHARE = 0.5
THROUGHPUT_WINDOW = 20
THROUGHPUT_RECENT = 3
THROUGHPUT_MIN_HISTORY = 5
# Stalled: no heartbeat for this long (the trainer writes one every HEARTBEAT_INTERVAL_S).
STALL_S = 6 * HEARTBEAT_INTERVAL_S


@dataclass
class _Eval:
    step: int
    loss: float


class HealthMonitor:
    """Fed every metrics record once, in order; `check` is cheap and may run on every poll."""

    def __init__(self, rules: Iterable[HealthRule] = ()) -> None:
        """`rules`: the objective's own, beside the common ones."""
        self._rules = list(rules)
        self._grad_norms: deque[float] = deque(maxlen=GRAD_WINDOW)
        self._grads_since_spike: int | None = None
        self._spike: tuple[int, float, float] | None = None  # step, value, median before it
        self._evals: list[_Eval] = []
        self._throughput: deque[float] = deque(maxlen=THROUGHPUT_WINDOW + THROUGHPUT_RECENT)
        self._non_finite: tuple[str, int, str] | None = None  # key, step, value as written
        self._last_finite_loss = True

    def feed(self, records: Iterable[Mapping[str, Any]]) -> None:
        for record in records:
            step = _int(record.get("step"))
            self._feed_losses(record, step)
            self._feed_grad_norm(record.get("grad_norm"), step)
            if (rate := _finite(record.get("tokens_per_s"))) is not None and rate > 0:
                self._throughput.append(rate)
            for rule in self._rules:
                rule.feed(record, step)

    def check(
        self,
        status: Status | None = None,
        now: float | None = None,
        checkpoints: Iterable[int] = (),
    ) -> list[Alarm]:
        """The alarms that hold now, worst first."""
        alarms = [
            self._non_finite_alarm(),
            self._stall_alarm(status, now),
            self._overfitting_alarm(set(checkpoints)),
            self._spike_alarm(),
            self._throughput_alarm(),
            *(rule.alarm() for rule in self._rules),
        ]
        found = [alarm for alarm in alarms if alarm is not None]
        return sorted(found, key=lambda alarm: alarm.severity != "error")

    @property
    def best_eval(self) -> tuple[int, float] | None:
        """(step, eval loss) of the lowest eval loss so far."""
        if not self._evals:
            return None
        best = min(self._evals, key=lambda e: e.loss)
        return best.step, best.loss

    # --- feeding ----------------------------------------------------------------------------

    def _feed_losses(self, record: Mapping[str, Any], step: int) -> None:
        for key in ("loss", "eval_loss"):
            if key not in record:
                continue
            value = as_number(record[key])
            if value is None:
                continue
            if not math.isfinite(value):
                if self._non_finite is None or self._last_finite_loss:
                    self._non_finite = (key, step, str(record[key]))
                self._last_finite_loss = False
                continue
            self._last_finite_loss = True
            if key == "eval_loss":
                self._evals.append(_Eval(step, value))

    def _feed_grad_norm(self, raw: Any, step: int) -> None:
        value = _finite(raw)
        if value is None:
            return
        if self._grads_since_spike is not None:
            self._grads_since_spike += 1
        if len(self._grad_norms) >= GRAD_MIN_HISTORY:
            median = statistics.median(self._grad_norms)
            if median > 0 and value > GRAD_SPIKE_FACTOR * median:
                self._spike = (step, value, median)
                self._grads_since_spike = 0
                # A spike is not the new normal: keep it out of the median.
                return
        self._grad_norms.append(value)

    # --- rules ------------------------------------------------------------------------------

    def _non_finite_alarm(self) -> Alarm | None:
        if self._non_finite is None or self._last_finite_loss:
            return None
        key, step, value = self._non_finite
        what = "loss" if key == "loss" else "eval loss"
        return Alarm(
            "non-finite",
            "error",
            f"{what} is {value} since step {step}: training diverged.",
            "Stop the run; lower the learning rate (or use bf16 instead of fp16) and start again.",
            key=f"non-finite:{step}",
        )

    def _stall_alarm(self, status: Status | None, now: float | None) -> Alarm | None:
        if status is None or now is None or not status.active or not status.updated:
            return None
        silent = now - status.updated
        if silent <= STALL_S:
            return None
        process = f" (process {status.pid})" if status.pid else ""
        return Alarm(
            "stalled",
            "warning",
            f"no heartbeat from the trainer{process} for {int(silent)} s.",
            "It may be stuck or the machine overloaded; train.log shows its last output.",
            key="stalled",
        )

    def _overfitting_alarm(self, checkpoints: set[int]) -> Alarm | None:
        recent = self._evals[-(RISING_EVALS + 1) :]
        if len(recent) <= RISING_EVALS:
            return None
        if any(later.loss <= earlier.loss for earlier, later in pairwise(recent)):
            return None
        best = self.best_eval
        assert best is not None  # there are evaluations
        step, loss = best
        keep = (
            f"checkpoint-{step} holds it."
            if step in checkpoints
            else "train again with fewer epochs, or stop now."
        )
        return Alarm(
            "overfitting",
            "warning",
            f"eval loss rose {RISING_EVALS} evaluations in a row "
            f"({recent[0].loss:.4g} → {recent[-1].loss:.4g}): the model may be overfitting.",
            f"Best eval loss {loss:.4g} at step {step}: {keep}",
            key=f"overfitting:{recent[0].step}",
        )

    def _spike_alarm(self) -> Alarm | None:
        if self._spike is None or (self._grads_since_spike or 0) >= GRAD_RECENT:
            return None
        step, value, median = self._spike
        return Alarm(
            "grad-spike",
            "warning",
            f"grad norm spiked to {value:.3g} at step {step} "
            f"({value / median:.0f}× its running median {median:.3g}).",
            "One spike is often harmless; repeated spikes mean the learning rate is too high.",
            key=f"grad-spike:{step}",
        )

    def _throughput_alarm(self) -> Alarm | None:
        rates = list(self._throughput)
        earlier, recent = rates[:-THROUGHPUT_RECENT], rates[-THROUGHPUT_RECENT:]
        if len(earlier) < THROUGHPUT_MIN_HISTORY or len(recent) < THROUGHPUT_RECENT:
            return None
        before, now = statistics.median(earlier), statistics.median(recent)
        if now >= THROUGHPUT_SHARE * before:
            return None
        return Alarm(
            "throughput-drop",
            "warning",
            f"throughput fell to {format_count(now)} tokens/s from {format_count(before)}.",
            "Another process on the same GPU or CPUs, thermal throttling or swapping can do this.",
            key="throughput-drop",
        )


def assess(
    records: Iterable[Mapping[str, Any]],
    status: Status | None = None,
    now: float | None = None,
    checkpoints: Iterable[int] = (),
    rules: Iterable[HealthRule] = (),
) -> list[Alarm]:
    """All alarms for a whole history at once (`rules`: the objective's own)."""
    monitor = HealthMonitor(rules)
    monitor.feed(records)
    return monitor.check(status, now, checkpoints)


def _finite(value: Any) -> float | None:
    number = as_number(value)
    return number if number is not None and math.isfinite(number) else None


def _int(value: Any) -> int:
    number = _finite(value)
    return int(number) if number is not None else 0
