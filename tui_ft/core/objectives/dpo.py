"""Direct preference optimization: the model learns to prefer the chosen answer of each pair over
the rejected one, measured against a frozen reference (the starting model), through TRL's
DPOTrainer. By default the chosen answers' likelihood is mixed in (`sft_weight`, TRL's
`loss_type: [sigmoid, sft]`): on the demo, DPO alone lowered the rejected answers without the
model ever writing the chosen style (0/10 held-out prompts); with the mix it did on 10/10."""

from __future__ import annotations

from tui_ft.core.objectives import preference as p
from tui_ft.core.objectives.preference_health import (
    AccuracyStuckAtHalf,
    LossZeroEarly,
    UnlearningBothAnswers,
)
from tui_ft.core.objectives.spec import Objective, Setting

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


OBJECTIVE = Objective(
    name="dpo",
    title="DPO: prefer the chosen answer",
    sentences="Learns from pairs of answers to one prompt which to prefer, staying near the "
    "starting model. Needs preference pairs: a prompt with a chosen and a rejected answer.",
    engine="tui_ft.engine.train.objectives.dpo",
    formats=p.PAIR_FORMATS,
    batchings=p.BATCHINGS,
    settings=(
        p.REFERENCE_BETA,
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
    charts=(p.LOSS_CHART, p.REWARDS_CHART, p.ACCURACY_CHART, p.LOGPS_CHART),
    health_rules=lambda _settings: [
        AccuracyStuckAtHalf(),
        UnlearningBothAnswers(),
        LossZeroEarly(),
    ],
    # Chosen and rejected go through the model in one batch.
    memory=p.with_reference(2),
)
