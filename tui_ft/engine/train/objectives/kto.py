"""KTO's trainer twin (tui_ft/core/objectives/kto.py): TRL's KTOTrainer on conversational
unpaired rows {prompt, completion, label}. A preference pair becomes a good and a bad row here,
so the split, the counts and the order are ours; the rows are shuffled once with the run's seed,
because KTO reads them in order (its KL baseline pairs each answer with its neighbour's prompt)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.datasets.load import Example
from tui_ft.engine.train.data import LENGTH, TRAINED, Made, TrainData, build_data_with
from tui_ft.engine.train.objectives.preference import (
    answer_tokens,
    chat,
    frozen_reference,
    make_preference_trainer,
    prompt_of,
    require_batch_of_two,
)
from tui_ft.engine.train.prepared import Prepared

__all__ = ["build_data", "make_trainer", "training_args"]


def build_data(config: RunConfig, tokenizer: Any) -> TrainData:
    def make(example: Example) -> Made:
        if example.label is None:  # a pair: its chosen answer is good, its rejected one bad
            answers = [(example.chosen, True), (example.rejected, False)]
        else:
            answers = [(example.chosen, example.label)]
        rows, truncated = [], False
        for answer, label in answers:
            tokens = answer_tokens(tokenizer, config, example, answer)
            truncated |= tokens.truncated
            if tokens.trained_tokens:
                rows.append(
                    {
                        "prompt": prompt_of(config, example),
                        "completion": chat(answer),
                        "label": label,
                        LENGTH: len(tokens.input_ids),
                        TRAINED: tokens.trained_tokens,
                    }
                )
        return Made(rows, truncated)

    data = build_data_with(config, tokenizer, make)
    order = random.Random(config.seed)
    order.shuffle(data.train_rows)
    order.shuffle(data.eval_rows)
    return data


def training_args(prepared: Prepared, common: dict[str, Any], output_dir: Path) -> Any:
    from trl import KTOConfig

    config = prepared.config
    require_batch_of_two(
        config, "its KL baseline compares each answer with another prompt's in the same batch"
    )
    return KTOConfig(
        output_dir=str(output_dir),
        **common,
        max_length=config.max_length,
        beta=config.setting("beta"),
        desirable_weight=config.setting("desirable_weight"),
        undesirable_weight=config.setting("undesirable_weight"),
        precompute_ref_log_probs=config.setting("precompute_ref"),
        train_sampling_strategy="sequential",
    )


def make_trainer(prepared: Prepared, model: Any, args: Any, callbacks: list[Any]) -> Any:
    from trl import KTOTrainer

    reference = frozen_reference(prepared, model)
    return make_preference_trainer(
        KTOTrainer, prepared, model, args, callbacks, ref_model=reference
    )
