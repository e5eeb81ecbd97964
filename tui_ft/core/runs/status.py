"""What status.json holds: a run's state, progress, heartbeat and error, read tolerantly. See
docs/run-directory.md. Pure Python; `layout` reads and writes the file, `liveness` judges it."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, TypedDict, cast

STATES = (
    "queued",
    "loading",
    "training",
    "evaluating",
    "saving",
    "completed",
    "stopped",
    "failed",
    "crashed",
)
ACTIVE_STATES = frozenset({"queued", "loading", "training", "evaluating", "saving"})
ERROR_KINDS = (
    "oom",
    "dataset",
    "model",
    "disk",
    "config",
    "checkpoint",
    "interrupted",
    "internal",
)


class RunMemory(TypedDict, total=False):
    """status.json's `memory`: the estimate at the start, the measured peak at the end (also
    ledger.json's `measured`)."""

    estimate_bytes: int | None  # the estimator's peak; None when it could not say
    peak_reserved_bytes: int  # on a GPU: torch's counters
    peak_allocated_bytes: int
    peak_rss_bytes: int  # on the CPU


@dataclass(frozen=True)
class RunError:
    kind: str  # one of ERROR_KINDS
    message: str  # one sentence
    hint: str = ""  # what to do next

    @classmethod
    def from_value(cls, value: Any) -> RunError | None:
        if isinstance(value, dict) and value.get("message"):
            return cls(
                kind=str(value.get("kind") or "internal"),
                message=str(value["message"]),
                hint=str(value.get("hint") or ""),
            )
        if isinstance(value, str) and value:
            return cls("internal", value)
        return None


@dataclass(frozen=True)
class Status:
    state: str
    pid: int | None = None
    host: str = ""
    started: float = 0.0
    updated: float = 0.0  # the heartbeat (time.time() of the writer)
    step: int = 0
    max_steps: int | None = None
    epoch: float = 0.0
    eta_s: float | None = None
    # The share of the run's wall time its extras took so far (core/runs/extras.py).
    extras_share: float | None = None
    error: RunError | None = None
    memory: RunMemory = field(default_factory=RunMemory)
    # Keys this version does not know, kept so that they survive a read-modify-write.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def to_dict(self) -> dict[str, Any]:
        known = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del known["extra"]
        known["error"] = dataclasses.asdict(self.error) if self.error else None
        known["memory"] = dict(self.memory)
        return {**self.extra, **known}

    @classmethod
    def from_dict(cls, data: Any) -> Status:
        """Tolerant: a missing or mistyped field takes its default."""
        data = data if isinstance(data, dict) else {}
        state = data.get("state")
        return cls(
            state=state if isinstance(state, str) and state else "queued",
            pid=_positive_int(data.get("pid")),
            host=str(data.get("host") or ""),
            started=finite_number(data.get("started")) or 0.0,
            updated=finite_number(data.get("updated")) or 0.0,
            step=int(finite_number(data.get("step")) or 0),
            max_steps=_positive_int(data.get("max_steps")),
            epoch=finite_number(data.get("epoch")) or 0.0,
            eta_s=finite_number(data.get("eta_s")),
            extras_share=finite_number(data.get("extras_share")),
            error=RunError.from_value(data.get("error")),
            memory=cast(
                RunMemory, dict(data["memory"]) if isinstance(data.get("memory"), dict) else {}
            ),
            extra={k: v for k, v in data.items() if k not in _STATUS_FIELDS},
        )


_STATUS_FIELDS = frozenset(f.name for f in dataclasses.fields(Status))


def finite_number(value: Any) -> float | None:
    """A JSON number that is finite, as a float; anything else (bools included) is None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _positive_int(value: Any) -> int | None:
    number = finite_number(value)
    return int(number) if number is not None and number >= 1 else None
