"""Runs in words: state labels, progress, loss and model names as `tui-ft runs` and the app show
them. Pure Python, so the CLI table and the app's runs screen cannot drift apart."""

from __future__ import annotations

import math
from pathlib import Path

from tui_ft.core.objectives import DEFAULT_OBJECTIVE
from tui_ft.core.runs.listing import RunSummary

NONE = "—"

# A mark before every state word: the state reads without colour (NO_COLOR, colour blindness).
STATE_MARKS = {
    "queued": "…",
    "loading": "…",
    "training": "▶",
    "evaluating": "▶",
    "saving": "▶",
    "completed": "✓",
    "stopped": "■",
    "failed": "✗",
    "crashed": "✗",
}
# Broad kinds of state, for stylesheets: each maps to one theme colour.
STATE_KINDS = {
    "queued": "waiting",
    "loading": "waiting",
    "training": "active",
    "evaluating": "active",
    "saving": "active",
    "completed": "done",
    "stopped": "stopped",
    "failed": "failed",
    "crashed": "failed",
}


def state_label(state: str) -> str:
    """'▶ training', '✗ failed': the word always, the mark as a second cue."""
    return f"{STATE_MARKS.get(state, '?')} {state}"


def state_kind(state: str) -> str:
    return STATE_KINDS.get(state, "waiting")


def progress_text(summary: RunSummary) -> str:
    status = summary.status
    if summary.progress is not None:
        total = f"{status.step}/{status.max_steps} " if status.max_steps else ""
        return f"{total}({summary.progress:.0%})" if total else f"{summary.progress:.0%}"
    if status.step:
        return f"step {status.step}"
    return NONE


def method_text(summary: RunSummary) -> str:
    """'lora', 'lora dpo', 'lora dpo ← sft-run-3': the objective when it is not the default,
    and the run it began from."""
    words = [summary.method or NONE]
    if summary.objective and summary.objective != DEFAULT_OBJECTIVE:
        words.append(summary.objective)
    if summary.start_from:
        words.append(f"← {summary.start_from}")
    return " ".join(words)


def loss_text(loss: float | None) -> str:
    if loss is None:
        return NONE
    return f"{loss:.4f}" if math.isfinite(loss) else str(loss)


def short_model(model: str) -> str:
    """A local path shows as its last part; `org/name` ids and `demo` as typed."""
    if model.startswith(("/", "~", ".")):
        return Path(model).name or model
    return model
