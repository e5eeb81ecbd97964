"""`tui-ft export RUN [--format merged|gguf|ollama] [--quant Q] [--dtype D] [--out DIR]`: write a
finished run's model in a form other tools load, then prove it answers like the run's model did
(see tui_ft.engine.export.merge and tui_ft.engine.export.gguf)."""

from __future__ import annotations

import argparse
import logging as logging_module
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from tui_ft.core.children.env import offline_here, run_refs
from tui_ft.core.errors import UserError
from tui_ft.core.export.formats import DEFAULT_QUANT, FORMATS, check_report_path, export_target
from tui_ft.core.export.report import failure_sentence, report_lines
from tui_ft.core.export.usage import usage_lines
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.safe_text import json_for_terminal, safe
from tui_ft.core.share.artefacts import write_export_card


def run(args: argparse.Namespace) -> int:
    fmt = FORMATS[args.format]
    if not fmt.built:
        built = ", ".join(name for name, f in FORMATS.items() if f.built)
        raise UserError(
            f"export to {fmt.name} ({fmt.description}) is not built yet.",
            f"Available today: --format {built}.",
        )
    quant = getattr(args, "quant", None)
    if quant and not fmt.quantized:
        quantized = ", ".join(name for name, f in FORMATS.items() if f.quantized)
        raise UserError(
            f"--quant applies to {quantized}; the {fmt.name} export keeps the model's own dtype.",
            f"Drop --quant, or add --format gguf to write a {quant} GGUF.",
        )
    dtype = getattr(args, "dtype", None)
    if dtype and fmt.name != "merged":
        raise UserError(
            f"--dtype applies to the merged export; the {fmt.name} export's weights are set by "
            "--quant.",
            f"Drop --dtype, or use --quant (e.g. --quant {DEFAULT_QUANT}).",
        )
    run_dir = RunDir.open(args.run)
    out = Path(args.out) if args.out else None
    export_target(run_dir.path, fmt.name, out, quant)  # an unwritable destination, before any work
    imatrix = bool(getattr(args, "imatrix", False))
    if imatrix and not fmt.quantized:
        raise UserError(
            "--imatrix guides a GGUF k-quant; the merged export is not quantized.",
            "Add --format gguf --quant q4_k_m, or drop --imatrix.",
        )
    report = _export(fmt.name, run_dir, out, quant, dtype, imatrix)
    if report["passed"]:
        card = write_export_card(run_dir, fmt.name, report)  # core/share/card.py
        if card is not None:
            report["card"] = str(card)
    if args.json:
        print(json_for_terminal(report, indent=2))
    else:
        saved = report.get("check_report")
        print_report(
            report,
            Path(saved) if saved else check_report_path(run_dir.path, fmt.name, out, quant),
        )
    if not report["passed"]:
        print(safe(failure_sentence(report)), file=sys.stderr)
        return 1
    return 0


def _export(
    fmt: str,
    run_dir: RunDir,
    out: Path | None,
    quant: str | None,
    dtype: str | None,
    imatrix: bool,
) -> dict[str, Any]:
    # The heavy stack loads only once the arguments and the run have been checked.
    # tqdm reads its defaults from the environment when it is imported: transformers' GGUF
    # reader draws a bar of its own that disable_progress_bar does not reach.
    os.environ.setdefault("TQDM_DISABLE", "1")
    offline_here(run_refs(run_dir.config_path)[0])  # an export reads the model, no dataset
    # bitsandbytes (imported by peft) warns on CPUs with bf16 instructions that an optional
    # `kernels` package is missing: harmless, and an alarming line in the export's progress.
    logging_module.getLogger("bitsandbytes").setLevel(logging_module.ERROR)
    from transformers.utils import logging

    from tui_ft.engine.export.gguf import export_gguf, export_ollama
    from tui_ft.engine.export.merge import export_merged

    logging.disable_progress_bar()  # per-shard bars would bury the progress lines
    # Libraries' deprecation notices speak to developers, not to the person exporting.
    warnings.filterwarnings("ignore", category=FutureWarning)
    print(f"run {run_dir.name}: exporting as {fmt}", file=sys.stderr)
    if fmt == "gguf":
        return export_gguf(run_dir, out, _say, quant=quant, imatrix=imatrix)
    if fmt == "ollama":
        return export_ollama(run_dir, out, _say, quant=quant, imatrix=imatrix)
    return export_merged(run_dir, out, _say, dtype=dtype)


def _say(line: str) -> None:
    print(safe(line), file=sys.stderr)  # progress lines carry paths and library messages


def print_report(report: dict[str, Any], report_path: Path) -> None:
    for line in report_lines(report, report_path):  # probe answers and paths: outside text
        print(safe(line))
    if report.get("use"):
        print("use it:")
        for line in usage_lines(report["use"]):
            print(safe(f"  {line}"))
