"""Where the wizard starts a run of an objective: its `Preset` (grpo: batches of 2 prompts, and
on demo-grpo the run docs/rewards.md measured), applied when the objective or the dataset
changes, to the fields that still hold a starting value: what a person set stays."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tui_ft.core.config import RunConfig
from tui_ft.core.objectives import objective_named, objectives
from tui_ft.core.wizard.objective_preset import with_objective_preset

DEMO = {
    "max_steps": 10,
    "batch_size": 2,
    "max_completion_length": 12,
    "temperature": 0.7,
    "learning_rate": 5e-4,
    "eval_split": 0.0,
    "gradient_checkpointing": False,
    "num_generations": 4,
}


def chosen(before: RunConfig, **changes: Any) -> RunConfig:
    """`before` with the objective or dataset changed, as the Method and Dataset steps do."""
    config = dataclasses.replace(before, **changes)
    if config.objective != before.objective:
        config.objective_settings = {}
    return with_objective_preset(config, before)


def values(config: RunConfig) -> dict[str, Any]:
    return {
        key: getattr(config, key) if hasattr(config, key) else config.setting(key) for key in DEMO
    }


def test_grpo_on_its_demo_starts_as_the_documented_run() -> None:
    grpo = chosen(RunConfig(), objective="grpo")
    assert grpo.batch_size == 2 and grpo.max_steps is None  # any data: small batches only
    demo = chosen(grpo, dataset="demo-grpo")
    assert values(demo) == DEMO
    # Settings at their defaults stay out of run.yaml; the others are written.
    assert demo.objective_settings == {"max_completion_length": 12, "temperature": 0.7}


def test_what_a_person_set_stays() -> None:
    demo = chosen(chosen(RunConfig(), objective="grpo"), dataset="demo-grpo")
    demo.batch_size, demo.learning_rate = 3, 1e-4
    demo.objective_settings["temperature"] = 0.9
    own = chosen(demo, dataset="/data/problems.jsonl")
    assert (own.batch_size, own.learning_rate, own.setting("temperature")) == (3, 1e-4, 0.9)
    # The demo's own values go back to where they start on other data.
    assert own.max_steps is None and own.eval_split == RunConfig().eval_split
    assert own.setting("max_completion_length") == 64
    assert "max_completion_length" not in own.objective_settings


def test_leaving_grpo_leaves_its_starting_values() -> None:
    demo = chosen(chosen(RunConfig(), objective="grpo"), dataset="demo-grpo")
    sft = chosen(demo, objective="sft", dataset="demo")
    defaults = RunConfig()
    assert (sft.batch_size, sft.max_steps, sft.learning_rate, sft.eval_split) == (
        defaults.batch_size,
        defaults.max_steps,
        defaults.learning_rate,
        defaults.eval_split,
    )


def test_nothing_changes_while_the_objective_and_dataset_stay() -> None:
    cloned = RunConfig(objective="grpo", dataset="demo-grpo", batch_size=4)
    assert with_objective_preset(cloned, cloned) is cloned


@pytest.mark.parametrize("name", list(objectives()))
def test_every_preset_names_keys_the_run_has_and_values_that_run(name: str) -> None:
    objective = objective_named(name)
    for variant in objective.preset.variants():
        for key in variant:
            assert key in RunConfig.__dataclass_fields__ or objective.setting(key), key
    for dataset in ("data.jsonl", *objective.preset.demos):
        config = chosen(RunConfig(), objective=name, dataset=dataset)
        assert config.validate() == [] or all("rewards" in p for p in config.validate())
