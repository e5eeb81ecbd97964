"""What metrics.jsonl rows hold: one JSON object a line, written by the trainer
(tui_ft.engine.train.callback), read by the monitor, `tui-ft runs` and `tui-ft train`. See
docs/run-directory.md. Pure Python."""

from __future__ import annotations

from typing import Any, TypedDict, cast


class MetricsRow(TypedDict, total=False):
    """The keys the trainer writes for every run, and the losses. The trainer leaves a key whose
    value it does not know (None here) out of the line, and writes a diverged float as "nan" or
    "inf" (JSON has no NaN). An objective adds its own keys (Objective.metrics): readers that
    chart or judge any key (series, health) take a Mapping, so those reach them too; every
    value goes through `as_number`."""

    step: int
    epoch: float
    # Objective metrics, but every TRL trainer logs them and `tui-ft runs` shows the last loss.
    loss: float | str | None  # training lines
    eval_loss: float | str | None  # evaluation lines
    lr: float | None
    grad_norm: float | str | None
    tokens: int  # input tokens seen so far
    tokens_per_s: float | None  # training lines
    rss: int  # bytes, the trainer's resident memory now
    gpu_mem: int  # on a GPU: torch's peak reserved bytes so far
    gpu_mem_allocated: int
    gpu_util: float | None  # percent, as NVML reports it
    time: float


def as_rows(records: list[dict[str, Any]]) -> list[MetricsRow]:
    """Lines read from metrics.jsonl, as rows: the trainer wrote them, and a reader still
    passes each value through `as_number`."""
    return cast(list[MetricsRow], records)


def as_number(value: Any) -> float | None:
    """A metric as a float; a diverged one (NaN, or the string "nan" the trainer writes) stays
    NaN, and anything else that is not a number is None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
