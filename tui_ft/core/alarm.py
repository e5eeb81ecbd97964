"""An alarm on the monitor's health line: what happened and what to do (core/runs/health.py
raises the common ones, objectives their own)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Alarm:
    kind: str  # "non-finite", "grad-spike", "overfitting", "throughput-drop", "stalled", …
    severity: str  # "error" or "warning"
    message: str
    hint: str = ""
    # Which event this is: a new key is a new alarm (the monitor rings the bell once per key).
    key: str = ""


def metric_value(record: Mapping[str, Any], key: str) -> float | None:
    """A metrics record's number at `key`, for an objective's rules; None when absent or not a
    finite number (a diverged value is written as text: the common rules alarm on that)."""
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
