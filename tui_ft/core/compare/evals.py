"""A run's evaluation results (`tui-ft eval`, saved under the run's evals/), read in this one
function so that the format has one reader here.

Two shapes are read: `tui-ft eval --json`'s, an object whose `tasks` maps each task to
`{"metric": NAME, "base": float, "tuned": float, "stderr": …}` (`stderr` a number, or one per
side), and the saved `evals/<stamp>/result.json`, read by the evaluation store's own reader
(`EvalReport.from_dict`), which passes a damaged one over whole. Files in evals/ and one folder
down are read; other files there (the harness's own output, the quick eval's .jsonl and .md
tables) lack both shapes and are passed over, as are files that cannot be read. Where several files score a task,
the newest wins. A run never evaluated has none: {}.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_ft.core.errors import UserError
from tui_ft.core.evals.report import EvalReport
from tui_ft.core.runs.layout import RunDir

EVALS = "evals"


@dataclass(frozen=True)
class EvalScore:
    task: str
    metric: str
    base: float | None
    tuned: float | None
    stderr: float | None  # the tuned side's, when the file gives one per side
    file: str  # where it was read, relative to the run's folder

    @property
    def delta(self) -> float | None:
        if self.base is None or self.tuned is None:
            return None
        return self.tuned - self.base

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "base": self.base,
            "tuned": self.tuned,
            "delta": self.delta,
            "stderr": self.stderr,
            "file": self.file,
        }


def eval_results(run: RunDir) -> dict[str, EvalScore]:
    """task -> its newest score, tasks in name order."""
    folder = run.path / EVALS
    try:
        files = [*folder.glob("*.json"), *folder.glob("*/*.json")]
    except OSError:
        return {}
    newest: dict[str, tuple[float, EvalScore]] = {}
    for path in files:
        when = _mtime(path)
        for score in _scores(path, run.path):
            if score.task not in newest or when >= newest[score.task][0]:
                newest[score.task] = (when, score)
    return {task: newest[task][1] for task in sorted(newest)}


def _scores(path: Path, root: Path) -> list[EvalScore]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    tasks = data.get("tasks") if isinstance(data, dict) else None
    where = str(path.relative_to(root))
    if isinstance(tasks, list):  # result.json: read as the evaluation store reads it
        try:
            report = EvalReport.from_dict(data, where)
        except UserError:
            return []
        return [
            EvalScore(s.task, s.metric, s.base, s.tuned, s.tuned_stderr, where)
            for s in report.tasks
        ]
    if not isinstance(tasks, dict):
        return []
    scores = []
    for task, entry in tasks.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("metric"), str):
            continue
        base, tuned = _number(entry.get("base")), _number(entry.get("tuned"))
        if task is None or (base is None and tuned is None):
            continue
        scores.append(EvalScore(str(task), entry["metric"], base, tuned, _stderr(entry), where))
    return scores


def _stderr(entry: dict[str, Any]) -> float | None:
    """The tuned side's: `stderr` is a number, or one per side."""
    value = entry.get("stderr")
    if isinstance(value, dict):
        return _number(value.get("tuned"))
    return _number(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
