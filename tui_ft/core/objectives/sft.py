"""Supervised fine-tuning: the model learns to write the dataset's answers (next-token
cross-entropy on the assistant's tokens). The default objective."""

from __future__ import annotations

from tui_ft.core.objectives.spec import Chart, ChartLine, MemoryNeeds, Metric, Objective

OBJECTIVE = Objective(
    name="sft",
    title="Supervised fine-tuning",
    sentences="Learns to write the dataset's answers, token by token: demonstrations of what "
    "the model should say. The usual first step, and the base of the preference objectives.",
    engine="tui_ft.engine.train.objectives.sft",
    formats=("alpaca", "sharegpt", "messages", "prompt_completion", "text"),
    metrics=(Metric("loss", "loss"), Metric("eval_loss", "eval_loss")),
    memory=lambda _: MemoryNeeds(kept_logits=True),
    charts=(
        Chart(
            "loss",
            "loss",
            (
                ChartLine("loss", "loss", "loss"),
                ChartLine("eval_loss", "eval loss", "eval-loss", points="●"),
            ),
        ),
    ),
)
