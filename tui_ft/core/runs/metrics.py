"""What metrics.jsonl rows hold, as readers take them: one JSON object a line, written by the
trainer. See docs/run-directory.md. Pure Python."""

from __future__ import annotations

from typing import Any


def as_number(value: Any) -> float | None:
    """A metric as a float; a diverged one (NaN, or the string "nan" the trainer writes) stays
    NaN, and anything else that is not a number is None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
