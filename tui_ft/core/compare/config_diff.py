"""The run.yaml keys on which runs differ, and only those: what makes their curves differ.

Nested settings are flattened to dotted keys (`lora.rank`), the way configuration.md names
them; the run's own `name` always differs and says nothing, so it is left out. A run whose
run.yaml cannot be read shows `None` for every key, and its note says why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tui_ft.core.config import RunConfig

IGNORED = ("name",)


def flat_config(config: RunConfig) -> dict[str, Any]:
    return _flat(config.to_dict(), "")


def differing_keys(configs: Mapping[str, RunConfig | None]) -> dict[str, dict[str, Any]]:
    """key -> {run: value}, in run.yaml's order, for every key whose values are not all equal."""
    flats = {run: flat_config(c) if c is not None else {} for run, c in configs.items()}
    keys = _ordered_keys(list(flats.values()))
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        if key in IGNORED:
            continue
        values = {run: flat.get(key) for run, flat in flats.items()}
        if len({_hashable(v) for v in values.values()}) > 1:
            out[key] = values
    return out


def _flat(data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        # dataset_columns is one setting (a mapping the user writes whole), not a section.
        if isinstance(value, Mapping) and value and key != "dataset_columns":
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _ordered_keys(flats: Sequence[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for flat in flats:
        seen.update(dict.fromkeys(flat))
    return list(seen)


def _hashable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    return value
