"""A run's loss and eval-loss curves from metrics.jsonl, each point with its step and the
tokens seen by then: runs with different batch sizes or lengths line up by tokens, not steps.
A diverged value ("nan", "inf") is left out, as the monitor's charts leave it out."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tui_ft.core.runs.metrics import as_number

CURVES = ("loss", "eval_loss")
AXES = ("step", "tokens")


@dataclass(frozen=True)
class Point:
    step: int
    tokens: int | None  # None: the line did not say (an older trainer)
    value: float

    def x(self, axis: str) -> float | None:
        return float(self.step) if axis == "step" else _float(self.tokens)

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "tokens": self.tokens, "value": self.value}


def curves(records: Iterable[Mapping[str, Any]]) -> dict[str, list[Point]]:
    """{"loss": [...], "eval_loss": [...]}, in the order the trainer wrote them."""
    out: dict[str, list[Point]] = {name: [] for name in CURVES}
    # A line without `tokens` (an older trainer's evaluation line) takes the tokens another
    # line of its step gave.
    seen: dict[int, int] = {}
    for record in records:
        step = as_number(record.get("step"))
        if step is None or not math.isfinite(step):
            continue
        tokens = _whole(as_number(record.get("tokens")))
        if tokens is None:
            tokens = seen.get(int(step))
        else:
            seen[int(step)] = tokens
        for name in CURVES:
            value = as_number(record.get(name))
            if value is not None and math.isfinite(value):
                out[name].append(Point(int(step), tokens, value))
    return out


def xy(points: Iterable[Point], axis: str) -> tuple[list[float], list[float]]:
    """The points a chart draws against `axis` (step or tokens); points without it are left out."""
    xs: list[float] = []
    ys: list[float] = []
    for point in points:
        x = point.x(axis)
        if x is not None:
            xs.append(x)
            ys.append(point.value)
    return xs, ys


def _whole(value: float | None) -> int | None:
    return None if value is None or not math.isfinite(value) else int(value)


def _float(value: int | None) -> float | None:
    return None if value is None else float(value)
