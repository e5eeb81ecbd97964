"""The dataset as the trainer sees it: checked, split, tokenized with loss masks, truncated.

Supervised rows carry `input_ids` and `labels` (-100 where no loss is taken), so TRL uses our
masks as they are and padding-free batching wastes no compute on pad tokens. Other objectives
make their own rows from the same split (`build_data_with`), e.g. preference pairs as TRL's
conversational rows, which its trainers tokenize.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.datasets.demos import demo_heldout, is_demo
from tui_ft.core.datasets.load import Dataset, Example, load_dataset, split_examples
from tui_ft.core.objectives import objective_named, require_format
from tui_ft.engine.tokenize import Tokenized, ensure_chat_template, tokenize_example

IGNORE = -100
PROBES_FROM_EVAL = 3


# Rows that the objective's trainer tokenizes itself (preference pairs) state their size: the
# tokens through the model at once (a pair: its prompt with the longer answer) and those trained
# (the chosen answer). The trainer twin removes both keys before TRL sees the rows.
LENGTH = "length"
TRAINED = "trained"

Row = dict[str, Any]


@dataclass
class TrainData:
    train_rows: list[Row]
    eval_rows: list[Row]
    probe_prompts: list[str]
    # What the ledger records: where the data came from and what happened to it.
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def trained_tokens(self) -> int:
        return sum(self.trained_tokens_per_row())

    def trained_tokens_per_row(self) -> list[int]:
        """The loss-bearing tokens of each training row: its answers' lengths, closings included."""
        return [
            row[TRAINED] if TRAINED in row else sum(label != IGNORE for label in row["labels"])
            for row in self.train_rows
        ]


def row_length(row: Row) -> int:
    """Tokens a row puts through the model at once."""
    return int(row[LENGTH]) if LENGTH in row else len(row["input_ids"])


@dataclass(frozen=True)
class Made:
    """What an objective makes of one example: its rows (none: truncation left nothing to
    train) and whether truncation cut it."""

    rows: list[Row]
    truncated: bool = False


@dataclass
class Split:
    """The dataset, checked against the objective, split into training and held-out examples."""

    dataset: Dataset
    train: list[Example]
    held_out: list[Example]
    template_note: str | None


def load_split(config: RunConfig, tokenizer: Any) -> Split:
    dataset = load_dataset(config.dataset, config.dataset_format, config.dataset_columns)
    require_format(objective_named(config.objective), dataset.format, dataset.source)
    dataset.require_clean(config.skip_bad_rows)
    template_note = None if dataset.format == "text" else ensure_chat_template(tokenizer)
    train, held_out = split_examples(dataset.examples, config.eval_split, config.seed)
    return Split(dataset, train, held_out, template_note)


def build_data_with(
    config: RunConfig, tokenizer: Any, make: Callable[[Example], Made]
) -> TrainData:
    """The run's data, each example made into rows by `make` (the objective's)."""
    split = load_split(config, tokenizer)

    def rows(examples: list[Example]) -> tuple[list[Row], int, int]:
        out: list[Row] = []
        truncated = empty = 0
        for example in examples:
            made = make(example)
            truncated += made.truncated
            empty += not made.rows  # truncation cut every trained token: nothing to learn
            out += made.rows
        return out, truncated, empty

    train_rows, train_truncated, train_empty = rows(split.train)
    eval_rows, _, _ = rows(split.held_out)
    dataset = split.dataset
    return TrainData(
        train_rows=train_rows,
        eval_rows=eval_rows,
        probe_prompts=config.probe_prompts or default_probes(config, dataset, split.held_out),
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
            "template_note": split.template_note,
        },
    )


def build_train_data(config: RunConfig, tokenizer: Any) -> TrainData:
    """Supervised rows: input_ids with labels masking all but the answers."""

    def make(example: Example) -> Made:
        tokenized = tokenize_example(tokenizer, example, config.max_length, config.system_prompt)
        rows = [_row(tokenized)] if tokenized.trained_tokens else []
        return Made(rows, tokenized.truncated)

    return build_data_with(config, tokenizer, make)


def _row(tokenized: Tokenized) -> Row:
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
