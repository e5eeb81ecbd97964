"""What `tui-ft data inspect` reports: a plain dict, so the CLI prints it and the UI (which must
not import this heavy module) can read the same thing from `tui-ft data inspect --json`."""

from __future__ import annotations

import random
import statistics
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from tui_ft.core.datasets.load import Dataset, load_dataset
from tui_ft.core.errors import UserError
from tui_ft.core.models.resolve import resolve_model
from tui_ft.engine.model_loading import load_tokenizer
from tui_ft.engine.tokenize import (
    Tokenized,
    ensure_chat_template,
    segments,
    tokenize_example,
)

# Beyond this many rows the length statistics come from a fixed random sample (and say so).
STATS_SAMPLE = 20_000
HISTOGRAM_BINS = 12


def inspect_dataset(
    dataset_ref: str,
    *,
    model_ref: str = "demo",
    max_length: int = 1024,
    fmt: str = "auto",
    columns: Mapping[str, str] | None = None,
    example_number: int = 1,
    system_prompt: str | None = None,
    example_count: int = 1,
) -> dict[str, Any]:
    dataset = load_dataset(dataset_ref, fmt, columns)
    report = _dataset_part(dataset)
    if not dataset.examples:
        return report
    if not 1 <= example_number <= len(dataset.examples):
        raise UserError(
            f"there is no example {example_number}: {dataset.source} has "
            f"{len(dataset.examples)} usable examples.",
            f"Pick --example between 1 and {len(dataset.examples)}.",
        )
    model = resolve_model(model_ref)
    tokenizer = load_tokenizer(model)
    conversational = dataset.format != "text"
    template_note = ensure_chat_template(tokenizer) if conversational else None

    rows = dataset.examples
    if len(rows) > STATS_SAMPLE:
        rows = random.Random(0).sample(rows, STATS_SAMPLE)
    tokenized = [tokenize_example(tokenizer, ex, max_length, system_prompt) for ex in rows]
    example = dataset.examples[example_number - 1]
    shown = tokenize_example(tokenizer, example, max_length, system_prompt)
    # Several rendered at once: the wizard steps through them without a process per example.
    last = min(len(dataset.examples), example_number + max(1, example_count) - 1)
    rendered = [
        _example_part(
            tokenizer,
            number,
            dataset.examples[number - 1].where,
            tokenize_example(tokenizer, dataset.examples[number - 1], max_length, system_prompt),
        )
        for number in range(example_number, last + 1)
    ]
    report.update(
        model=model.description,
        template_note=template_note,
        max_length=max_length,
        sampled=len(rows) if len(rows) < len(dataset.examples) else None,
        lengths=[t.full_length for t in tokenized],  # the rows measured (see `sampled`)
        tokens=length_stats([t.full_length for t in tokenized]),
        histogram=histogram([t.full_length for t in tokenized]),
        truncated=sum(t.truncated for t in tokenized),
        nothing_left_to_train=sum(t.trained_tokens == 0 for t in tokenized),
        trained_tokens=sum(t.trained_tokens for t in tokenized),
        example=_example_part(tokenizer, example_number, example.where, shown),
        rendered=rendered,
    )
    return report


def _dataset_part(dataset: Dataset) -> dict[str, Any]:
    return {
        "dataset": dataset.source,
        "path": str(dataset.path) if dataset.path else None,
        "format": dataset.format,
        "reason": dataset.reason,
        "rows": dataset.rows_total,
        "examples": len(dataset.examples),
        "problem_count": dataset.problem_count,
        "problems": [asdict(p) for p in dataset.problems],
        "fingerprint": dataset.fingerprint,
    }


def _example_part(tokenizer: Any, number: int, where: str, shown: Tokenized) -> dict[str, Any]:
    return {
        "number": number,
        "where": where,
        "tokens": len(shown.input_ids),
        "trained_tokens": shown.trained_tokens,
        "truncated": shown.truncated,
        "segments": [asdict(s) for s in segments(tokenizer, shown)],
    }


def length_stats(lengths: list[int]) -> dict[str, int]:
    ordered = sorted(lengths)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "min": ordered[0],
        "median": round(statistics.median(ordered)),
        "p95": p95,
        "max": ordered[-1],
    }


def histogram(lengths: list[int], bins: int = HISTOGRAM_BINS) -> list[dict[str, int]]:
    """Equal-width bins from 0 to the longest row; the caller draws the max_length cut."""
    top = max(lengths)
    width = max(1, -(-top // bins))
    counts = [0] * bins
    for n in lengths:
        counts[min(bins - 1, n // width)] += 1
    return [{"start": i * width, "end": (i + 1) * width, "count": c} for i, c in enumerate(counts)]
