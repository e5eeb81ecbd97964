"""The Settings step's reward fields without the UI: the GRPO demo's rewards as the start, kept
or dropped, reward files named (absolute, looked for, never imported), and a rewards sentence
shown under the reward-file field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tui_ft.core.config import RunConfig
from tui_ft.core.datasets.demos import demo_rewards
from tui_ft.core.wizard.reward_fields import parse_reward_files, with_default_rewards
from tui_ft.core.wizard.settings_fields import (
    FieldError,
    field_value,
    fields_for,
    parse_field,
    problems_by_field,
    set_field,
)


def grpo(dataset: str = "demo-grpo") -> RunConfig:
    return with_default_rewards(RunConfig(objective="grpo", dataset=dataset))


def test_the_demo_comes_with_its_rewards_and_other_data_with_none() -> None:
    demo = grpo()
    assert demo.setting("rewards") == demo_rewards("demo-grpo") != []
    keys = [f.key for f in fields_for(demo)]
    assert keys[-2:] == ["default_rewards", "reward_file"]
    assert field_value(demo, "default_rewards") is True and field_value(demo, "reward_file") == ""
    own = grpo("problems.jsonl")
    assert own.setting("rewards") == [] and "default_rewards" not in [
        f.key for f in fields_for(own)
    ]
    # Another objective has no reward fields; a dataset changed since keeps no demo rewards.
    assert "reward_file" not in [f.key for f in fields_for(RunConfig())]
    moved = copy.deepcopy(demo)
    moved.dataset = "x.jsonl"
    assert with_default_rewards(moved).setting("rewards") == []


def test_keep_or_drop_the_demo_rewards_and_add_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine.py").write_text("def f(prompts, completions, **kw):\n    raise SystemExit\n")
    monkeypatch.chdir(tmp_path)
    config = grpo()
    (files,) = [f for f in fields_for(config) if f.key == "reward_file"]
    set_field(config, "reward_file", parse_field(files, "mine.py:f"))
    python = {"python": f"{tmp_path / 'mine.py'}:f"}  # absolute; the file was not run
    assert config.setting("rewards") == [*demo_rewards("demo-grpo"), python]
    set_field(config, "default_rewards", False)
    assert config.setting("rewards") == [python] and field_value(config, "default_rewards") is False
    set_field(config, "default_rewards", True)
    assert config.setting("rewards") == [*demo_rewards("demo-grpo"), python]
    assert field_value(config, "reward_file") == python["python"]
    set_field(config, "reward_file", parse_field(files, " "))
    assert config.setting("rewards") == demo_rewards("demo-grpo")


def test_a_reward_file_that_cannot_be_named_is_a_sentence(tmp_path: Path) -> None:
    assert parse_reward_files("rewards.py") == (
        "reward_file 'rewards.py' should name a Python file and its function, e.g. "
        "rewards.py:my_reward."
    )
    missing = parse_reward_files(f"{tmp_path}/none.py:f")
    assert isinstance(missing, str) and missing.startswith(
        f"reward_file: there is no file {tmp_path}/none.py"
    )
    (files,) = [f for f in fields_for(grpo()) if f.key == "reward_file"]
    with pytest.raises(FieldError):
        parse_field(files, "x.py:1f")


def test_no_rewards_at_all_shows_under_the_reward_file_field() -> None:
    config = grpo()
    set_field(config, "default_rewards", False)
    mine, others = problems_by_field(config)
    assert mine["reward_file"].startswith("rewards must be a list of reward functions")
    assert others == []
