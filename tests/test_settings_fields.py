"""The Settings step's fields: typed text parses to RunConfig values or one sentence, and the
config's own validation sentences land under the field they are about."""

from __future__ import annotations

import pytest

from tui_ft.core.config import RunConfig, all_keys
from tui_ft.core.wizard.settings_fields import (
    BY_KEY,
    FIELDS,
    FieldError,
    field_text,
    parse_field,
    problems_by_field,
    with_value,
)


def test_every_field_is_a_config_key_with_a_one_line_explanation() -> None:
    keys = set(all_keys())
    for item in FIELDS:
        assert item.key in keys
        assert item.help and "\n" not in item.help and len(item.help) <= 90, item.key


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("epochs", "2.5", 2.5),
        ("learning_rate", "2e-4", 2e-4),
        ("learning_rate", " .0003 ", 3e-4),
        ("batch_size", "8", 8),
        ("save_every_steps", "1_000", 1000),
        ("max_steps", "", None),
        ("max_steps", "120", 120),
        ("system_prompt", "", None),
        ("system_prompt", "You are Jasper.", "You are Jasper."),
        ("optimizer", "adamw_8bit", "adamw_8bit"),
        ("packing", "true", True),
        ("packing", "false", False),
    ],
)
def test_parse(key: str, text: str, value: object) -> None:
    assert parse_field(BY_KEY[key], text) == value


@pytest.mark.parametrize(
    ("key", "text", "sentence"),
    [
        ("batch_size", "four", "batch_size must be a whole number, not 'four'."),
        ("batch_size", "2.5", "batch_size must be a whole number, not '2.5'."),
        ("learning_rate", "fast", "learning_rate must be a number like 0.1 or 2e-4, not 'fast'."),
        ("learning_rate", "nan", "learning_rate must be a number like 0.1 or 2e-4, not 'nan'."),
        ("epochs", "", "epochs must be a number like 0.1 or 2e-4, not ''."),
        ("lr_scheduler", "step", "lr_scheduler must be one of"),
    ],
)
def test_bad_text_is_one_sentence(key: str, text: str, sentence: str) -> None:
    with pytest.raises(FieldError) as err:
        parse_field(BY_KEY[key], text)
    assert str(err.value).startswith(sentence)


def test_text_round_trips() -> None:
    config = RunConfig(max_steps=None, learning_rate=2e-4)
    for item in FIELDS:
        if item.kind not in ("bool",):
            text = field_text(item, getattr(config, item.key))
            assert parse_field(item, text) == getattr(config, item.key), item.key
    assert field_text(BY_KEY["learning_rate"], 2e-4) == "0.0002"
    assert field_text(BY_KEY["max_steps"], None) == ""


def test_validation_sentences_go_under_their_field() -> None:
    config = with_value(RunConfig(), "batch_size", 0)
    config.eval_split = 0.7
    config.epochs = 0
    mine, others = problems_by_field(config)
    assert mine == {
        "batch_size": "batch_size must be at least 1 (it is 0).",
        "eval_split": "eval_split must be at least 0 and below 0.5 (it is 0.7).",
        "epochs": "epochs must be > 0 (it is 0), or set max_steps.",
    }
    assert others == []


def test_a_cross_field_sentence_finds_the_field_it_names() -> None:
    mine, others = problems_by_field(RunConfig(method="qlora", precision="fp32"))
    assert list(mine) == ["precision"] and "QLoRA computes in 16-bit" in mine["precision"]
    mine, others = problems_by_field(RunConfig(model=" "))
    assert mine == {} and others[0].startswith("model must name a model")


def test_with_value_copies() -> None:
    config = RunConfig()
    assert with_value(config, "batch_size", 16).batch_size == 16
    assert config.batch_size == 4
