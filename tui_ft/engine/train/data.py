"""The dataset as the trainer sees it: checked, split, tokenized with loss masks, truncated.

Rows carry `input_ids` and `labels` (-100 where no loss is taken), so TRL uses our masks as
they are and padding-free batching wastes no compute on pad tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.datasets.demos import demo_heldout, is_demo
from tui_ft.core.datasets.load import Dataset, Example, load_dataset, split_examples
from tui_ft.core.objectives import objective_named, require_format
from tui_ft.engine.tokenize import Tokenized, ensure_chat_template, tokenize_example

IGNORE = -100
PROBES_FROM_EVAL = 3


@dataclass
class TrainData:
    train_rows: list[dict[str, list[int]]]
    eval_rows: list[dict[str, list[int]]]
    probe_prompts: list[str]
    # What the ledger records: where the data came from and what happened to it.
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def trained_tokens(self) -> int:
        return sum(self.trained_tokens_per_row())

    def trained_tokens_per_row(self) -> list[int]:
        """The loss-bearing tokens of each training row: its answers' lengths, closings included."""
        return [sum(label != IGNORE for label in row["labels"]) for row in self.train_rows]


def build_train_data(config: RunConfig, tokenizer: Any) -> TrainData:
    dataset = load_dataset(config.dataset, config.dataset_format, config.dataset_columns)
    require_format(objective_named(config.objective), dataset.format, dataset.source)
    dataset.require_clean(config.skip_bad_rows)
    template_note = None if dataset.format == "text" else ensure_chat_template(tokenizer)
    train, held_out = split_examples(dataset.examples, config.eval_split, config.seed)

    def rows(examples: list[Example]) -> tuple[list[dict[str, list[int]]], int, int]:
        out, truncated, empty = [], 0, 0
        for example in examples:
            tokenized = tokenize_example(
                tokenizer, example, config.max_length, config.system_prompt
            )
            truncated += tokenized.truncated
            if tokenized.trained_tokens == 0:
                empty += 1  # truncation cut every trained token: nothing to learn from it
                continue
            out.append(_row(tokenized))
        return out, truncated, empty

    train_rows, train_truncated, train_empty = rows(train)
    eval_rows, _, _ = rows(held_out)
    return TrainData(
        train_rows=train_rows,
        eval_rows=eval_rows,
        probe_prompts=config.probe_prompts or default_probes(config, dataset, held_out),
        summary={
            "source": dataset.source,
            "path": str(dataset.path) if dataset.path else None,
            "format": dataset.format,
            "fingerprint": dataset.fingerprint,
            "rows": dataset.rows_total,
            "bad_rows_skipped": dataset.problem_count,
            "train_examples": len(train_rows),
            "eval_examples": len(eval_rows),
            "truncated": train_truncated,
            "dropped_nothing_to_train": train_empty,
            "template_note": template_note,
        },
    )


def _row(tokenized: Tokenized) -> dict[str, list[int]]:
    labels = [
        token if trained else IGNORE
        for token, trained in zip(tokenized.input_ids, tokenized.completion_mask, strict=True)
    ]
    return {"input_ids": tokenized.input_ids, "labels": labels}


def default_probes(config: RunConfig, dataset: Dataset, held_out: list[Example]) -> list[str]:
    if is_demo(config.dataset):
        return [row["prompt"] for row in demo_heldout(config.dataset)][:4]
    prompts = []
    for example in held_out[:PROBES_FROM_EVAL]:
        first_user = next((m.content for m in example.messages if m.role == "user"), None)
        if first_user:
            prompts.append(first_user)
    return prompts
