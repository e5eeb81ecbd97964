"""The forgetting alarm: a task on which the tuned model scores worse than its base by more than
chance explains. Chance is the two scores' combined standard error (each side's, as the harness
reports it, added in quadrature); a set margin on top keeps tiny, real but harmless drops
quiet. A task without a standard error (a handful of questions) is judged by the margin alone."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from tui_ft.core.evals.report import TaskScore
from tui_ft.core.evals.store import standing_scores

MARGIN = 0.02  # on a 0-1 score: two questions in a hundred


def combined_stderr(score: TaskScore) -> float:
    errors = [e for e in (score.base_stderr, score.tuned_stderr) if e is not None]
    return math.sqrt(sum(e * e for e in errors if math.isfinite(e)))


def drop(score: TaskScore) -> float:
    """How much worse tuned is than base, in the metric's units (negative: better)."""
    change = score.tuned - score.base
    return -change if score.higher_is_better else change


def forgot(score: TaskScore, margin: float = MARGIN) -> bool:
    if not score.checks_forgetting:
        return False
    return drop(score) > combined_stderr(score) + margin


def forgotten(scores: Sequence[TaskScore], margin: float = MARGIN) -> list[TaskScore]:
    """The scores (an evaluation's, or a run's standing ones) that dropped."""
    return [score for score in scores if forgot(score, margin)]


def alarm_sentence(scores: Sequence[TaskScore], margin: float = MARGIN) -> str:
    """One sentence naming each task that dropped; empty when none did."""
    dropped = forgotten(scores, margin)
    if not dropped:
        return ""
    parts = [
        f"{s.task} {s.metric} {s.base:.3f} → {s.tuned:.3f} (±{combined_stderr(s):.3f})"
        for s in dropped
    ]
    return "Forgetting: the tuned model fell below its base on " + "; ".join(parts) + "."


def run_forgotten(run_path: Path, margin: float = MARGIN) -> list[str] | None:
    """The tasks the run's standing scores flag (store.standing_scores: each task's newest);
    None when it was never evaluated. `tui-ft runs --json` and `tui-ft compare` give these."""
    scores = standing_scores(run_path)
    return None if scores is None else [score.task for score in forgotten(scores, margin)]


def run_alarm(run_path: Path, margin: float = MARGIN) -> str:
    """The alarm on the run's standing scores (the monitor and `tui-ft runs` show it)."""
    scores = standing_scores(run_path)
    return "" if scores is None else alarm_sentence(scores, margin)
