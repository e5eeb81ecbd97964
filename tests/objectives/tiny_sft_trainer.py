"""The trainer twin of the test objective tiny_sft (tests/objectives/tiny_sft.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.engine.train.data import TrainData, build_train_data
from tui_ft.engine.train.prepared import Prepared
from tui_ft.engine.train.setup import lora_config


def build_data(config: RunConfig, tokenizer: Any) -> TrainData:
    return build_train_data(config, tokenizer)


def training_args(prepared: Prepared, common: dict[str, Any], output_dir: Path) -> Any:
    from trl import SFTConfig

    config = prepared.config
    return SFTConfig(
        output_dir=str(output_dir),
        **common,
        loss_type=config.setting("sft_loss"),
        max_grad_norm=config.setting("clip"),
    )


def make_trainer(prepared: Prepared, model: Any, args: Any, callbacks: list[Any]) -> Any:
    from datasets import Dataset
    from trl import SFTTrainer

    data = prepared.data
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(data.train_rows),
        eval_dataset=Dataset.from_list(data.eval_rows) if data.eval_rows else None,
        processing_class=prepared.tokenizer,
        peft_config=lora_config(prepared.config),
        callbacks=callbacks,
    )
