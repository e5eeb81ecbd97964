"""GRPO with verifiable rewards: for each prompt the model samples a group of completions, the
run's reward functions score them (core/rewards), and the model learns to write more like the
group's better ones, through TRL's GRPOTrainer. Rows need only a `prompt`; their other fields
reach the reward functions (e.g. the `answer` that `exact_match: answer` compares with).

`batch_size` counts prompts: each brings `num_generations` completions through the model, so
the trainer's batch (TRL counts completions) is batch_size × num_generations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tui_ft.core.objectives.grpo_generation import (
    GENERATIONS,
    TRANSFORMERS,
    VLLM_SHARE,
    generation_refusal,
    uses_vllm,
    vllm_share_check,
)
from tui_ft.core.objectives.grpo_health import (
    KlRunningAway,
    NoLearningSignal,
    OneRewardDominates,
    WholeGroupsClipped,
)
from tui_ft.core.objectives.preference import not_negative, positive
from tui_ft.core.objectives.spec import (
    Chart,
    ChartLine,
    MemoryNeeds,
    Metric,
    Objective,
    Preset,
    Setting,
)
from tui_ft.core.rewards.spec import reward_problems, run_reward_labels

# TRL 1.16's GRPOConfig.loss_type values.
LOSS_TYPES = ("dapo", "grpo", "dr_grpo", "bnpo", "cispo", "sapo", "luspo", "vespo")
# The reward functions charted one line each, in the order `rewards:` lists them; the trainer
# names them reward_1 … so TRL logs `rewards/reward_1/mean`.
CHARTED_REWARDS = 6
REWARD_COLORS = ("tuned", "eval-loss", "loss", "lr", "grad-norm", "memory")


def reward_name(number: int) -> str:
    """The metric key (and the name TRL logs it under) of the `number`th reward, from 1."""
    return f"reward_{number}"


def _at_least_two(value: Any) -> str | None:
    if value < 2:
        return (
            f"num_generations must be 2 or more (it is {value}): GRPO learns from the "
            "differences within each prompt's group; 4 to 16 is usual."
        )
    return None


def _rewards_check(value: Any) -> str | None:
    return " ".join(reward_problems(value)) or None


def _memory(settings: Mapping[str, Any]) -> MemoryNeeds:
    # A full fine-tune measured against a reference (beta above 0) keeps a frozen copy.
    share = float(settings.get("vllm_gpu_memory_utilization", VLLM_SHARE))
    return MemoryNeeds(
        sequences_per_row=int(settings.get("num_generations", 4)),
        reference_model=float(settings.get("beta", 0.0)) > 0,
        generated_tokens=int(settings.get("max_completion_length", 64)),
        engine_share=share if uses_vllm(settings) else 0.0,
    )


def _per_reward_chart(labels: list[str]) -> Chart:
    return Chart(
        "rewards",
        "per reward",
        tuple(
            ChartLine(reward_name(number), label, REWARD_COLORS[number - 1])
            for number, label in enumerate(labels[:CHARTED_REWARDS], start=1)
        ),
        empty="one line per reward function, in the order run.yaml lists them",
    )


def _run_charts(settings: Mapping[str, Any]) -> tuple[Chart, ...]:
    """The charts, the per-reward one with a line per reward of the run, named as `rewards:`
    names them (a run.yaml that cannot say: reward 1 … 6)."""
    labels = run_reward_labels(settings)
    if not labels:
        return CHARTS
    chart = _per_reward_chart(labels)
    return tuple(chart if c.name == chart.name else c for c in CHARTS)


_PER_REWARD = tuple(
    metric
    for number in range(1, CHARTED_REWARDS + 1)
    for metric in (
        Metric(reward_name(number), f"rewards/{reward_name(number)}/mean"),
        Metric(f"{reward_name(number)}_std", f"rewards/{reward_name(number)}/std"),
    )
)

CHARTS = (
    Chart(
        "reward",
        "reward",
        (
            ChartLine("reward", "reward (weighted sum)", "tuned"),
            ChartLine("reward_std", "std", "eval-loss"),
            ChartLine("eval_reward", "eval", "lr", points="●"),
        ),
    ),
    _per_reward_chart([f"reward {n}" for n in range(1, CHARTED_REWARDS + 1)]),
    Chart(
        "completion_length",
        "length",
        (
            ChartLine("completion_length", "mean tokens", "loss"),
            ChartLine("completion_min", "min", "base"),
            ChartLine("completion_max", "max", "eval-loss"),
        ),
    ),
    Chart(
        "policy",
        "kl/entropy",
        (
            ChartLine("kl", "KL", "grad-norm"),
            ChartLine("entropy", "entropy", "lr"),
            ChartLine("clipped", "clipped (share)", "eval-loss"),
        ),
    ),
)

OBJECTIVE = Objective(
    name="grpo",
    title="GRPO: learn from rewards",
    sentences="Samples several answers to each prompt, scores them with reward functions you "
    "choose (a format, an exact answer, a length, or your own Python) and learns from the "
    "better ones. Needs prompts, with the fields the rewards read (e.g. `answer`).",
    engine="tui_ft.engine.train.objectives.grpo",
    formats=("prompt_only",),
    # TRL's GRPOTrainer pads each batch of prompts and of completions to its longest.
    batchings=("padded",),
    settings=(
        Setting(
            "num_generations",
            4,
            "int",
            "Completions per prompt",
            "The group each prompt's completions are compared within; more: a steadier "
            "signal at more generation time.",
            check=_at_least_two,
        ),
        Setting(
            "max_completion_length",
            64,
            "int",
            "Max completion tokens",
            "Where generation stops; completions cut there count as clipped.",
            check=positive("max_completion_length", "64 to 1024 tokens is usual"),
        ),
        Setting(
            "temperature",
            1.0,
            "float",
            "Sampling temperature",
            "Higher: more varied completions within a group, so more to learn from.",
            check=positive("temperature", "0.7 to 1.2 is usual"),
        ),
        Setting(
            "beta",
            0.0,
            "float",
            "KL weight (beta)",
            "How strongly the model is held near the starting one; 0 (TRL's default) needs "
            "no reference model.",
            check=not_negative("beta", "0 turns the KL term off, 0.01 to 0.1 is usual"),
        ),
        Setting(
            "loss_type",
            "dapo",
            "choice",
            "GRPO loss",
            "dapo (TRL's default) normalizes over the batch's tokens; grpo, dr_grpo and the "
            "others as TRL names them.",
            choices=LOSS_TYPES,
        ),
        Setting(
            "generation",
            TRANSFORMERS,
            "choice",
            "Generation",
            "transformers samples in the trainer (a CPU works); vllm is faster on an NVIDIA "
            "GPU, with the vllm package (docs/rewards.md).",
            choices=GENERATIONS,
        ),
        Setting(
            "vllm_gpu_memory_utilization",
            VLLM_SHARE,
            "float",
            "vLLM memory share",
            "generation: vllm only: the share of the GPU's memory vLLM takes at its start for "
            "its copy of the model and its cache.",
            check=vllm_share_check,
        ),
        Setting(
            "rewards",
            [],
            "list",
            "Rewards",
            "The reward functions: regex, exact_match, length, json_valid or python, each "
            "with an optional weight (docs/rewards.md).",
            check=_rewards_check,
        ),
    ),
    metrics=(
        Metric("loss", "loss"),
        Metric("reward", "reward"),
        Metric("reward_std", "reward_std"),
        Metric("reward_zero_std", "frac_reward_zero_std"),
        *_PER_REWARD,
        Metric("completion_length", "completions/mean_length"),
        Metric("completion_min", "completions/min_length"),
        Metric("completion_max", "completions/max_length"),
        Metric("clipped", "completions/clipped_ratio"),
        Metric("kl", "kl"),
        Metric("entropy", "entropy"),
        Metric("eval_reward", "eval_reward"),
    ),
    charts=CHARTS,
    run_charts=_run_charts,
    samples=True,
    health_rules=lambda settings: [
        NoLearningSignal(),
        WholeGroupsClipped(),
        OneRewardDominates(run_reward_labels(settings)),
        KlRunningAway(),
    ],
    memory=_memory,
    # A batch of 2 prompts is 8 completions a step, TRL's default batch of completions. The
    # demo's run is the one docs/rewards.md measured: short answers, a cooler temperature
    # (1.0 makes the demo model's samples incoherent), a high rate for its 10 steps.
    preset=Preset(
        values={"batch_size": 2},
        demos={
            "demo-grpo": {
                "max_steps": 10,
                "num_generations": 4,
                "max_completion_length": 12,
                "temperature": 0.7,
                "learning_rate": 5e-4,
                "eval_split": 0.0,
                "gradient_checkpointing": False,
            }
        },
    ),
    machine_check=generation_refusal,
)
