"""Where the wizard starts a run of the chosen objective on the chosen dataset: its objective's
`Preset` (core/objectives/spec.py; grpo: small batches, and the demo's documented run on
demo-grpo) instead of supervised fine-tuning's starting values.

A person's own values stay: a key is set only while it holds a starting value (RunConfig's
default, its setting's default, or what some objective's preset gives it), so a value typed
in the Settings step survives a change of objective or dataset. One typed equal to a starting
value cannot be told from it, as a preset's fields cannot (core/wizard/presets.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.objectives import objective_named, objectives
from tui_ft.core.wizard.presets import same_value

_DEFAULTS = RunConfig()
_FIELDS = {f.name for f in dataclasses.fields(RunConfig) if f.metadata.get("yaml", True)}
_NOT_HERE = object()  # a key that is another objective's setting


def with_objective_preset(config: RunConfig, before: RunConfig) -> RunConfig:
    """`config` started as its objective's preset says for its dataset, when the objective or
    the dataset differs from `before`'s (the step's config before the choice); else as it is.
    A key this pair's preset leaves out goes back to its default, unless a person set it."""
    if (config.objective, config.dataset.strip()) == (before.objective, before.dataset.strip()):
        return config
    objective = objective_named(config.objective)
    wanted = objective.preset.for_dataset(config.dataset)
    started = dataclasses.replace(config, objective_settings=dict(config.objective_settings))
    for key, starts in _starting_values().items():
        default = _default(config, key)
        if default is _NOT_HERE:
            continue  # another objective's setting: not this run's
        current = _value(started, key, default)
        if any(same_value(current, value) for value in (default, *starts)):
            _set(started, key, wanted.get(key, default), default)
    return started


def _starting_values() -> dict[str, list[Any]]:
    """Every key some objective's preset sets, with every value a preset gives it."""
    values: dict[str, list[Any]] = {}
    for objective in objectives().values():
        for variant in objective.preset.variants():
            for key, value in variant.items():
                values.setdefault(key, []).append(value)
    return values


def _default(config: RunConfig, key: str) -> Any:
    """RunConfig's default for `key`, or the run's objective's setting default; _NOT_HERE for
    another objective's setting."""
    if key in _FIELDS:
        return getattr(_DEFAULTS, key)
    setting = objective_named(config.objective).setting(key)
    return _NOT_HERE if setting is None else setting.default


def _value(config: RunConfig, key: str, default: Any) -> Any:
    if key in _FIELDS:
        return getattr(config, key)
    return config.objective_settings.get(key, default)


def _set(config: RunConfig, key: str, value: Any, default: Any) -> None:
    if key in _FIELDS:
        setattr(config, key, value)
    elif same_value(value, default):
        config.objective_settings.pop(key, None)  # run.yaml leaves a default out
    else:
        config.objective_settings[key] = value
