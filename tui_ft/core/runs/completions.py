"""completions.jsonl: a few of the latest training step's sampled completions, each with every
reward function's score, for runs whose objective samples (grpo; docs/run-directory.md). The
trainer rewrites the file whole at each training log (engine/train/objectives/grpo_samples.py);
the monitor's completions panel reads it. Pure Python.

One line per completion: `{"step", "prompt", "completion", "scores", "reward"}`; `scores`
lists the reward functions' scores in the order run.yaml's `rewards:` lists them (null where
a function did not score it), `reward` is their weighted sum."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_ft.core.runs.metrics import as_number

SAMPLE_PROMPTS = 3  # prompts kept per step
SAMPLE_GROUP = 4  # completions kept of each prompt's group
MAX_TEXT = 1_000  # characters kept of a prompt or a completion
# A reader takes no more than this of the file: a file made elsewhere cannot flood the UI.
MAX_READ_BYTES = 256 * 1024
MAX_LINES = 4 * SAMPLE_PROMPTS * SAMPLE_GROUP


@dataclass(frozen=True)
class Sample:
    step: int
    prompt: str
    completion: str
    scores: tuple[float | None, ...]  # one per reward function, in `rewards:` order
    reward: float | None  # the weighted sum; None when no function scored it


def sample_records(
    step: int,
    prompts: Sequence[str],
    completions: Sequence[str],
    scores: Sequence[Sequence[float | None]],
    weights: Sequence[float],
) -> list[dict[str, Any]]:
    """The lines to write for one batch: the first SAMPLE_PROMPTS prompts (each repeated once
    per completion of its group, as GRPO batches them), up to SAMPLE_GROUP completions each.
    `scores[n]` are the nth reward function's scores of every completion."""
    records: list[dict[str, Any]] = []
    kept: dict[str, int] = {}
    for index, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
        if prompt not in kept and len(kept) == SAMPLE_PROMPTS:
            continue
        if kept.setdefault(prompt, 0) == SAMPLE_GROUP:
            continue
        kept[prompt] += 1
        mine = [_score(column[index]) for column in scores]
        records.append(
            {
                "step": step,
                "prompt": _cut(prompt),
                "completion": _cut(completion),
                "scores": mine,
                "reward": weighted_sum(mine, weights),
            }
        )
    return records


def weighted_sum(scores: Sequence[float | None], weights: Sequence[float]) -> float | None:
    """As GRPO sums them: a missing score counts as nothing; None when every one is missing."""
    given = [(s, w) for s, w in zip(scores, weights, strict=False) if s is not None]
    return sum(s * w for s, w in given) if given else None


def read_samples(path: Path) -> list[Sample]:
    """The samples in the file (none when it is missing); lines that do not parse are skipped."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_READ_BYTES)
    except OSError:
        return []
    samples = []
    for line in raw.decode("utf-8", errors="replace").splitlines()[:MAX_LINES]:
        sample = _sample(line)
        if sample is not None:
            samples.append(sample)
    return samples


def file_state(path: Path) -> tuple[int, int, int] | None:
    """What tells a rewritten file from the last one read (it is replaced, not appended to)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _sample(line: str) -> Sample | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    step = record.get("step") if isinstance(record, dict) else None
    scores = record.get("scores") if isinstance(record, dict) else None
    if not isinstance(step, int) or not isinstance(scores, list):
        return None
    return Sample(
        step=step,
        prompt=str(record.get("prompt", "")),
        completion=str(record.get("completion", "")),
        scores=tuple(_score(s) for s in scores),
        reward=_score(record.get("reward")),
    )


def _score(value: Any) -> float | None:
    number = as_number(value)
    return number if number is not None and math.isfinite(number) else None


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
