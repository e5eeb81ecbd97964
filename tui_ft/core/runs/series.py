"""The monitor's chart data: metrics.jsonl records turned into (step, value) series, each in a
bounded deque so that a long run cannot grow the UI without limit. Pure Python."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tui_ft.core.objectives import DEFAULT_OBJECTIVE, objective_named
from tui_ft.core.runs.metrics import as_number

MAX_POINTS = 10_000
GIB = float(1 << 30)
# The series every run has (an objective adds its metrics'), each the record key of its name.
# "memory" is special: the GPU's when there is one.
COMMON_SERIES = (
    "lr",
    "grad_norm",
    "tokens_per_s",
    "gpu_util",
)
MEMORY_KEYS = ("gpu_mem", "rss")  # bytes; torch's peak reserved on the GPU, else process RSS

Point = tuple[float, float]


class RunSeries:
    def __init__(self, max_points: int = MAX_POINTS, metrics: Iterable[str] | None = None) -> None:
        """`metrics`: the objective's metric keys (None: the default objective's)."""
        if metrics is None:
            metrics = [m.key for m in objective_named(DEFAULT_OBJECTIVE).metrics]
        self.keys = [*metrics, *COMMON_SERIES]
        names = [*self.keys, "memory"]
        self.points: dict[str, deque[Point]] = {n: deque(maxlen=max_points) for n in names}
        self.memory_key: str | None = None  # which of MEMORY_KEYS the memory series shows
        self.records = 0
        self.last: dict[str, Any] = {}  # the latest value of every key, as written

    def add(self, records: Iterable[Mapping[str, Any]]) -> set[str]:
        """Append new records; returns the names of the series that changed."""
        changed: set[str] = set()
        for record in records:
            self.records += 1
            self.last.update(record)
            step = as_number(record.get("step"))
            if step is None or not math.isfinite(step):
                continue
            for name in self.keys:
                if _append(self.points[name], step, record.get(name)):
                    changed.add(name)
            if self._add_memory(step, record):
                changed.add("memory")
        return changed

    def _add_memory(self, step: float, record: Mapping[str, Any]) -> bool:
        key = next((k for k in MEMORY_KEYS if k in record), None)
        if key is None:
            return False
        if key != self.memory_key:
            if self.memory_key == "gpu_mem":
                return False  # a record without the GPU's number: keep showing the GPU
            self.memory_key = key
            self.points["memory"].clear()  # RSS and GPU memory do not share an axis
        value = as_number(record.get(key))
        return _append(self.points["memory"], step, None if value is None else value / GIB)

    def xy(self, name: str) -> tuple[list[float], list[float]]:
        points = self.points[name]
        return [p[0] for p in points], [p[1] for p in points]


def _append(points: deque[Point], step: float, raw: Any) -> bool:
    value = as_number(raw)
    if value is None or not math.isfinite(value):
        return False  # NaN is the health line's business: a chart cannot draw it
    points.append((step, value))
    return True


def thin(xs: Sequence[float], ys: Sequence[float], limit: int) -> tuple[list[float], list[float]]:
    """At most about `limit` points, evenly spaced, the last one always kept: a chart `limit`
    cells wide cannot show more, and drawing fewer keeps a long run's redraw cheap."""
    if limit <= 0 or len(xs) <= limit:
        return list(xs), list(ys)
    stride = math.ceil(len(xs) / limit)
    keep = list(range(len(xs) - 1, -1, -stride))[::-1]
    return [xs[i] for i in keep], [ys[i] for i in keep]
