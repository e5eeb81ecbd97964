"""The health line's alarms for preference runs, as rules over metrics.jsonl records: the reward
accuracy stuck at a coin toss, the margin growing while the chosen answers get less likely (the
model unlearning both answers), and a loss near 0 from the start (data too easy, or leaked).

Not an objective itself (core/objectives/__init__.py skips this module)."""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Mapping
from typing import Any

from tui_ft.core.alarm import Alarm, metric_value

# Stuck: the mean reward accuracy of the last STUCK_WINDOW training logs within STUCK_BAND of
# 0.5, once there are that many (the first logs are 0: policy and reference are one model).
STUCK_WINDOW = 10
STUCK_BAND = 0.1
# Unlearning: the chosen answers' log-probability fell by UNLEARN_SHARE of its first value
# (mean of the first EDGE logs against the last EDGE) while the margin grew.
UNLEARN_SHARE = 0.25
EDGE = 3
# Too easy: a training loss at or below EASY_LOSS within the first EARLY_LOGS logs.
EASY_LOSS = 0.01
EARLY_LOGS = 10


class AccuracyStuckAtHalf:
    """The model prefers the chosen answer no more often than a coin toss."""

    def __init__(self) -> None:
        self.recent: deque[tuple[int, float]] = deque(maxlen=STUCK_WINDOW)

    def feed(self, record: Mapping[str, Any], step: int) -> None:
        accuracy = metric_value(record, "reward_accuracy")
        if accuracy is not None:
            self.recent.append((step, accuracy))

    def alarm(self) -> Alarm | None:
        if len(self.recent) < STUCK_WINDOW:
            return None
        mean = statistics.fmean(accuracy for _, accuracy in self.recent)
        if abs(mean - 0.5) > STUCK_BAND:
            return None
        since = self.recent[0][0]
        return Alarm(
            "preference-stuck",
            "warning",
            f"reward accuracy has averaged {mean:.2f} since step {since}: the model prefers the "
            "chosen answers no more often than a coin toss, so it is not learning the preference.",
            "Raise the learning rate (with LoRA, 2e-4 is usual), train longer, or check that the "
            "chosen and rejected answers really differ in the way you want taught.",
            key=f"preference-stuck:{since}",
        )


class UnlearningBothAnswers:
    """The margin grows because both answers get less likely, the rejected faster: a known DPO
    failure that leaves the model worse at the chosen answers too."""

    def __init__(self) -> None:
        self.chosen: list[tuple[int, float]] = []
        self.margins: list[float] = []

    def feed(self, record: Mapping[str, Any], step: int) -> None:
        chosen = metric_value(record, "logps_chosen")
        margin = metric_value(record, "reward_margin")
        if chosen is not None and margin is not None:
            self.chosen.append((step, chosen))
            self.margins.append(margin)

    def alarm(self) -> Alarm | None:
        if len(self.chosen) < 2 * EDGE:
            return None
        first = statistics.fmean(value for _, value in self.chosen[:EDGE])
        last = statistics.fmean(value for _, value in self.chosen[-EDGE:])
        grew = statistics.fmean(self.margins[-EDGE:]) > max(0.0, *self.margins[:EDGE])
        if not grew or last >= first - UNLEARN_SHARE * abs(first):
            return None
        since = self.chosen[0][0]
        return Alarm(
            "unlearning",
            "warning",
            f"the chosen answers' log-probability fell from {first:.1f} to {last:.1f} while the "
            "margin grew: the model is pushing both answers down, unlearning the chosen ones too.",
            "Mix in the chosen answers' likelihood (sft_weight: 1.0), lower the learning rate, "
            "or raise beta to keep the model nearer the reference.",
            key=f"unlearning:{since}",
        )


class LossZeroEarly:
    """A preference loss at ~0 from the first logs: nothing left to learn, which real
    preferences rarely allow."""

    def __init__(self) -> None:
        self.logs = 0
        self.hit: tuple[int, float] | None = None

    def feed(self, record: Mapping[str, Any], step: int) -> None:
        loss = metric_value(record, "loss")
        if loss is None:
            return
        self.logs += 1
        if self.hit is None and self.logs <= EARLY_LOGS and loss <= EASY_LOSS:
            self.hit = (step, loss)

    def alarm(self) -> Alarm | None:
        if self.hit is None:
            return None
        step, loss = self.hit
        return Alarm(
            "preference-too-easy",
            "warning",
            f"the loss was {loss:.2g} at step {step}, near 0 from the start: the chosen and "
            "rejected answers are told apart without learning anything.",
            "Check the data: rejected answers that are empty, truncated or marked in a way the "
            "model sees at once (a fixed phrase, a length gap), or chosen answers leaked into "
            "the prompts. Harder rejected answers teach more.",
            key=f"preference-too-easy:{step}",
        )
