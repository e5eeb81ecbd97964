"""Watching one run directory: what the monitor learns on each poll (new metrics, probe answers
and log lines, the effective status, the health alarms), read with byte-offset tails so that a
poll costs only what was appended. Pure Python; the app polls it from a worker thread."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tui_ft.core.alarm import Alarm
from tui_ft.core.objectives.spec import Objective
from tui_ft.core.runs.charts import run_objective, run_settings
from tui_ft.core.runs.completions import Sample, file_state, read_samples
from tui_ft.core.runs.health import HealthMonitor
from tui_ft.core.runs.jsonl_tail import JsonlTail, TextTail
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.liveness import effective_status
from tui_ft.core.runs.metrics import MetricsRow, as_rows
from tui_ft.core.runs.status import Status

LOG_START_BYTES = 64 * 1024  # enough for the last ~200 lines of train.log


@dataclass(frozen=True)
class RunUpdate:
    """What changed since the previous poll. The first one replays the whole history."""

    status: Status
    metrics: list[MetricsRow] = field(default_factory=list)
    probes: list[dict[str, Any]] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)
    alarms: tuple[Alarm, ...] = ()
    bad_lines: int = 0  # metrics and probe lines that could not be read, in all
    first: bool = False
    # The latest step's sampled completions (objectives that sample); None: unchanged.
    samples: list[Sample] | None = None


class RunWatch:
    def __init__(
        self,
        run: RunDir,
        clock: Callable[[], float] = time.time,
        objective: Objective | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        """`objective` and its `settings`: the run's, when the caller has read them already
        (else read here)."""
        self.run = run
        self.clock = clock
        objective = objective or run_objective(run)
        if settings is None:
            settings = run_settings(run, objective)
        self.health = HealthMonitor(objective.health_rules(settings))
        self._samples = objective.samples
        self._samples_state: tuple[int, int, int] | None = None
        self._metrics = JsonlTail(run.metrics_path)
        self._probes = JsonlTail(run.probes_path)
        self._log = TextTail(run.log_path, start_bytes=LOG_START_BYTES)
        self._last: RunUpdate | None = None

    def poll(self) -> RunUpdate | None:
        """The news, or None when nothing changed since the previous poll."""
        metrics = as_rows(self._metrics.read_new())
        probes = self._probes.read_new()
        log_lines = self._log.read_new()
        now = self.clock()
        status = effective_status(self.run, now)
        self.health.feed(metrics)
        checkpoints = self.run.complete_checkpoints() if self.health.best_eval else {}
        update = RunUpdate(
            status=status,
            metrics=metrics,
            probes=probes,
            log_lines=log_lines,
            alarms=tuple(self.health.check(status, now, checkpoints)),
            bad_lines=self._metrics.bad_lines + self._probes.bad_lines,
            first=self._last is None,
            samples=self._new_samples(),
        )
        previous, self._last = self._last, update
        if previous is not None and not _news(previous, update):
            return None
        return update

    def _new_samples(self) -> list[Sample] | None:
        """The completions file again when the trainer has replaced it since the last read."""
        if not self._samples:
            return None
        state = file_state(self.run.completions_path)
        if state is None or state == self._samples_state:
            return None
        self._samples_state = state
        return read_samples(self.run.completions_path)


def _news(previous: RunUpdate, update: RunUpdate) -> bool:
    return bool(
        update.metrics
        or update.probes
        or update.log_lines
        or update.status != previous.status
        or update.alarms != previous.alarms
        or update.bad_lines != previous.bad_lines
        or update.samples is not None
    )
