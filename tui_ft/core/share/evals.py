"""What a run's evaluations say, for its model card: benchmark scores base vs tuned, and answers
to the same prompts base vs tuned. Read tolerantly: `evals/` may be absent, hold files of another
version, or half-written ones; what cannot be read is left out, never an error.

- Benchmarks: `evals/*.json` objects with `{"tasks": {TASK: {"metric", "base", "tuned",
  "stderr"}}}` (`tui-ft eval`), the newest file's score for each task.
- Answers: the newest quick eval, `evals/*.jsonl` (`tui-ft chat RUN --eval`, a `meta` line then
  `row` lines with each side's `text`); without one, the probe answers of probes.jsonl at the
  first and the last step they were taken (the training's own "watch it learn").
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.layout import RunDir

EVALS = "evals"
MAX_ANSWERS = 8  # a card shows a few, not the whole eval
MAX_CHARS = 300  # of each answer


@dataclass(frozen=True)
class Score:
    task: str
    metric: str
    base: float | None
    tuned: float | None
    stderr: float | None


@dataclass(frozen=True)
class Answer:
    prompt: str
    before: str  # the base model's answer (or the first probe's)
    after: str  # the tuned model's


@dataclass(frozen=True)
class Answers:
    before_label: str  # "base model", "step 3"
    after_label: str
    source: str  # where they come from, in words
    rows: list[Answer]


def benchmark_scores(run: RunDir) -> list[Score]:
    """Each task once, from the newest file that scored it."""
    scores: dict[str, Score] = {}
    for path in sorted((run.path / EVALS).glob("*.json")):
        tasks = _read_json(path).get("tasks")
        if not isinstance(tasks, dict):
            continue
        for task, result in tasks.items():
            if isinstance(result, dict) and isinstance(result.get("metric", ""), str):
                scores[str(task)] = Score(
                    str(task),
                    str(result.get("metric") or "score"),
                    _number(result.get("base")),
                    _number(result.get("tuned")),
                    _number(result.get("stderr")),
                )
    return [s for s in scores.values() if s.base is not None or s.tuned is not None]


def answers(run: RunDir) -> Answers | None:
    return quick_eval_answers(run) or probe_answers(run)


def quick_eval_answers(run: RunDir) -> Answers | None:
    for path in sorted((run.path / EVALS).glob("*.jsonl"), reverse=True):
        rows = [
            Answer(str(r.get("prompt", "")), _text(r.get("base")), _text(r.get("tuned")))
            for r in read_jsonl(path)
            if r.get("type") == "row" and r.get("prompt")
        ]
        if rows:
            return Answers("base model", "tuned", f"the quick eval {path.name}", rows[:MAX_ANSWERS])
    return None


def probe_answers(run: RunDir) -> Answers | None:
    records = [
        r
        for r in read_jsonl(run.probes_path)
        if isinstance(r.get("step"), int) and isinstance(r.get("prompt"), str)
    ]
    if not records:
        return None
    first, last = min(r["step"] for r in records), max(r["step"] for r in records)
    at_first = {r["prompt"]: _clip(str(r.get("answer", ""))) for r in records if r["step"] == first}
    at_last = {r["prompt"]: _clip(str(r.get("answer", ""))) for r in records if r["step"] == last}
    rows = [Answer(p, at_first.get(p, ""), at_last[p]) for p in at_last][:MAX_ANSWERS]
    return Answers(f"step {first}", f"step {last}", "the probe answers taken during training", rows)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _text(side: Any) -> str:
    return _clip(str(side.get("text", ""))) if isinstance(side, dict) else ""


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"
