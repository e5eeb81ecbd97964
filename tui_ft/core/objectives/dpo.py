"""Direct preference optimization: the model learns to prefer the chosen answer of each pair over
the rejected one, measured against a frozen reference (the starting model), through TRL's
DPOTrainer. By default the chosen answers' likelihood is mixed in (`sft_weight`, TRL's
`loss_type: [sigmoid, sft]`): on the demo, DPO alone lowered the rejected answers without the
model ever writing the chosen style (0/10 held-out prompts); with the mix it did on 10/10."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tui_ft.core.objectives import preference as p
from tui_ft.core.objectives.preference_health import (
    AccuracyStuckAtHalf,
    LossZeroEarly,
    UnlearningBothAnswers,
)
from tui_ft.core.objectives.spec import MemoryNeeds, Objective, Setting

# TRL 1.16's DPOConfig.loss_type values; `sft` is `sft_weight`, mixed in beside the one chosen.
LOSS_TYPES = (
    "sigmoid",
    "ipo",
    "hinge",
    "robust",
    "exo_pair",
    "nca_pair",
    "bco_pair",
    "sppo_hard",
    "aot",
    "aot_unpaired",
    "apo_zero",
    "apo_down",
    "discopop",
    "sigmoid_norm",
)


def _memory(settings: Mapping[str, Any]) -> MemoryNeeds:
    # Chosen and rejected go through the model in one batch; full fine-tuning keeps a frozen
    # copy for the reference unless its log-probs are computed once beforehand.
    return MemoryNeeds(sequences_per_row=2, reference_model=not settings.get("precompute_ref"))


OBJECTIVE = Objective(
    name="dpo",
    title="DPO: prefer the chosen answer",
    sentences="Learns from pairs of answers to one prompt which to prefer, staying near the "
    "starting model. Needs preference pairs: a prompt with a chosen and a rejected answer.",
    engine="tui_ft.engine.train.objectives.dpo",
    formats=p.PAIR_FORMATS,
    settings=(
        p.beta(
            0.1,
            "How far the model may move from the starting one: lower moves further. 0.1 suits "
            "most runs.",
            "0.1 is usual, 0.01 to 0.5 the useful range",
        ),
        Setting(
            "loss_type",
            "sigmoid",
            "choice",
            "DPO loss",
            "sigmoid: the DPO paper's; ipo, robust and the others as TRL names them.",
            choices=LOSS_TYPES,
        ),
        p.sft_weight(
            1.0,
            "Weight of the chosen answers' likelihood mixed into the loss, so the model also "
            "learns to write them (0: pure DPO).",
        ),
        p.precompute_ref(),
    ),
    metrics=(*p.LOSSES, *p.REWARDS, *p.ACCURACY, *p.LOGPS),
    charts=(p.LOSS_CHART, p.REWARDS_CHART, p.MARGIN_CHART, p.ACCURACY_CHART, p.LOGPS_CHART),
    health_rules=lambda: [AccuracyStuckAtHalf(), UnlearningBothAnswers(), LossZeroEarly()],
    memory=_memory,
)
