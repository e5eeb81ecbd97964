"""The run's held-out split, scored as the trainer scores it: the same examples (split by the
run's seed and `eval_split`), tokenized with the same loss masks, the mean loss over the
answers' tokens. Perplexity is its exponential. Supervised runs only: another objective's
eval loss is its own measure, not a language-modelling loss."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from tui_ft.core.config import DEFAULT_OBJECTIVE, RunConfig
from tui_ft.core.datasets.load import load_dataset, split_examples
from tui_ft.core.errors import UserError
from tui_ft.engine.tokenize import Tokenized, tokenize_example

IGNORE = -100


@dataclass(frozen=True)
class HeldOut:
    rows: list[Tokenized]

    @property
    def examples(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class HeldOutLoss:
    loss: float  # mean over every answer token of every example
    stderr: float | None  # of the per-example mean losses (the examples are the sample)
    examples: int


def held_out(config: RunConfig, tokenizer: Any) -> tuple[HeldOut | None, str]:
    """The tokenized held-out examples, or None and the sentence saying why there are none."""
    if config.objective != DEFAULT_OBJECTIVE:
        return None, f"no held-out loss: the run's objective is {config.objective}, not sft."
    if config.eval_split == 0:
        return None, "no held-out loss: the run holds no examples out (eval_split: 0)."
    try:
        dataset = load_dataset(config.dataset, config.dataset_format, config.dataset_columns)
    except UserError as err:  # moved, or on the hub and offline: the tasks still count
        return None, f"no held-out loss: {err.message}"
    _, examples = split_examples(dataset.examples, config.eval_split, config.seed)
    rows = [
        tokenize_example(tokenizer, e, config.max_length, config.system_prompt) for e in examples
    ]
    rows = [row for row in rows if row.trained_tokens]
    if not rows:
        return None, "no held-out loss: the held-out split has no answer tokens."
    return HeldOut(rows), ""


@torch.no_grad()
def held_out_loss(model: Any, data: HeldOut, device: str) -> HeldOutLoss:
    """One example at a time: no padding to get wrong, and the split is small."""
    total = tokens = 0.0
    per_example: list[float] = []
    for row in data.rows:
        ids = torch.tensor([row.input_ids], device=device)
        labels = torch.tensor(
            [[t if m else IGNORE for t, m in zip(row.input_ids, row.completion_mask, strict=True)]],
            device=device,
        )
        logits = model(input_ids=ids).logits[:, :-1].float()
        target = labels[:, 1:]
        losses = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)),
            target.reshape(-1),
            ignore_index=IGNORE,
            reduction="sum",
        )
        count = int((target != IGNORE).sum())
        if count == 0:
            continue  # the only answer token was the first, which nothing predicts
        total += float(losses)
        tokens += count
        per_example.append(float(losses) / count)
    mean = total / tokens if tokens else math.nan
    n = len(per_example)
    stderr = None
    if n > 1:
        average = sum(per_example) / n
        variance = sum((x - average) ** 2 for x in per_example) / (n - 1)
        stderr = math.sqrt(variance / n)
    return HeldOutLoss(mean, stderr, n)
