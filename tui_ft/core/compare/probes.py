"""Probe answers side by side: at the steps every run answered (same prompt, same step), and
each run's last answers, which line up even when the runs evaluated at different steps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tui_ft.core.runs.metrics import as_number


@dataclass(frozen=True)
class ProbeRow:
    step: int | None  # None: each run's last evaluation (its step is in `steps`)
    prompt: str
    answers: dict[str, str]  # run -> answer
    steps: dict[str, int]  # run -> the step it answered at

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "prompt": self.prompt,
            "answers": self.answers,
            "steps": self.steps,
        }


Answers = dict[int, dict[str, str]]  # step -> prompt -> answer


def answers_by_step(records: Iterable[Mapping[str, Any]]) -> Answers:
    out: Answers = {}
    for record in records:
        step = as_number(record.get("step"))
        prompt, answer = record.get("prompt"), record.get("answer")
        if step is None or not isinstance(prompt, str) or not isinstance(answer, str):
            continue
        out.setdefault(int(step), {})[prompt] = answer
    return out


def matching_rows(by_run: Mapping[str, Answers]) -> list[ProbeRow]:
    """Every (step, prompt) all runs answered, step by step."""
    if not by_run:
        return []
    steps = set.intersection(*(set(answers) for answers in by_run.values()))
    rows: list[ProbeRow] = []
    for step in sorted(steps):
        for prompt in _common_prompts([answers[step] for answers in by_run.values()]):
            rows.append(
                ProbeRow(
                    step,
                    prompt,
                    {run: answers[step][prompt] for run, answers in by_run.items()},
                    dict.fromkeys(by_run, step),
                )
            )
    return rows


def last_rows(by_run: Mapping[str, Answers]) -> list[ProbeRow]:
    """Each run's last evaluation, for the prompts all of them answered there."""
    if not by_run or not all(by_run.values()):
        return []
    last = {run: max(answers) for run, answers in by_run.items()}
    prompts = _common_prompts([by_run[run][step] for run, step in last.items()])
    return [
        ProbeRow(None, prompt, {run: by_run[run][step][prompt] for run, step in last.items()}, last)
        for prompt in prompts
    ]


def _common_prompts(answer_sets: list[dict[str, str]]) -> list[str]:
    """The prompts in every set, in the first set's order (the order the run asked them)."""
    first, *rest = answer_sets
    return [p for p in first if all(p in other for other in rest)]
