"""What the preference objectives (dpo, orpo, kto, simpo) share: their common settings, the
metrics TRL's preference trainers log, and the monitor's charts of them.

Not an objective itself (core/objectives/__init__.py skips this module): each objective's module
picks the parts that fit its trainer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tui_ft.core.objectives.spec import Chart, ChartLine, MemoryNeeds, Metric, Setting

PAIR_FORMATS = ("preference",)
# TRL's preference trainers tokenize the rows themselves and pad each batch to its longest.
BATCHINGS = ("padded",)


def positive(key: str, usual: str) -> Callable[[Any], str | None]:
    """A check: `key` must be above 0; `usual` says what people use."""

    def check(value: Any) -> str | None:
        if value <= 0:
            return f"{key} must be above 0 (it is {value}); {usual}."
        return None

    return check


def not_negative(key: str, usual: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value < 0:
            return f"{key} must not be negative (it is {value}); {usual}."
        return None

    return check


def beta(default: float, help: str, usual: str) -> Setting:
    return Setting("beta", default, "float", "Beta", help, check=positive("beta", usual))


def sft_weight(default: float, help: str) -> Setting:
    return Setting(
        "sft_weight",
        default,
        "float",
        "Chosen answers' NLL weight",
        help,
        check=not_negative("sft_weight", "0 turns it off, 1.0 weighs it like the preference loss"),
    )


# beta of the objectives measured against a reference (dpo, kto).
REFERENCE_BETA = beta(
    0.1,
    "How far the model may move from the starting one: lower moves further. 0.1 suits most runs.",
    "0.1 is usual, 0.01 to 0.5 the useful range",
)


def with_reference(sequences_per_row: int) -> Callable[[Mapping[str, Any]], MemoryNeeds]:
    """The memory of an objective measured against a reference: a full fine-tune keeps a frozen
    copy of the model for it, unless its log-probs are computed once beforehand."""

    def needs(settings: Mapping[str, Any]) -> MemoryNeeds:
        return MemoryNeeds(sequences_per_row, reference_model=not settings.get("precompute_ref"))

    return needs


def precompute_ref() -> Setting:
    return Setting(
        "precompute_ref",
        False,
        "bool",
        "Precompute the reference",
        "Full fine-tuning: compute the reference log-probs once before training instead of "
        "keeping a frozen copy of the model in memory.",
    )


def pair(key: str, log_key: str) -> tuple[Metric, Metric]:
    """A training metric and its evaluation twin (TRL prefixes the log key with `eval_`)."""
    return Metric(key, log_key), Metric(f"eval_{key}", f"eval_{log_key}")


LOSSES = pair("loss", "loss")
REWARDS = (
    *pair("reward_chosen", "rewards/chosen"),
    *pair("reward_rejected", "rewards/rejected"),
    *pair("reward_margin", "rewards/margins"),
)
ACCURACY = pair("reward_accuracy", "rewards/accuracies")
LOGPS = (*pair("logps_chosen", "logps/chosen"), *pair("logps_rejected", "logps/rejected"))
NLL = pair("nll_loss", "nll_loss")

LOSS_CHART = Chart(
    "loss",
    "loss",
    (
        ChartLine("loss", "loss", "loss"),
        ChartLine("eval_loss", "eval loss", "eval-loss", points="●"),
    ),
)
# The margin shares the rewards' chart (and unit): with the common charts, an objective's four
# keep every chart on a number key (1-9).
REWARDS_CHART = Chart(
    "rewards",
    "rewards",
    (
        ChartLine("reward_chosen", "chosen", "tuned"),
        ChartLine("reward_rejected", "rejected", "eval-loss"),
        ChartLine("reward_margin", "margin", "loss"),
        ChartLine("eval_reward_margin", "eval margin", "lr", points="●"),
    ),
)
ACCURACY_CHART = Chart(
    "accuracy",
    "accuracy",
    (
        ChartLine("reward_accuracy", "chosen preferred (share)", "lr"),
        ChartLine("eval_reward_accuracy", "eval", "eval-loss", points="●"),
    ),
)
LOGPS_CHART = Chart(
    "logps",
    "log-probs",
    (
        ChartLine("logps_chosen", "chosen", "tuned"),
        ChartLine("logps_rejected", "rejected", "eval-loss"),
    ),
)
