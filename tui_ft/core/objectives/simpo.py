"""Simple preference optimization: like DPO, but the reward is each answer's average per-token
log-probability, with a target margin `gamma` and no reference model (TRL's CPOTrainer with the
SimPO loss, trl.experimental). The chosen answers' likelihood is mixed in by default
(`sft_weight`, TRL's `cpo_alpha`: CPO-SimPO), for the reason DPO mixes it in (dpo.py)."""

from __future__ import annotations

from tui_ft.core.objectives import preference as p
from tui_ft.core.objectives.preference_health import (
    AccuracyStuckAtHalf,
    LossZeroEarly,
    UnlearningBothAnswers,
)
from tui_ft.core.objectives.spec import MemoryNeeds, Objective, Setting

OBJECTIVE = Objective(
    name="simpo",
    title="SimPO: prefer the chosen answer, no reference",
    sentences="Learns from pairs of answers which to prefer, by their average per-token "
    "likelihood and with no reference model (lighter than DPO). Needs preference pairs: a "
    "prompt with a chosen and a rejected answer.",
    engine="tui_ft.engine.train.objectives.simpo",
    formats=p.PAIR_FORMATS,
    batchings=p.BATCHINGS,
    settings=(
        p.beta(
            2.0,
            "Scale of the reward (average log-probability per token). The paper's 2.0 suits "
            "most runs.",
            "2.0 to 2.5 is usual",
        ),
        Setting(
            "gamma",
            0.5,
            "float",
            "Target margin",
            "How far the chosen answer's reward should lead the rejected one's.",
            check=p.not_negative("gamma", "0.5 is usual, 0 to 1.6 the useful range"),
        ),
        p.sft_weight(
            1.0,
            "Weight of the chosen answers' likelihood mixed into the loss, so the model also "
            "learns to write them (0: pure SimPO).",
        ),
    ),
    metrics=(*p.LOSSES, *p.REWARDS, *p.ACCURACY, *p.LOGPS, *p.NLL),
    charts=(p.LOSS_CHART, p.REWARDS_CHART, p.ACCURACY_CHART, p.LOGPS_CHART),
    health_rules=lambda _settings: [
        AccuracyStuckAtHalf(),
        UnlearningBothAnswers(),
        LossZeroEarly(),
    ],
    memory=lambda _: MemoryNeeds(sequences_per_row=2),
)
