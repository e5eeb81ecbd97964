"""What one run is and what it cost: its model, method and state, steps and tokens, last loss
and best eval loss, wall time and peak memory. Read from its run directory without writing."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.errors import UserError
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.liveness import effective_status
from tui_ft.core.runs.metrics import as_number

# status.json/ledger.json's measured peak, GPU first: what the run needed of its device.
PEAK_KEYS = (("peak_reserved_bytes", "gpu"), ("peak_rss_bytes", "cpu"))
# Failing that, the largest figure metrics.jsonl logged.
METRIC_PEAK_KEYS = (("gpu_mem", "gpu"), ("rss", "cpu"))


@dataclass(frozen=True)
class RunFacts:
    name: str
    path: Path
    state: str
    model: str  # "" where run.yaml cannot be read
    method: str
    objective: str
    steps: int
    max_steps: int | None
    tokens: int | None  # tokens seen, as the last metrics line says
    final_loss: float | None
    best_eval_loss: float | None
    wall_s: float | None  # training wall time, idle time between a stop and its resume left out
    resumes: int
    peak_memory_bytes: int | None
    peak_memory_on: str | None  # "gpu" | "cpu"
    note: str = ""  # why something is missing (run.yaml not readable)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["path"] = str(self.path)
        return out


def run_facts(
    run: RunDir, records: Sequence[Mapping[str, Any]], now: float | None = None
) -> tuple[RunFacts, RunConfig | None]:
    """The run's facts and its config (None when run.yaml cannot be read: the note says why)."""
    config, note = _config(run)
    status = effective_status(run, now)
    ledger = run.read_ledger()
    resumed = [t for t in ledger.get("resumed", []) if isinstance(t, int | float)]
    peak, on = peak_memory(ledger.get("measured") or status.memory, records)
    facts = RunFacts(
        name=run.name,
        path=run.path,
        state=status.state,
        model=config.model if config else "",
        method=config.method if config else "",
        objective=config.objective if config else "",
        steps=status.step or _last(records, "step") or 0,
        max_steps=status.max_steps,
        tokens=_whole(_last(records, "tokens")),
        final_loss=_last(records, "loss"),
        best_eval_loss=_lowest(records, "eval_loss"),
        wall_s=wall_time(
            _start(ledger.get("started"), status.started), records, resumed, ledger.get("finished")
        ),
        resumes=len(resumed),
        peak_memory_bytes=peak,
        peak_memory_on=on,
        note=note,
    )
    return facts, config


def wall_time(
    started: float | None,
    records: Sequence[Mapping[str, Any]],
    resumed: Sequence[float],
    finished: Any = None,
) -> float | None:
    """From the first trainer's start to the run's end (or its last line), less each pause: from
    the last line before a resume to that resume (a stopped run may wait days to be resumed)."""
    times = sorted(t for r in records if (t := as_number(r.get("time"))) is not None)
    start = started if started else (times[0] if times else None)
    end = as_number(finished) or (times[-1] if times else None)
    if start is None or end is None or end < start:
        return None
    paused = 0.0
    for resume in resumed:
        before = [t for t in times if t <= resume]
        if before and before[-1] >= start:
            paused += resume - before[-1]
    return max(0.0, end - start - paused)


def peak_memory(
    measured: Mapping[str, object], records: Sequence[Mapping[str, Any]]
) -> tuple[int | None, str | None]:
    for key, on in PEAK_KEYS:
        value = as_number(measured.get(key))
        if value:
            return int(value), on
    for key, on in METRIC_PEAK_KEYS:
        values = [v for r in records if (v := as_number(r.get(key))) is not None]
        if values:
            return int(max(values)), on
    return None, None


def _config(run: RunDir) -> tuple[RunConfig | None, str]:
    try:
        return load_config(run.config_path), ""
    except UserError as err:
        return None, err.message.strip().splitlines()[0]


def _start(*values: Any) -> float | None:
    for value in values:
        number = as_number(value)
        if number:
            return number
    return None


def _last(records: Sequence[Mapping[str, Any]], key: str) -> Any:
    for record in reversed(records):
        value = as_number(record.get(key))
        if value is not None and math.isfinite(value):
            return int(value) if key == "step" else value
    return None


def _lowest(records: Sequence[Mapping[str, Any]], key: str) -> float | None:
    values = [v for r in records if (v := as_number(r.get(key))) is not None and math.isfinite(v)]
    return min(values) if values else None


def _whole(value: float | None) -> int | None:
    return None if value is None else int(value)
