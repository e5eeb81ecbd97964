"""ORPO's trainer twin (tui_ft/core/objectives/orpo.py): TRL's ORPOTrainer (trl.experimental)
on conversational preference rows; it applies the chat template and tokenizes them itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_ft.engine.train.objectives.preference import build_pair_data, make_preference_trainer
from tui_ft.engine.train.prepared import Prepared

__all__ = ["build_data", "make_trainer", "training_args"]
build_data = build_pair_data


def training_args(prepared: Prepared, common: dict[str, Any], output_dir: Path) -> Any:
    from trl.experimental.orpo import ORPOConfig

    config = prepared.config
    return ORPOConfig(
        output_dir=str(output_dir),
        **common,
        max_length=config.max_length,
        beta=config.setting("beta"),
    )


def make_trainer(prepared: Prepared, model: Any, args: Any, callbacks: list[Any]) -> Any:
    from trl.experimental.orpo import ORPOTrainer

    return make_preference_trainer(ORPOTrainer, prepared, model, args, callbacks)
