"""The trainer twin of the test objective tiny_sft (tests/objectives/tiny_sft.py): sft's data
and trainer, with TRL's config built from its own two settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_ft.engine.train.objectives.sft import build_data, make_trainer
from tui_ft.engine.train.prepared import Prepared

__all__ = ["build_data", "make_trainer", "training_args"]


def training_args(prepared: Prepared, common: dict[str, Any], output_dir: Path) -> Any:
    from trl import SFTConfig

    config = prepared.config
    return SFTConfig(
        output_dir=str(output_dir),
        **common,
        loss_type=config.setting("sft_loss"),
        max_grad_norm=config.setting("clip"),
    )
