"""The health line's alarms for GRPO runs, as rules over metrics.jsonl records: no learning
signal (every group's completions scored alike), every completion clipped at
max_completion_length, one reward function making nearly all the difference between
completions, and the KL to the starting model running away.

Not an objective itself (core/objectives/__init__.py skips this module)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from tui_ft.core.alarm import Alarm, metric_value

# Consecutive training logs a condition must hold before it is an alarm: one batch of prompts
# may all be too hard (or too easy), a run of them is the run.
WINDOW = 5
# Dominating: one function's spread (std of its scores) is this share of all functions' spread.
DOMINANT_SHARE = 0.9
# Running away: the KL above KL_HIGH and higher in each of the last WINDOW logs.
KL_HIGH = 1.0
REWARD_KEYS = tuple(f"reward_{n}" for n in range(1, 7))


class _Streak:
    """The steps of the latest unbroken run of logs where a condition held."""

    def __init__(self) -> None:
        self.steps: list[int] = []

    def mark(self, held: bool, step: int) -> None:
        self.steps = [*self.steps, step] if held else []

    @property
    def since(self) -> int | None:
        return self.steps[0] if len(self.steps) >= WINDOW else None


class NoLearningSignal:
    """Every group's completions got the same reward: their advantages are all 0, so the model
    is not learning anything."""

    def __init__(self) -> None:
        self.streak = _Streak()

    def feed(self, record: Mapping[str, Any], step: int) -> None:
        share = metric_value(record, "reward_zero_std")
        if share is not None:
            self.streak.mark(share >= 1.0, step)

    def alarm(self) -> Alarm | None:
        since = self.streak.since
        if since is None:
            return None
        return Alarm(
            "grpo-no-signal",
            "warning",
            f"since step {since}, every prompt's completions have scored the same reward: "
            "with nothing to tell them apart, GRPO has no learning signal.",
            "Make the rewards tell completions apart (partial credit, a format reward the model "
            "can already half meet), raise temperature or num_generations, or use easier "
            "prompts; the per-reward chart shows which reward never changes.",
            key=f"grpo-no-signal:{since}",
        )


class WholeGroupsClipped:
    """Every completion ran into max_completion_length: none finishes, so format and answer
    rewards cannot fire."""

    def __init__(self) -> None:
        self.streak = _Streak()

    def feed(self, record: Mapping[str, Any], step: int) -> None:
        clipped = metric_value(record, "clipped")
        if clipped is not None:
            self.streak.mark(clipped >= 1.0, step)

    def alarm(self) -> Alarm | None:
        since = self.streak.since
        if since is None:
            return None
        return Alarm(
            "grpo-all-clipped",
            "warning",
            f"since step {since}, every completion was cut at max_completion_length: none "
            "finishes, so rewards on the end of an answer (its format, its result) cannot fire.",
            "Raise max_completion_length, ask for a shorter answer in the prompt or system "
            "prompt, or add a `length` reward to teach the model to stop.",
            key=f"grpo-all-clipped:{since}",
        )


class OneRewardDominates:
    """One reward function makes nearly all the spread between completions (before weights):
    the others barely steer what the model learns."""

    def __init__(self, labels: Sequence[str] = ()) -> None:
        self.labels = labels  # the rewards' names, as run.yaml gives them (reward_labels)
        self.streak = _Streak()
        self.leader: int | None = None
        self.shares: list[float] = []

    def feed(self, record: Mapping[str, Any], step: int) -> None:
        spreads = [
            (number, value)
            for number, key in enumerate(REWARD_KEYS, start=1)
            if (value := metric_value(record, f"{key}_std")) is not None
        ]
        total = sum(value for _, value in spreads)
        if len(spreads) < 2 or total <= 0:
            return  # one reward, or none varied: nothing to dominate (NoLearningSignal's case)
        number, top = max(spreads, key=lambda item: item[1])
        held = top / total >= DOMINANT_SHARE
        if number != self.leader:
            self.streak.mark(False, step)
            self.shares = []
        self.streak.mark(held, step)
        self.shares = [*self.shares, top / total] if held else []
        self.leader = number if held else None

    def alarm(self) -> Alarm | None:
        since = self.streak.since
        if since is None or self.leader is None:
            return None
        share = statistics.fmean(self.shares)
        name = self._name(self.leader)
        return Alarm(
            "grpo-one-reward",
            "warning",
            f"since step {since}, {name} has made {share:.0%} of the difference between "
            "completions: the other rewards barely steer what the model learns.",
            f"Lower {name}'s weight, or make the others tell completions apart "
            "(partial credit rather than all or nothing).",
            key=f"grpo-one-reward:{since}",
        )

    def _name(self, number: int) -> str:
        if number <= len(self.labels):
            return f"the {self.labels[number - 1]} reward"
        return f"reward {number}"


class KlRunningAway:
    """The KL to the starting model high and climbing every log: the policy is drifting away,
    usually gaming a reward."""

    def __init__(self) -> None:
        self.streak = _Streak()
        self.last: float | None = None

    def feed(self, record: Mapping[str, Any], step: int) -> None:
        kl = metric_value(record, "kl")
        if kl is None:
            return
        rising = self.last is not None and kl > self.last
        self.streak.mark(kl > KL_HIGH and (rising or not self.streak.steps), step)
        self.last = kl

    def alarm(self) -> Alarm | None:
        since = self.streak.since
        if since is None or self.last is None:
            return None
        return Alarm(
            "grpo-kl-runaway",
            "warning",
            f"the KL to the starting model has climbed every log since step {since}, to "
            f"{self.last:.2f}: the model is drifting far from where it started, often by gaming "
            "a reward.",
            "Raise beta to hold it nearer, lower the learning rate, and read a few completions: "
            "a reward that pays for the wrong thing shows there first.",
            key=f"grpo-kl-runaway:{since}",
        )
