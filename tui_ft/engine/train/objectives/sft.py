"""Supervised fine-tuning's trainer twin (tui_ft/core/objectives/sft.py): TRL's SFTTrainer on
rows tokenized with our loss masks."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.engine.train.data import TrainData, build_train_data
from tui_ft.engine.train.prepared import Prepared
from tui_ft.engine.train.setup import adapter_config


def build_data(config: RunConfig, tokenizer: Any) -> TrainData:
    return build_train_data(config, tokenizer)


def training_args(prepared: Prepared, common: dict[str, Any], output_dir: Path) -> Any:
    import torch
    from trl import SFTConfig

    config = prepared.config
    batching = prepared.batching.name
    return SFTConfig(
        output_dir=str(output_dir),
        **common,
        # Rows arrive tokenized with our labels, already cut to max_length (TRL leaves that
        # to us in padding-free mode); core/estimate/batching.py chose how to batch them.
        padding_free=batching == "padding_free",
        train_sampling_strategy="group_by_length" if batching == "grouped" else "random",
        packing=config.packing,
        packing_strategy="bfd",
        max_length=config.max_length if config.packing else None,
        use_liger_kernel=torch.cuda.is_available()
        and importlib.util.find_spec("liger_kernel") is not None,
    )


def make_trainer(prepared: Prepared, model: Any, args: Any, callbacks: list[Any]) -> Any:
    from datasets import Dataset

    from tui_ft.engine.train.kept_logits import sft_trainer_class

    data = prepared.data
    # The held-out rows in length order: the evaluation's batches (taken in order) then pad
    # little, which matters on long, uneven rows. Every evaluation of a run sees the same
    # batches, so its eval-loss curve stays comparable.
    eval_rows = sorted(data.eval_rows, key=lambda row: len(row["input_ids"]))
    eval_dataset = Dataset.from_list(eval_rows) if args.eval_strategy != "no" else None
    return sft_trainer_class()(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(data.train_rows),
        eval_dataset=eval_dataset,
        processing_class=prepared.tokenizer,
        peft_config=adapter_config(prepared.config, model),
        callbacks=callbacks,
    )
