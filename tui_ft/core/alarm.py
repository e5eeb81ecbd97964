"""An alarm on the monitor's health line: what happened and what to do (core/runs/health.py
raises the common ones, objectives their own)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Alarm:
    kind: str  # "non-finite", "grad-spike", "overfitting", "throughput-drop", "stalled", …
    severity: str  # "error" or "warning"
    message: str
    hint: str = ""
    # Which event this is: a new key is a new alarm (the monitor rings the bell once per key).
    key: str = ""
