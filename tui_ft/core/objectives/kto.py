"""Kahneman-Tversky optimization: each answer is labelled good or bad on its own, no pairs
needed; the model makes the good ones more likely and the bad ones less, against a reference
and a KL baseline estimated from answers to other prompts (TRL's KTOTrainer). Preference pairs
work too: each becomes a good and a bad answer."""

from __future__ import annotations

from tui_ft.core.objectives import preference as p
from tui_ft.core.objectives.preference_health import LossZeroEarly, UnlearningBothAnswers
from tui_ft.core.objectives.spec import Chart, ChartLine, Objective, Setting

KL_CHART = Chart(
    "kl",
    "KL",
    (
        ChartLine("kl", "KL to the reference", "grad-norm"),
        ChartLine("eval_kl", "eval", "eval-loss", points="●"),
    ),
)


def _weight(key: str, which: str) -> Setting:
    return Setting(
        key,
        1.0,
        "float",
        f"{which.capitalize()} weight",
        f"Weight of the {which} answers' loss: raise it when they are the fewer.",
        check=p.positive(key, "1.0 is usual; keep weight × count about equal on both sides"),
    )


OBJECTIVE = Objective(
    name="kto",
    title="KTO: answers marked good or bad",
    sentences="Learns from answers each marked good or bad on its own: no pairs needed, "
    "staying near the starting model. Needs prompt/completion rows with a true/false `label`, "
    "or preference pairs (each becomes one good and one bad answer).",
    engine="tui_ft.engine.train.objectives.kto",
    formats=("unpaired_preference", *p.PAIR_FORMATS),
    batchings=p.BATCHINGS,
    settings=(
        p.REFERENCE_BETA,
        _weight("desirable_weight", "good"),
        _weight("undesirable_weight", "bad"),
        p.precompute_ref(),
    ),
    metrics=(*p.LOSSES, *p.REWARDS, *p.LOGPS, *p.pair("kl", "kl")),
    charts=(p.LOSS_CHART, p.REWARDS_CHART, KL_CHART, p.LOGPS_CHART),
    health_rules=lambda _settings: [UnlearningBothAnswers(), LossZeroEarly()],
    # One answer a row trains; the mismatched answer of the KL baseline goes through the model
    # without gradients, like the reference pass, so it keeps no activations.
    memory=p.with_reference(1),
)
