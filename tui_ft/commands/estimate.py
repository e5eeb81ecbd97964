"""`tui-ft estimate`: will this run fit in memory, and if not, what would?

Reads the model's config only (no weights), the GPU's free memory through NVML (or the RAM,
without a GPU), and prints the breakdown, a verdict sentence and ranked advice; `--json` gives
the same for scripts and the UI.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.errors import UserError
from tui_ft.core.estimate.advice import Advice, advise, larger_batch
from tui_ft.core.estimate.peak import (
    GIB,
    Estimate,
    Target,
    estimate_training,
    run_options,
    target_from_snapshot,
    target_with_memory,
)
from tui_ft.core.hardware.probe import probe
from tui_ft.core.hardware.snapshot import NO_GPU_MESSAGE
from tui_ft.core.models.info import ModelInfo, read_model_info
from tui_ft.core.models.resolve import resolve_model
from tui_ft.core.safe_text import safe_text
from tui_ft.core.units import format_bytes

# argparse destination -> RunConfig field (dotted), for the options that override the config.
OVERRIDES = {
    "model": "model",
    "method": "method",
    "batch_size": "batch_size",
    "max_length": "max_length",
    "gradient_checkpointing": "gradient_checkpointing",
    "optimizer": "optimizer",
    "lora_rank": "lora.rank",
    "lora_targets": "lora.targets",
    "precision": "precision",
}


def run(args: argparse.Namespace) -> int:
    config = build_config(args)
    info = model_info(config.model)
    target = _target(args)
    options = run_options(config)
    result = estimate_training(info, config, target, options)
    advice = advise(info, config, target, result, options)
    room = larger_batch(info, config, target, result, options)
    if args.json:
        print(json.dumps(to_json(info, config, result, advice, room), indent=2))
    else:
        print_report(Console(highlight=False), info, config, result, advice, room)
    return 0


def build_config(args: argparse.Namespace) -> RunConfig:
    config = load_config(args.config) if args.config else RunConfig()
    objective = getattr(args, "objective", None)
    if objective is not None and objective != config.objective:
        # Another objective's settings mean nothing here: its defaults apply.
        config = dataclasses.replace(config, objective=objective, objective_settings={})
    for dest, key in OVERRIDES.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if dest == "lora_targets" and value == ["all-linear"]:
            value = "all-linear"
        owner: Any = config.lora if key.startswith("lora.") else config
        setattr(owner, key.removeprefix("lora."), value)
    problems = config.validate()
    if problems:
        raise UserError(problems[0], "Fix that option and retry.")
    return config


def model_info(ref: str) -> ModelInfo:
    """ModelInfo for any model reference, including a bare config.json under another name."""
    path = Path(ref).expanduser()
    if path.is_file() and path.suffix == ".json" and path.name != "config.json":
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "config.json").write_bytes(path.read_bytes())
            info = read_model_info(resolve_model(folder, allow_download=False))
        return dataclasses.replace(info, name=path.stem)
    return read_model_info(resolve_model(ref))


def _target(args: argparse.Namespace) -> Target:
    if args.gpu_memory is not None:
        if args.gpu_memory <= 0:
            raise UserError("--gpu-memory must be a positive number of GiB.")
        return target_with_memory(args.gpu_memory)  # no hardware facts needed
    return target_from_snapshot(probe(), gpu=args.gpu)


# --- output ---------------------------------------------------------------------------------


def to_json(
    info: ModelInfo,
    config: RunConfig,
    result: Estimate,
    advice: list[Advice],
    room: Advice | None,
) -> dict[str, Any]:
    return {
        "model": info.name,
        "method": config.method,
        "precision": result.precision.name,
        "device": result.target.device,
        "target": result.target.name,
        "peak_gib": _gib(result.peak_bytes),
        "required_gib": _gib(result.required_bytes),
        # The band: "fits" is judged on required_high_gib.
        "peak_low_gib": _gib(result.peak_low_bytes),
        "peak_high_gib": _gib(result.peak_high_bytes),
        "required_low_gib": _gib(result.required_low_bytes),
        "required_high_gib": _gib(result.required_high_bytes),
        "available_gib": _gib(result.available_bytes),
        "fits": result.fits,
        "phase": result.phase,
        "terms": {t.key: _gib(t.bytes) for t in result.terms},
        "terms_band": {t.key: [_gib(t.band[0]), _gib(t.band[1])] for t in result.terms},
        "breakdown": [dataclasses.asdict(t) for t in result.terms],
        "verdict": result.verdict(),
        "advice": [_advice_json(a) for a in advice],
        "larger_batch": _advice_json(room) if room else None,
        "notes": list(result.notes),
    }


def _advice_json(advice: Advice) -> dict[str, Any]:
    estimate = advice.estimate
    return {
        "key": advice.key,
        "title": advice.title,
        "why": advice.why,
        "changes": advice.changes,
        "required_gib": _gib(estimate.required_bytes) if estimate else None,
        "required_high_gib": _gib(estimate.required_high_bytes) if estimate else None,
        "fits": advice.fits,
        "first_fit": advice.first_fit,
    }


def _gib(value: int | None) -> float | None:
    return None if value is None else round(value / GIB, 3)


def print_report(
    console: Console,
    info: ModelInfo,
    config: RunConfig,
    result: Estimate,
    advice: list[Advice],
    room: Advice | None,
) -> None:
    def say(line: str, style: str = "") -> None:
        # Model names and notes come from the config and the hub: never markup, never escapes.
        console.print(safe_text(line, style), soft_wrap=True)  # sentences wrap in the terminal

    console.print(
        Text.assemble(
            safe_text(info.name, "bold"),
            safe_text(
                f" · {config.method} · {result.precision.name} "
                f"({result.precision.reason}) · batch {config.batch_size} × {config.max_length} "
                "tokens" + (" · gradient checkpointing" if config.gradient_checkpointing else "")
            ),
        ),
        soft_wrap=True,
    )
    if result.target.device == "cpu":
        say(f"{NO_GPU_MESSAGE}; estimating against the system RAM.")
    console.print(_table(result))
    say(
        f"torch peak {format_bytes(result.peak_bytes)} (at the {result.phase}); "
        f"needs {format_bytes(result.required_bytes)} with what only the driver sees, "
        f"between {format_bytes(result.required_low_bytes)} and "
        f"{format_bytes(result.required_high_bytes)} (whether it fits is judged on the "
        "higher figure)."
    )
    say(result.verdict(), "bold")
    for note in result.notes:
        say(f"note: {note}")
    if advice:
        say("\nTo make it fit, from the least costly change:")
        for number, item in enumerate(advice, 1):
            say(_advice_line(number, item))
    if room is not None:
        say(f"\n{room.title}: {room.why}")


def _table(result: Estimate) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Term")
    table.add_column("Size", justify="right")
    table.add_column("Share", justify="right")
    table.add_column("Up to", justify="right")
    table.add_column("How", overflow="fold")
    for term in result.terms:
        share = term.bytes / result.required_bytes if result.required_bytes else 0
        label = term.label + (" *" if term.outside_torch else "")
        high = term.band[1]
        table.add_row(
            safe_text(label),
            format_bytes(term.bytes),
            f"{share:.0%}",
            format_bytes(high) if high != term.bytes else "",
            safe_text(term.detail),
        )
    table.add_section()
    table.add_row(
        "Total",
        format_bytes(result.required_bytes),
        "100%",
        format_bytes(result.required_high_bytes),
        "* outside torch",
    )
    return table


def _advice_line(number: int, item: Advice) -> str:
    line = f"  {number}. {item.title}. {item.why}"
    if item.estimate is not None:
        need = format_bytes(item.estimate.required_high_bytes)
        verdict = "fits" if item.fits else "still too much"
        line += f" → needs up to {need}, {verdict}"
    if item.first_fit:
        line += "  ← first change that fits"
    return line
