"""What `tui-ft data inspect` reports: a plain dict, so the CLI prints it and the UI (which must
not import this heavy module) can read the same thing from `tui-ft data inspect --json`.

A preference row is measured as what trains on it: the prompt with each answer, one sequence
per side (chosen and rejected, or the one unpaired completion). Its length is the longer side,
its trained tokens those of every side; its example shows the prompt once and the answers
apart, with their token counts (`answers`), beside the chosen side's marked rendering.

Prompt-only rows (grpo) have no trained tokens of their own: the model trains on the
completions it samples. Their report names the fields beside the prompt (`row_fields`) and,
given a run's rewards, what each reads and which of those the rows lack (`reward_problems`)."""

from __future__ import annotations

import random
import statistics
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from tui_ft.core.datasets.fit import format_fit, objective_called
from tui_ft.core.datasets.load import Dataset, Example, load_dataset
from tui_ft.core.errors import UserError
from tui_ft.core.models.resolve import resolve_model
from tui_ft.core.rewards.fields import missing_field_sentences, rewards_read
from tui_ft.core.rewards.spec import Reward
from tui_ft.engine.model_loading import load_tokenizer
from tui_ft.engine.tokenize import Tokenized, ensure_chat_template, segments, tokenize_example

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
    objective: str | None = None,
    rewards: list[Reward] | None = None,
) -> dict[str, Any]:
    """`rewards`: a run's (grpo), to check against the rows' fields."""
    wanted = objective_called(objective) if objective is not None else None
    dataset = load_dataset(dataset_ref, fmt, columns)
    report = _dataset_part(dataset)
    if wanted is not None:
        report["fit"] = format_fit(wanted, dataset.format, dataset.source).to_dict()
    if dataset.format == "prompt_only" or rewards is not None:
        report.update(_rewards_part(dataset, rewards or []))
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
    measured = [_sides(tokenizer, ex, max_length, system_prompt) for ex in rows]
    lengths = [max(t.full_length for _, t in sides) for sides in measured]

    def part(number: int) -> dict[str, Any]:
        example = dataset.examples[number - 1]
        sides = _sides(tokenizer, example, max_length, system_prompt)
        return _example_part(tokenizer, number, example, sides)

    # Several rendered at once: the wizard steps through them without a process per example.
    last = min(len(dataset.examples), example_number + max(1, example_count) - 1)
    report.update(
        model=model.description,
        template_note=template_note,
        max_length=max_length,
        sampled=len(rows) if len(rows) < len(dataset.examples) else None,
        lengths=lengths,  # the rows measured (see `sampled`)
        tokens=length_stats(lengths),
        histogram=histogram(lengths),
        truncated=sum(any(t.truncated for _, t in sides) for sides in measured),
        # Prompts alone train on the completions sampled for them, not on tokens of the rows.
        nothing_left_to_train=0
        if dataset.format == "prompt_only"
        else sum(any(t.trained_tokens == 0 for _, t in sides) for sides in measured),
        trained_tokens=sum(t.trained_tokens for sides in measured for _, t in sides),
        example=part(example_number),
        rendered=[part(number) for number in range(example_number, last + 1)],
    )
    return report


def _sides(
    tokenizer: Any, example: Example, max_length: int, system_prompt: str | None
) -> list[tuple[str, Tokenized]]:
    """What trains on the example: one sequence (named ""), or the prompt with each answer of
    a preference row (chosen and rejected; an unpaired row's one answer as "completion")."""
    if not example.chosen:
        return [("", tokenize_example(tokenizer, example, max_length, system_prompt))]
    answers = {"chosen": example.chosen, "rejected": example.rejected}
    if example.label is not None:
        answers = {"completion": example.chosen}
    return [
        (
            side,
            tokenize_example(
                tokenizer,
                Example(example.row, example.where, messages=(*example.messages, *answer)),
                max_length,
                system_prompt,
            ),
        )
        for side, answer in answers.items()
        if answer
    ]


def _rewards_part(dataset: Dataset, rewards: list[Reward]) -> dict[str, Any]:
    """The fields the rows hold beside the prompt, what each reward reads of them, and a
    sentence for each reward that reads one they lack."""
    fields = sorted({key for example in dataset.examples for key in example.fields})
    reads = rewards_read(rewards, fields)
    return {
        "row_fields": fields,
        "rewards": [one.to_dict() for one in reads],
        "reward_problems": missing_field_sentences(reads, fields),
    }


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
        "dataset_problem": dataset.dataset_problem,
    }


def _example_part(
    tokenizer: Any, number: int, example: Example, sides: list[tuple[str, Tokenized]]
) -> dict[str, Any]:
    shown = sides[0][1]
    part: dict[str, Any] = {
        "number": number,
        "where": example.where,
        "tokens": len(shown.input_ids),
        "trained_tokens": sum(t.trained_tokens for _, t in sides),
        "truncated": any(t.truncated for _, t in sides),
        "segments": [asdict(s) for s in segments(tokenizer, shown)],
    }
    if example.chosen:
        part.update(_answers_part(tokenizer, example, sides))
    return part


def _answers_part(
    tokenizer: Any, example: Example, sides: list[tuple[str, Tokenized]]
) -> dict[str, Any]:
    """The prompt once (as rendered, up to where the answer starts) and each answer apart."""
    shown = sides[0][1]
    prompt_tokens = (
        shown.completion_mask.index(1) if 1 in shown.completion_mask else len(shown.input_ids)
    )
    prompt = Tokenized(shown.input_ids[:prompt_tokens], [0] * prompt_tokens, prompt_tokens)
    texts = {"chosen": example.chosen, "rejected": example.rejected, "completion": example.chosen}
    return {
        "prompt_tokens": prompt_tokens,
        "prompt_segments": [asdict(s) for s in segments(tokenizer, prompt)],
        "answers": [
            {
                "side": side,
                "text": "\n\n".join(m.content for m in texts[side]),
                "tokens": tokenized.trained_tokens,
                "truncated": tokenized.truncated,
            }
            for side, tokenized in sides
        ],
        "label": example.label,
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
