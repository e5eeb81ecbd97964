"""The grpo objective's light twin without a model: its settings read from run.yaml, its data
format, what it adds to the estimate, and its alarms on fed metrics records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_estimate import GPU, HAND, QWEN2_05B
from tui_ft.cli import main
from tui_ft.core.config import RunConfig
from tui_ft.core.datasets.formats import detect_format, to_example
from tui_ft.core.errors import UserError
from tui_ft.core.estimate.peak import EstimateOptions, estimate_training
from tui_ft.core.estimate.shapes import kv_cache_bytes
from tui_ft.core.objectives import objective_named
from tui_ft.core.objectives.grpo_health import (
    WINDOW,
    KlRunningAway,
    NoLearningSignal,
    OneRewardDominates,
    WholeGroupsClipped,
)
from tui_ft.core.objectives.spec import HealthRule
from tui_ft.core.wizard.settings_fields import fields_for

REWARDS = [{"regex": "<answer>.*</answer>"}, {"exact_match": "answer", "weight": 2}]


def grpo(**settings: Any) -> RunConfig:
    data = {"model": "m", "dataset": "d.jsonl", "objective": "grpo", "rewards": REWARDS}
    return RunConfig.from_dict({**data, **settings})


def test_settings_default_and_round_trip() -> None:
    config = grpo()
    assert config.setting("num_generations") == 4
    assert config.setting("max_completion_length") == 64
    assert config.setting("beta") == 0.0 and config.setting("loss_type") == "dapo"
    assert config.setting("rewards") == REWARDS
    assert RunConfig.from_dict(config.to_dict()).to_dict() == config.to_dict()
    # The rewards list is written in run.yaml; the wizard's form leaves it out.
    keys = {f.key for f in fields_for(config)}
    assert {"num_generations", "temperature"} <= keys and "rewards" not in keys


@pytest.mark.parametrize(
    ("settings", "sentence"),
    [
        ({"num_generations": 1}, "num_generations must be 2 or more (it is 1)"),
        ({"beta": -0.1}, "beta must not be negative"),
        ({"max_completion_length": 0}, "max_completion_length must be above 0"),
        ({"loss_type": "ppo"}, "loss_type"),
        ({"rewards": [{"length": {"target": "x"}}]}, "rewards item 1: length: target must be"),
        ({"rewards": "exact_match"}, "`rewards` must be a list"),
        ({"rewards": []}, "rewards must be a list of reward functions"),
    ],
)
def test_a_setting_that_cannot_run_is_a_sentence(settings: dict[str, Any], sentence: str) -> None:
    with pytest.raises(UserError) as caught:
        grpo(**settings)
    assert sentence in str(caught.value)


def test_rows_with_a_prompt_and_fields_are_prompt_only() -> None:
    rows = [{"prompt": "What is 2+3?", "answer": "5", "level": 1}] * 3
    assert detect_format(rows)[0] == "prompt_only"  # type: ignore[index]
    example = to_example(rows[0], "prompt_only", 1, "d.jsonl line 1")
    assert [m.role for m in example.messages] == ["user"]
    assert example.fields == {"answer": "5", "level": 1}
    chat = {
        "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    }
    assert [m.role for m in to_example(chat, "prompt_only", 1, "x").messages] == ["system", "user"]


def test_memory_needs_a_group_per_row_and_a_reference_only_with_beta() -> None:
    memory = objective_named("grpo").memory
    assert memory({"num_generations": 8, "beta": 0.0}).sequences_per_row == 8
    assert not memory({"num_generations": 8, "beta": 0.0}).reference_model
    assert memory({"num_generations": 4, "beta": 0.04}).reference_model


def feed(rule: HealthRule, records: list[dict[str, Any]]) -> None:
    for step, record in enumerate(records, start=1):
        rule.feed(record, step)


def test_no_learning_signal_after_a_window_of_uniform_groups() -> None:
    rule = NoLearningSignal()
    feed(rule, [{"reward_zero_std": 1.0}] * (WINDOW - 1))
    assert rule.alarm() is None
    rule.feed({"reward_zero_std": 1.0}, WINDOW)
    alarm = rule.alarm()
    assert alarm is not None and "no learning signal" in alarm.message
    assert "temperature" in alarm.hint
    rule.feed({"reward_zero_std": 0.5}, WINDOW + 1)
    assert rule.alarm() is None


def test_every_completion_clipped() -> None:
    rule = WholeGroupsClipped()
    feed(rule, [{"clipped": 1.0}] * WINDOW)
    alarm = rule.alarm()
    assert alarm is not None and "max_completion_length" in alarm.message + alarm.hint
    rule = WholeGroupsClipped()
    feed(rule, [{"clipped": 1.0}, {"clipped": 0.75}] * WINDOW)
    assert rule.alarm() is None


def test_one_reward_dominating() -> None:
    rule = OneRewardDominates()
    feed(rule, [{"reward_1_std": 0.02, "reward_2_std": 3.0}] * WINDOW)
    alarm = rule.alarm()
    assert alarm is not None and "reward 2 has made 99%" in alarm.message
    assert "weight" in alarm.hint
    # Named as run.yaml names the rewards, through the run's settings.
    (named,) = [
        rule
        for rule in objective_named("grpo").health_rules(
            {"rewards": [{"regex": "<answer>", "name": "format"}, {"exact_match": "answer"}]}
        )
        if isinstance(rule, OneRewardDominates)
    ]
    feed(named, [{"reward_1_std": 3.0, "reward_2_std": 0.02}] * WINDOW)
    alarm = named.alarm()
    assert alarm is not None and "the format reward has made 99%" in alarm.message
    assert alarm.hint.startswith("Lower the format reward's weight")
    balanced = OneRewardDominates()
    feed(balanced, [{"reward_1_std": 0.4, "reward_2_std": 0.5}] * WINDOW)
    assert balanced.alarm() is None
    # The leader changing starts the count again.
    swapping = OneRewardDominates()
    feed(
        swapping,
        [{"reward_1_std": 0.0, "reward_2_std": 1.0}, {"reward_1_std": 1.0, "reward_2_std": 0.0}]
        * WINDOW,
    )
    assert swapping.alarm() is None


def test_kl_running_away() -> None:
    rule = KlRunningAway()
    feed(rule, [{"kl": 0.01 * step} for step in range(1, 10)])
    assert rule.alarm() is None
    feed(rule, [{"kl": 1.5 + step} for step in range(WINDOW)])
    alarm = rule.alarm()
    assert alarm is not None and "climbed every log" in alarm.message and "beta" in alarm.hint
    rule.feed({"kl": 2.0}, 99)  # it fell back: not running away now
    assert rule.alarm() is None


def test_charts_draw_declared_metrics() -> None:
    objective = objective_named("grpo")
    keys = {m.key for m in objective.metrics}
    assert {line.series for chart in objective.charts for line in chart.lines} <= keys
    assert {"reward_1", "reward_6_std", "clipped", "kl", "entropy"} <= keys


def test_the_estimate_adds_the_generation_cache_and_the_reference() -> None:
    group, completion, length = 8, 256, 512
    full = grpo(
        method="full",
        beta=0.04,
        num_generations=group,
        max_completion_length=completion,
        batch_size=2,
        max_length=length,
    )
    estimate = estimate_training(HAND, full, GPU)
    # Every sequence of the batch (2 prompts × 8) at its prompt plus the completion, in bf16.
    cache = kv_cache_bytes(HAND, length + completion, batch=2 * group, dtype_bytes=2)
    assert estimate.term("generation") == cache
    assert estimate.term("reference") == estimate.term("weights")
    assert "16 sequences (2 prompts × 8)" in next(
        t.detail for t in estimate.terms if t.key == "generation"
    )
    # The data's rows already hold the completion: the longest one is what is counted.
    known = estimate_training(HAND, full, GPU, EstimateOptions(longest_row=300))
    assert known.term("generation") == kv_cache_bytes(HAND, 300, batch=2 * group, dtype_bytes=2)
    # No frozen copy without the KL term, nor for an adapter (the base is its reference).
    assert estimate_training(HAND, grpo(method="full", beta=0.0), GPU).term("reference") == 0
    assert estimate_training(HAND, grpo(method="lora", beta=0.04), GPU).term("reference") == 0


def test_estimate_json_names_the_grpo_terms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "qwen" / "config.json"
    model.parent.mkdir()
    model.write_text(json.dumps(QWEN2_05B), encoding="utf-8")
    config = tmp_path / "grpo.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": str(model),
                "dataset": "demo-grpo",
                "objective": "grpo",
                "method": "full",
                "beta": 0.04,
                "rewards": REWARDS,
            }
        ),
        encoding="utf-8",
    )
    code = main(["estimate", "--config", str(config), "--gpu-memory", "80", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["terms"]["generation"] > 0 and data["terms"]["reference"] > 0
