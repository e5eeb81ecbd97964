"""Odds-ratio preference optimization: supervised fine-tuning on the chosen answers plus a term
that raises their odds over the rejected ones', in one stage and without a reference model
(TRL's ORPOTrainer, trl.experimental)."""

from __future__ import annotations

from tui_ft.core.objectives import preference as p
from tui_ft.core.objectives.preference_health import AccuracyStuckAtHalf, UnlearningBothAnswers
from tui_ft.core.objectives.spec import Chart, ChartLine, MemoryNeeds, Objective

ODDS_CHART = Chart(
    "odds",
    "odds ratio",
    (
        ChartLine("log_odds_ratio", "log odds ratio (term)", "lr"),
        ChartLine("nll_loss", "chosen NLL", "loss"),
    ),
)

OBJECTIVE = Objective(
    name="orpo",
    title="ORPO: learn the chosen answers, against the rejected",
    sentences="Learns to write the chosen answers while making the rejected ones less likely, "
    "in one stage from the base model and with no reference model. Needs preference pairs: a "
    "prompt with a chosen and a rejected answer.",
    engine="tui_ft.engine.train.objectives.orpo",
    formats=p.PAIR_FORMATS,
    batchings=p.BATCHINGS,
    settings=(
        p.beta(
            0.1,
            "Weight of the odds-ratio term beside the chosen answers' likelihood (the paper's "
            "lambda). 0.1 suits most runs.",
            "0.1 is usual, 0.05 to 0.5 the useful range",
        ),
    ),
    metrics=(
        *p.LOSSES,
        *p.REWARDS,
        *p.ACCURACY,
        *p.LOGPS,
        *p.NLL,
        *p.pair("log_odds_ratio", "log_odds_ratio"),
    ),
    # Its rewards are β × the log-probs: the log-probs' chart shows them.
    charts=(p.LOSS_CHART, ODDS_CHART, p.ACCURACY_CHART, p.LOGPS_CHART),
    health_rules=lambda _settings: [AccuracyStuckAtHalf(), UnlearningBothAnswers()],
    memory=lambda _: MemoryNeeds(sequences_per_row=2),
)
