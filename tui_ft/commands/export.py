"""`tui-ft export RUN [--format merged|gguf|ollama] [--quant f16|bf16|q8_0] [--out DIR]`: write a
finished run's model in a form other tools load, then prove it answers like the run's model did
(see tui_ft.engine.export and tui_ft.engine.export_gguf)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from tui_ft.core.errors import UserError
from tui_ft.core.export_formats import DEFAULT_QUANT, FORMATS, check_report_path
from tui_ft.core.rundir import RunDir
from tui_ft.core.units import format_bytes


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
    run_dir = RunDir.open(args.run)
    out = Path(args.out) if args.out else None
    report = _export(fmt.name, run_dir, out, quant or DEFAULT_QUANT)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(report, check_report_path(run_dir.path, fmt.name))
    if not report["passed"]:
        print(failure_sentence(report), file=sys.stderr)
        return 1
    return 0


def _export(fmt: str, run_dir: RunDir, out: Path | None, quant: str) -> dict[str, Any]:
    # The heavy stack loads only once the arguments and the run have been checked.
    from transformers.utils import logging

    from tui_ft.engine.export import export_merged
    from tui_ft.engine.export_gguf import export_gguf, export_ollama

    logging.disable_progress_bar()  # per-shard bars would bury the progress lines
    # Libraries' deprecation notices speak to developers, not to the person exporting.
    warnings.filterwarnings("ignore", category=FutureWarning)
    print(f"run {run_dir.name}: exporting as {fmt}", file=sys.stderr)
    if fmt == "gguf":
        return export_gguf(run_dir, out, _say, quant=quant)
    if fmt == "ollama":
        return export_ollama(run_dir, out, _say, quant=quant)
    return export_merged(run_dir, out, _say)


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def print_report(report: dict[str, Any], report_path: Path) -> None:
    print(f"exported: {report['path']}")
    if "quant" in report:
        print(
            f"size: {format_bytes(report['size_bytes'])} ({report['quant']} GGUF, "
            f"from {report['dtype']} weights)"
        )
    else:
        print(f"size: {format_bytes(report['size_bytes'])} ({report['dtype']})")
    print(check_sentence(report))
    as_trained = report.get("as_trained")
    if as_trained:
        print(as_trained_sentence(as_trained))
    if "tokenizer" in report:
        print(tokenizer_sentence(report["tokenizer"]))
    for note in report.get("notes", []):
        print(f"note: {note}")
    ollama = report.get("ollama")
    if ollama:
        if ollama["template_note"]:
            print(f"note: {ollama['template_note']}")
        print(
            f"Modelfile: {ollama['modelfile']} ({ollama['template_style']} template, "
            f"stops at {', '.join(ollama['stops'])})"
        )
        print(f"import it into Ollama with:\n  {ollama['command']}")
    print(f"check report: {report_path}")


def check_sentence(report: dict[str, Any]) -> str:
    """E.g. 4/4 probe answers identical to the adapter's; max logit difference 2e-6."""
    whose = "the trained model's" if report["method"] == "full" else "the adapter's"
    sentence = (
        f"{report['identical']}/{report['total']} probe answers identical to {whose}; "
        f"max logit difference {short_number(report['max_logit_diff'])}"
    )
    if report.get("bound") is not None:
        sentence += (
            f" ({report['max_logit_diff_share_of_spread']:.2f} of the logits' spread; "
            f"{report['quant']} passes up to {report['bound']}); "
            f"{report['same_first_token']}/{report['total']} first answer tokens identical"
        )
    return sentence


def tokenizer_sentence(check: dict[str, Any]) -> str:
    ids = (
        f"same token ids on {check['texts']} texts"
        if check["same_ids"]
        else f"different token ids on some texts (e.g. {check['differing'][0]!r})"
    )
    template = "chat template carried over" if check["chat_template_same"] else "chat template lost"
    return (
        f"tokenizer: {ids}; {template}; EOS {check['eos_token']}, "
        f"end of turn {check['eot_token'] or 'missing'}"
    )


def as_trained_sentence(as_trained: dict[str, Any]) -> str:
    if "skipped" in as_trained:
        return f"compared with {as_trained['against']}: skipped, {as_trained['skipped']}"
    return (
        f"compared with {as_trained['against']}: {as_trained['identical']}/"
        f"{as_trained['total']} identical, max logit difference "
        f"{short_number(as_trained['max_logit_diff'])} (de-quantizing moves the base weights slightly)"
    )


def failure_sentence(report: dict[str, Any]) -> str:
    if report.get("failures"):
        return (
            f"error: {'; '.join(report['failures'])}. The check report has the details; the "
            f"export was kept in {report['folder']} for a look."
        )
    differ = report["total"] - report["identical"]
    return (
        f"error: the export answers {differ} of {report['total']} probe prompts differently "
        f"from {report['against']}, so it does not behave like the run's model. "
        f"The answers side by side are in the check report; the export was kept in "
        f"{report['path']} for a look."
    )


def short_number(value: float) -> str:
    """One significant digit, without the exponent's padding: 2e-6, 0.02, 0."""
    return f"{value:.1g}".replace("e-0", "e-").replace("e+0", "e+")
