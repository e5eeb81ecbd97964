"""Reading fields of a transformers config.json dict.

Multimodal configs keep the language model's dimensions in `text_config`, and architectures
name the same field differently (`hidden_size`, `n_embd`, `d_model`); these two helpers hide
both differences from the code that reads a model's shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def text_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """Multimodal configs keep the language model's dimensions in `text_config`."""
    text = config.get("text_config")
    if isinstance(text, Mapping) and "hidden_size" not in config:
        return text
    return config


def config_value(config: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    """The value of the first of `names` the config sets (not None), else `default`."""
    for name in names:
        value = config.get(name)
        if value is not None:
            return value
    return default
