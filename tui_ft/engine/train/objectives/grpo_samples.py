"""The completions panel's data: the latest training batch's prompts, completions and every
reward function's scores, caught where the run's reward functions see them (grpo_rewards.py
hands each call to a `SampleRecorder`), and written to completions.jsonl at each training log
(core/runs/completions.py says what the file holds)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from transformers import TrainerCallback

from tui_ft.core.rewards.builtins import completion_text, prompt_text
from tui_ft.core.runs.completions import sample_records
from tui_ft.core.runs.layout import RunDir


class SampleRecorder:
    """What the reward functions scored last while training (evaluation batches are left out:
    the panel shows what the model learns from)."""

    def __init__(self, weights: Sequence[float], training: Callable[[], bool]) -> None:
        self.weights = list(weights)
        self.training = training
        self.completions: list[Any] | None = None  # the batch's own list: TRL hands every
        # reward function the same one, which tells a new batch from the next function's call
        self.prompt_texts: list[str] = []
        self.completion_texts: list[str] = []
        self.scores: list[list[float | None]] = []

    def record(
        self, number: int, prompts: list[Any], completions: list[Any], scores: list[Any]
    ) -> None:
        """Reward `number` (from 1) gave `scores` to `completions`."""
        if not self.training():
            return
        if completions is not self.completions:
            self.completions = completions
            self.prompt_texts = [prompt_text(p) for p in prompts]
            self.completion_texts = [completion_text(c) for c in completions]
            self.scores = [[None] * len(completions) for _ in self.weights]
        self.scores[number - 1] = [None if s is None else float(s) for s in scores]

    def records(self, step: int) -> list[dict[str, Any]]:
        if self.completions is None:
            return []
        return sample_records(
            step, self.prompt_texts, self.completion_texts, self.scores, self.weights
        )


class SamplesCallback(TrainerCallback):
    """Rewrites completions.jsonl at each training log (the first process only)."""

    def __init__(self, run: RunDir, recorder: SampleRecorder) -> None:
        self.run = run
        self.recorder = recorder

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any
    ) -> None:
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return  # an evaluation's or the end-of-training line: no new training batch
        records = self.recorder.records(state.global_step)
        if records:
            self.run.write_completions(records)
