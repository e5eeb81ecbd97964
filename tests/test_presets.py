"""Presets: the CPU's quick try is the demo default, micro-batches follow the device's memory,
the effective batch and the learning rate follow the preset and the method."""

from __future__ import annotations

import pytest

from tui_ft.core.config import RunConfig
from tui_ft.core.wizard.presets import (
    CPU_TIER,
    GIB,
    PRESET_KEYS,
    PRESET_NAMES,
    PRESETS,
    apply_preset,
    matching_preset,
    memory_tier,
    preset_values,
)


@pytest.mark.parametrize(
    ("device", "gib", "tier"),
    [
        ("cpu", None, "cpu"),
        ("cpu", 512, "cpu"),
        ("cuda", None, "small"),  # unknown size: plan for the smallest card
        ("cuda", 7.6, "small"),
        ("cuda", 15.7, "small"),
        ("cuda", 23.6, "medium"),  # a 24 GB card
        ("cuda", 31.8, "medium"),
        ("cuda", 47.5, "large"),
        ("cuda", 79.6, "huge"),  # an "80GB" H100 reports 79.6 GiB
        ("cuda", 139.8, "huge"),
    ],
)
def test_memory_tier(device: str, gib: float | None, tier: str) -> None:
    total = None if gib is None else int(gib * GIB)
    assert memory_tier(device, total).name == tier


def test_quick_try_on_the_cpu_is_the_demo_default() -> None:
    default = RunConfig()
    assert apply_preset(default, "quick try", CPU_TIER) == default
    assert matching_preset(default, CPU_TIER) == "quick try"


@pytest.mark.parametrize("name", PRESET_NAMES)
@pytest.mark.parametrize("gib", [16, 24, 48, 80])
def test_effective_batch_is_the_presets_whatever_the_card(name: str, gib: int) -> None:
    values = preset_values(name, memory_tier("cuda", gib * GIB), "lora")
    assert values["batch_size"] * values["grad_accum"] >= PRESETS[name].effective_batch
    # No more accumulation than needed to reach it.
    assert (values["grad_accum"] - 1) * values["batch_size"] < PRESETS[name].effective_batch


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_bigger_cards_get_no_smaller_micro_batches_or_lengths(name: str) -> None:
    small, huge = (preset_values(name, memory_tier("cuda", g * GIB), "lora") for g in (12, 80))
    assert huge["batch_size"] >= small["batch_size"]
    assert huge["max_length"] >= small["max_length"]
    if name != "quick try":  # a quick try is small everywhere
        assert huge["batch_size"] * huge["max_length"] > small["batch_size"] * small["max_length"]


def test_thorough_on_small_and_huge_cards() -> None:
    assert preset_values("thorough", memory_tier("cuda", 12 * GIB), "lora") == {
        "epochs": 5.0,
        "learning_rate": 1e-4,
        "batch_size": 2,
        "grad_accum": 16,
        "max_length": 2048,
    }
    assert preset_values("thorough", memory_tier("cuda", 80 * GIB), "lora") == {
        "epochs": 5.0,
        "learning_rate": 1e-4,
        "batch_size": 4,
        "grad_accum": 8,
        "max_length": 8192,
    }


def test_full_fine_tuning_gets_a_tenth_of_the_adapter_learning_rate() -> None:
    tier = memory_tier("cuda", 80 * GIB)
    for name in PRESET_NAMES:
        full = preset_values(name, tier, "full")["learning_rate"]
        assert full == pytest.approx(preset_values(name, tier, "qlora")["learning_rate"] / 10)


def test_model_context_caps_the_max_length() -> None:
    values = preset_values("thorough", memory_tier("cuda", 80 * GIB), "lora", max_context=2048)
    assert values["max_length"] == 2048
    assert values["batch_size"] == 16  # the tokens freed go to a larger micro-batch


def test_apply_keeps_other_fields_clears_max_steps_and_copies() -> None:
    config = RunConfig(max_steps=30, optimizer="adamw_8bit", gradient_checkpointing=True)
    changed = apply_preset(config, "balanced", memory_tier("cuda", 24 * GIB))
    assert changed.max_steps is None
    assert (changed.optimizer, changed.gradient_checkpointing) == ("adamw_8bit", True)
    assert (changed.batch_size, changed.grad_accum, changed.max_length) == (4, 4, 2048)
    assert config.max_steps == 30 and config.batch_size == 4  # the original is untouched


def test_an_edited_field_matches_no_preset() -> None:
    tier = memory_tier("cuda", 24 * GIB)
    config = apply_preset(RunConfig(), "balanced", tier)
    assert matching_preset(config, tier) == "balanced"
    for key in PRESET_KEYS:
        edited = apply_preset(RunConfig(), "balanced", tier)
        setattr(edited, key, getattr(edited, key) * 3)
        assert matching_preset(edited, tier) is None, key
    config.max_steps = 10
    assert matching_preset(config, tier) is None


def test_presets_validate_on_every_tier() -> None:
    tiers = [CPU_TIER, *(memory_tier("cuda", g * GIB) for g in (8, 24, 48, 80))]
    for tier in tiers:
        for method in ("full", "lora", "qlora"):
            for name in PRESET_NAMES:
                assert apply_preset(RunConfig(method=method), name, tier).validate() == []


def test_unknown_preset_is_named() -> None:
    with pytest.raises(KeyError, match="quick try"):
        preset_values("fast", CPU_TIER, "lora")
