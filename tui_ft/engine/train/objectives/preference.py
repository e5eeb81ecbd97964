"""What the preference objectives' trainer twins share: examples into TRL's conversational
preference rows (each stating its size for the estimate and the probes, engine/train/data.py),
the datasets TRL gets, and the frozen reference of a full fine-tune."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.datasets.load import Example, Message
from tui_ft.core.errors import UserError
from tui_ft.core.methods import method_named
from tui_ft.engine.tokenize import Tokenized, tokenize_example, with_system_prompt
from tui_ft.engine.train.data import LENGTH, TRAINED, Made, Row, TrainData, build_data_with
from tui_ft.engine.train.prepared import Prepared
from tui_ft.engine.train.setup import adapter_config


def chat(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def answer_tokens(
    tokenizer: Any, config: RunConfig, example: Example, answer: Sequence[Message]
) -> Tokenized:
    """The prompt with one answer, tokenized and truncated as the trainer will see it."""
    whole = dataclasses.replace(example, messages=(*example.messages, *answer))
    return tokenize_example(tokenizer, whole, config.max_length, config.system_prompt)


def prompt_of(config: RunConfig, example: Example) -> list[dict[str, str]]:
    return chat(with_system_prompt(example.messages, config.system_prompt))


def pair_row(tokenizer: Any, config: RunConfig, example: Example) -> Made:
    """A pair as TRL's conversational row {prompt, chosen, rejected}; none when truncation
    leaves either answer nothing to train (TRL would drop it too)."""
    chosen = answer_tokens(tokenizer, config, example, example.chosen)
    rejected = answer_tokens(tokenizer, config, example, example.rejected)
    truncated = chosen.truncated or rejected.truncated
    if not (chosen.trained_tokens and rejected.trained_tokens):
        return Made([], truncated)
    row = {
        "prompt": prompt_of(config, example),
        "chosen": chat(example.chosen),
        "rejected": chat(example.rejected),
        LENGTH: max(len(chosen.input_ids), len(rejected.input_ids)),
        TRAINED: chosen.trained_tokens,
    }
    return Made([row], truncated)


def build_pair_data(config: RunConfig, tokenizer: Any) -> TrainData:
    return build_data_with(config, tokenizer, lambda example: pair_row(tokenizer, config, example))


def trl_rows(rows: list[Row]) -> Any:
    """The rows as the `datasets.Dataset` TRL takes, without the sizes we keep beside them."""
    from datasets import Dataset

    return Dataset.from_list(
        [{k: v for k, v in row.items() if k not in (LENGTH, TRAINED)} for row in rows]
    )


def make_preference_trainer(
    trainer_class: Any,
    prepared: Prepared,
    model: Any,
    args: Any,
    callbacks: list[Any],
    **extra: Any,
) -> Any:
    """A TRL preference trainer on the run's rows (no eval dataset when the run does not
    evaluate), adding the run's adapter unless the model carries one already."""
    data = prepared.data
    evaluates = args.eval_strategy != "no" and bool(data.eval_rows)
    return trainer_class(
        model=model,
        args=args,
        train_dataset=trl_rows(data.train_rows),
        eval_dataset=trl_rows(data.eval_rows) if evaluates else None,
        processing_class=prepared.tokenizer,
        peft_config=adapter_config(prepared.config, model),
        callbacks=callbacks,
        **extra,
    )


def frozen_reference(prepared: Prepared, model: Any) -> Any:
    """The reference of a full fine-tune: a frozen copy of the starting weights, unless their
    log-probs are precomputed (then TRL computes them from the model before it trains). Adapter
    runs need none: TRL switches the adapter off for the reference."""
    config = prepared.config
    if not method_named(config.method).trains_base or config.setting("precompute_ref"):
        return None
    reference = copy.deepcopy(model)
    reference.requires_grad_(False)
    return reference.eval()


def require_batch_of_two(config: RunConfig, why: str) -> None:
    if config.batch_size < 2:
        raise UserError(
            f"batch_size must be at least 2 for objective {config.objective} (it is "
            f"{config.batch_size}): {why}.",
            "Set batch_size: 2 or more (and halve grad_accum to keep the rows per step).",
        )
