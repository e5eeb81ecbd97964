"""`tui-ft data inspect`: print what engine.inspect reports, for a person or as JSON."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tui_ft.core.children.env import offline_here
from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.datasets.fit import objective_called
from tui_ft.core.errors import UserError
from tui_ft.core.objectives import objective_named
from tui_ft.core.rewards.spec import Reward, read_rewards
from tui_ft.core.safe_text import json_for_terminal, safe, safe_text

BAR_WIDTH = 30
DEMO_REF = "demo"
DEFAULT_MAX_LENGTH = 1024


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config)) if args.config else None
    dataset = args.dataset or (config.dataset if config else None)
    if not dataset:
        raise UserError(
            "data inspect needs a dataset.",
            "Name one (`tui-ft data inspect demo`), or a run.yaml with --config.",
        )
    model = args.model or (config.model if config else DEMO_REF)
    objective = args.objective or (config.objective if config else None)
    if objective is not None:
        objective_called(objective)  # a misspelt name fails before anything loads
    offline_here([model], [dataset])  # before the model libraries are imported
    from tui_ft.engine.inspect import inspect_dataset

    report = inspect_dataset(
        dataset,
        model_ref=model,
        max_length=args.max_length or (config.max_length if config else DEFAULT_MAX_LENGTH),
        fmt=args.fmt,
        columns=parse_columns(args.column),
        example_number=args.example,
        example_count=args.examples,
        system_prompt=args.system_prompt or (config.system_prompt if config else None),
        objective=objective,
        rewards=config_rewards(config) if config and objective == config.objective else None,
    )
    if args.json:
        print(json_for_terminal(report, indent=2))
    else:
        print_report(Console(highlight=False), report)
    return 0 if usable(report) else 1


def config_rewards(config: RunConfig) -> list[Reward] | None:
    """The run's rewards when its objective has them (load_config checked the list)."""
    if objective_named(config.objective).setting("rewards") is None:
        return None
    return read_rewards(config.setting("rewards"))


def usable(report: dict[str, Any]) -> bool:
    """Clean rows, nothing spoiling the whole, and (when one was named) the objective's format
    and rewards that find the fields they read."""
    fits = report.get("fit", {}).get("fits", True)
    rewards_fit = not report.get("reward_problems")
    return (
        not report["problem_count"] and not report.get("dataset_problem") and fits and rewards_fit
    )


def parse_columns(pairs: list[str]) -> dict[str, str]:
    columns: dict[str, str] = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise UserError(
                f"--column {pair!r} is not FIELD=COLUMN.",
                "For example: --column prompt=question --column completion=answer",
            )
        columns[field.strip()] = column.strip()
    return columns


def print_report(console: Console, report: dict[str, Any]) -> None:
    def line(label: str, value: str) -> None:
        console.print(Text.assemble((f"{label:<12}", "bold"), safe_text(value)))

    where = f" ({report['path']})" if report["path"] and report["path"] != report["dataset"] else ""
    line("dataset", f"{report['dataset']}{where}")
    line("format", f"{report['format']} — {report['reason']}")
    if "fit" in report:
        style = "green" if report["fit"]["fits"] else "bold red"
        console.print(
            Text.assemble(("objective   ", "bold"), safe_text(report["fit"]["sentence"], style))
        )
    line("rows", f"{report['rows']} ({report['examples']} usable, {report['problem_count']} bad)")
    line("fingerprint", report["fingerprint"])
    if "row_fields" in report:
        _print_rewards(console, line, report)
    if "tokens" in report:
        _print_lengths(console, line, report)
    if report["problem_count"]:
        _print_problems(console, report)
    if report.get("dataset_problem"):
        console.print(Text("\nthe dataset as a whole:", style="bold red"))
        console.print(safe_text(f"  {report['dataset_problem']}."))
    if "example" in report:
        _print_example(console, report["example"])


def _print_lengths(console: Console, line: Any, report: dict[str, Any]) -> None:
    t = report["tokens"]
    line("model", report["model"])
    if report["template_note"]:
        line("template", report["template_note"])
    sampled = f" (from a sample of {report['sampled']} rows)" if report["sampled"] else ""
    line(
        "tokens",
        f"min {t['min']} · median {t['median']} · p95 {t['p95']} · max {t['max']}{sampled}",
    )
    line(
        "max_length",
        f"{report['max_length']}: {report['truncated']} rows will be truncated"
        + (
            f", {report['nothing_left_to_train']} of them lose every trained token"
            if report["nothing_left_to_train"]
            else ""
        ),
    )
    if report["format"] == "prompt_only":
        line("trained", "the completions the model samples for each prompt (the rows have none)")
    else:
        line("trained", f"{report['trained_tokens']:,} tokens in all (the assistant's words)")
    peak = max(b["count"] for b in report["histogram"]) or 1
    console.print(Text("length histogram (tokens per row):", style="bold"))
    for b in report["histogram"]:
        bar = "█" * round(BAR_WIDTH * b["count"] / peak)
        cut = "  ← max_length" if b["start"] < report["max_length"] <= b["end"] else ""
        console.print(f"  {b['start']:>6}–{b['end']:<6} {bar} {b['count']}{cut}")


def _print_rewards(console: Console, line: Any, report: dict[str, Any]) -> None:
    """The fields beside the prompt, what each reward reads of them, and the ones missing."""
    fields = ", ".join(report["row_fields"]) or "none beside the prompt"
    line("fields", f"{fields} (they reach the reward functions as keyword arguments)")
    for number, reads in enumerate(report.get("rewards", []), start=1):
        line(f"reward {number}", f"{reads['label']}: {reward_reads(reads)}")
    for sentence in report.get("reward_problems", []):
        console.print(safe_text(f"  {sentence}", "bold red"))


def reward_reads(reads: dict[str, Any]) -> str:
    """`reads answer`, `reads answer, and any other field (**kwargs)`, `reads no field`."""
    named = [
        f"`{name}`" + (" (missing)" if name in reads["missing"] else "") for name in reads["needs"]
    ]
    named += [f"`{name}` if there" for name in reads["may_read"]]
    said = "reads " + (", ".join(named) if named else "no field")
    if reads["any_field"]:
        said += ", and may read any other (**kwargs)"
    if reads["problem"]:
        said = "cannot be read"
    return said


def _print_problems(console: Console, report: dict[str, Any]) -> None:
    shown = len(report["problems"])
    console.print(
        Text(f"\n{report['problem_count']} bad rows (first {shown} shown):", style="bold red")
    )
    for p in report["problems"]:
        console.print(safe_text(f"  {p['where']}: {p['message']}"))
    console.print(
        "Fix them, or train with skip_bad_rows: true to leave them out (they are counted).",
        markup=False,
    )


def _print_example(console: Console, example: dict[str, Any]) -> None:
    if "answers" in example:
        _print_answers(console, example)
        return
    plain = console.no_color or not console.is_terminal
    legend = "trained text in «»" if plain else "trained text in green"
    console.print(
        Text(
            f"\nexample {example['number']} ({safe(example['where'])}): {example['tokens']} tokens, "
            f"{example['trained_tokens']} trained; {legend}, special tokens in magenta",
            style="bold",
        )
    )
    text = Text()
    inside = False  # within a trained run, for the «» markers
    for seg in example["segments"]:
        style = "bold green" if seg["trained"] else "dim"
        if seg["special"]:
            style = "bold magenta" if seg["trained"] else "magenta"
        if plain and seg["trained"] != inside:
            text.append("«" if seg["trained"] else "»")
            inside = seg["trained"]
        text.append(safe(seg["text"]), style=style)
    if inside:
        text.append("»")
    if example["truncated"]:
        text.append("  [cut at max_length]", style="bold yellow")
    console.print(text)


def _print_answers(console: Console, example: dict[str, Any]) -> None:
    """A preference row: the prompt once, as the template renders it, then the answers side by
    side, each with its token count (an unpaired row: its one answer and its label)."""
    console.print(
        Text(
            f"\nexample {example['number']} ({safe(example['where'])}): the prompt, "
            f"{example['prompt_tokens']} tokens (special tokens in magenta)",
            style="bold",
        )
    )
    prompt = Text()
    for seg in example["prompt_segments"]:
        prompt.append(safe(seg["text"]), style="magenta" if seg["special"] else "dim")
    console.print(prompt)
    table = Table(show_lines=False, expand=True)
    for answer in example["answers"]:
        table.add_column(Text(_answer_title(answer, example["label"])), ratio=1)
    table.add_row(*(safe_text(answer["text"]) for answer in example["answers"]))
    console.print(table)


def _answer_title(answer: dict[str, Any], label: bool | None) -> str:
    title = f"{answer['side']} · {answer['tokens']} tokens"
    if label is not None:
        title += " · label: " + ("true (desirable)" if label else "false (undesirable)")
    return title + (" · cut at max_length" if answer["truncated"] else "")
