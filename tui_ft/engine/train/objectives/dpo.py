"""DPO's trainer twin (tui_ft/core/objectives/dpo.py): TRL's DPOTrainer on conversational
preference rows, the chosen answers' NLL mixed in as TRL's `sft` loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_ft.engine.train.objectives.preference import (
    build_pair_data,
    frozen_reference,
    make_preference_trainer,
)
from tui_ft.engine.train.prepared import Prepared

__all__ = ["build_data", "make_trainer", "training_args"]
build_data = build_pair_data
# EXO's label smoothing must be above 0; its paper's value.
EXO_SMOOTHING = 1e-3


def training_args(prepared: Prepared, common: dict[str, Any], output_dir: Path) -> Any:
    from trl import DPOConfig

    config = prepared.config
    loss = config.setting("loss_type")
    weight = config.setting("sft_weight")
    return DPOConfig(
        output_dir=str(output_dir),
        **common,
        max_length=config.max_length,
        beta=config.setting("beta"),
        loss_type=[loss, "sft"] if weight else [loss],
        loss_weights=[1.0, weight] if weight else None,
        label_smoothing=EXO_SMOOTHING if loss == "exo_pair" else 0.0,
        precompute_ref_log_probs=config.setting("precompute_ref"),
    )


def make_trainer(prepared: Prepared, model: Any, args: Any, callbacks: list[Any]) -> Any:
    from trl import DPOTrainer

    reference = frozen_reference(prepared, model)
    return make_preference_trainer(
        DPOTrainer, prepared, model, args, callbacks, ref_model=reference
    )
