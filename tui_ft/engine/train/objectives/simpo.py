"""SimPO's trainer twin (tui_ft/core/objectives/simpo.py): TRL's CPOTrainer (trl.experimental)
with the SimPO loss; `sft_weight` is its `cpo_alpha` (the chosen answers' NLL, CPO-SimPO)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_ft.engine.train.objectives.preference import build_pair_data, make_preference_trainer
from tui_ft.engine.train.prepared import Prepared

__all__ = ["build_data", "make_trainer", "training_args"]
build_data = build_pair_data


def training_args(prepared: Prepared, common: dict[str, Any], output_dir: Path) -> Any:
    from trl.experimental.cpo import CPOConfig

    config = prepared.config
    return CPOConfig(
        output_dir=str(output_dir),
        **common,
        max_length=config.max_length,
        loss_type="simpo",
        beta=config.setting("beta"),
        simpo_gamma=config.setting("gamma"),
        cpo_alpha=config.setting("sft_weight"),
    )


def make_trainer(prepared: Prepared, model: Any, args: Any, callbacks: list[Any]) -> Any:
    from trl.experimental.cpo import CPOTrainer

    return make_preference_trainer(CPOTrainer, prepared, model, args, callbacks)
