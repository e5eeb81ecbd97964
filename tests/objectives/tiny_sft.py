"""A test objective that lives only in the tests, written by following docs/architecture.md
"Adding an objective" literally: supervised fine-tuning with a choice of TRL's SFT losses and a
gradient clip, its token accuracy written, charted and watched. Registered through
$TUI_FT_OBJECTIVES, so no file of the package names it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tui_ft.core.alarm import Alarm
from tui_ft.core.objectives.spec import Chart, ChartLine, Metric, Objective, Setting

STUCK_LOGS = 3  # logs in a row with no token right before the alarm


def _clip_check(value: Any) -> str | None:
    if value <= 0:
        return f"clip must be above 0 (it is {value}); 1.0 is the usual gradient clip."
    return None


class AccuracyStuckAtZero:
    """Alarms when the model got no token right for STUCK_LOGS logs in a row."""

    def __init__(self) -> None:
        self.zeros = 0
        self.since = 0

    def feed(self, record: Mapping[str, Any], step: int) -> None:
        accuracy = record.get("token_accuracy")
        if not isinstance(accuracy, int | float):
            return
        if accuracy > 0:
            self.zeros = 0
            return
        if self.zeros == 0:
            self.since = step
        self.zeros += 1

    def alarm(self) -> Alarm | None:
        if self.zeros < STUCK_LOGS:
            return None
        return Alarm(
            "accuracy-stuck",
            "warning",
            f"token accuracy has been 0 since step {self.since}.",
            "Raise the learning rate or check the dataset's answers.",
            key=f"accuracy-stuck:{self.since}",
        )


OBJECTIVE = Objective(
    name="tiny_sft",
    title="Tiny SFT (a test objective)",
    sentences="Supervised fine-tuning with a choice of loss and a gradient clip. It exists to "
    "show that an objective plugs in without touching the package.",
    engine="tests.objectives.tiny_sft_trainer",
    formats=("prompt_completion", "messages"),
    settings=(
        Setting(
            "sft_loss",
            "nll",
            "choice",
            "SFT loss",
            "nll: plain cross-entropy; dft: each token's loss weighted by its probability.",
            choices=("nll", "dft"),
        ),
        Setting("clip", 1.0, "float", "Gradient clip", "Largest gradient norm.", check=_clip_check),
    ),
    metrics=(
        Metric("loss", "loss"),
        Metric("eval_loss", "eval_loss"),
        Metric("token_accuracy", "mean_token_accuracy"),
    ),
    charts=(
        Chart("loss", "loss", (ChartLine("loss", "loss", "loss"),)),
        Chart("accuracy", "accuracy", (ChartLine("token_accuracy", "token accuracy", "lr"),)),
    ),
    health_rules=lambda _settings: [AccuracyStuckAtZero()],
)
