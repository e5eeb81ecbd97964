"""The Settings step's say over an objective's `rewards:` list (grpo): keep the rewards the
dataset comes with (the demo's format and exact-match rewards), and name Python reward files
(`file.py:function`). Other items of the list (a cloned run's own built-ins) stay as they are.

The wizard never imports a reward file (the trainer loads it): a typed file is only looked
for, and written into run.yaml with its absolute path, as the dataset is."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.datasets.demos import DEMO_REWARDS, demo_rewards
from tui_ft.core.objectives import objective_named

REWARDS = "rewards"  # the objective setting these fields edit
DEFAULT_REWARDS = "default_rewards"
REWARD_FILE = "reward_file"
KEYS = (DEFAULT_REWARDS, REWARD_FILE)


def has_rewards(config: RunConfig) -> bool:
    return objective_named(config.objective).setting(REWARDS) is not None


def with_default_rewards(config: RunConfig) -> RunConfig:
    """`config` with its dataset's rewards when it names none yet (the demo-grpo dataset comes
    with a format and an exact-match reward); another demo's rewards, left from a dataset
    chosen before, go."""
    if not has_rewards(config):
        return config
    others = [
        reward
        for name in DEMO_REWARDS
        if name != config.dataset.strip()
        for reward in demo_rewards(name)
    ]
    rewards = [item for item in rewards_of(config) if item not in others]
    given = copy.deepcopy(config)
    given.objective_settings[REWARDS] = rewards or demo_rewards(config.dataset)
    return given


def rewards_of(config: RunConfig) -> list[Any]:
    raw = config.setting(REWARDS)
    return list(raw) if isinstance(raw, list) else []


def keeps_defaults(config: RunConfig) -> bool:
    defaults = demo_rewards(config.dataset)
    return bool(defaults) and all(reward in rewards_of(config) for reward in defaults)


def reward_files_text(config: RunConfig) -> str:
    """The Python rewards as the field shows them: `file.py:function`, comma-separated."""
    return ", ".join(
        str(item["python"])
        for item in rewards_of(config)
        if isinstance(item, dict) and "python" in item
    )


def parse_reward_files(text: str) -> list[str] | str:
    """Each `file.py:function` typed, its file made absolute; or the sentence saying what is
    wrong (no file there, no function named)."""
    targets = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        file, _, function = part.rpartition(":")
        if not file.endswith(".py") or not function.isidentifier():
            return (
                f"reward_file {part!r} should name a Python file and its function, e.g. "
                "rewards.py:my_reward."
            )
        path = Path(file).expanduser()
        if not path.is_file():
            return f"reward_file: there is no file {file} (relative to {Path.cwd()})."
        targets.append(f"{path.absolute()}:{function}")
    return targets


def set_reward_field(config: RunConfig, key: str, value: Any) -> None:
    """Set `default_rewards` (True or False) or `reward_file` (the list parse_reward_files
    made, or None) in `config`'s rewards."""
    defaults = demo_rewards(config.dataset)
    rewards = rewards_of(config)
    if key == DEFAULT_REWARDS:
        rest = [item for item in rewards if item not in defaults]
        rewards = [*defaults, *rest] if value else rest
    else:
        kept = [item for item in rewards if not (isinstance(item, dict) and "python" in item)]
        rewards = kept + [{"python": target} for target in value or []]
    config.objective_settings[REWARDS] = rewards


def reward_field_value(config: RunConfig, key: str) -> Any:
    return keeps_defaults(config) if key == DEFAULT_REWARDS else reward_files_text(config)
