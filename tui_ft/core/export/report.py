"""The sentences an export's check report is told in, for `tui-ft export` and the Export
screen alike. Pure Python: it reads the report's JSON (see tui_ft.engine.export.merge*)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_ft.core.export.formats import FINER_QUANTS
from tui_ft.core.methods import method_named
from tui_ft.core.units import format_bytes


def report_lines(report: dict[str, Any], report_path: Path) -> list[str]:
    """What `tui-ft export` prints after the export, one line each (the Export screen shows
    the same lines; the commands to run the export follow, see usage.usage_lines)."""
    lines = [f"exported: {report['path']}", size_line(report), check_sentence(report)]
    if "expected_words" in report:
        lines += expected_words_lines(report)
    as_trained = report.get("as_trained")
    if as_trained:
        lines.append(as_trained_sentence(as_trained))
    if "runtime" in report:
        lines += runtime_lines(report["runtime"])
    if "tokenizer" in report:
        lines.append(tokenizer_sentence(report["tokenizer"]))
    if report.get("imatrix"):
        matrix = report["imatrix"]
        lines.append(
            f"importance matrix: {matrix['tensors']} tensors, from {matrix['tokens']} tokens of "
            "the run's training rows"
        )
    if report.get("fallbacks"):
        lines.append(fallback_sentence(report))
    lines += [f"note: {note}" for note in report.get("notes", [])]
    ollama = report.get("ollama")
    if ollama:
        if ollama["template_note"]:
            lines.append(f"note: {ollama['template_note']}")
        lines.append(
            f"Modelfile: {ollama['modelfile']} ({ollama['template_style']} template, "
            f"stops at {', '.join(ollama['stops'])})"
        )
    if report.get("card"):
        lines.append(f"model card: {report['card']} (`tui-ft push` uploads it with the model)")
    lines.append(f"check report: {report_path}")
    return lines


def runtime_lines(runtime: dict[str, Any]) -> list[str]:
    """E.g. in llama.cpp (llama-cpp-python 0.3.36): the chat template renders the run's prompts
    exactly, into the same tokens; stops at <|im_end|>; held-out perplexity 3.10 vs 3.05."""
    template = (
        "renders the run's prompts exactly"
        if runtime["template_same"]
        else "renders the prompts UNLIKE the run"
    )
    ids = "into the same tokens" if runtime["token_ids_same"] else "into OTHER tokens"
    stops = ", ".join(
        token if stops else f"not at {token}" for token, stops in runtime["stops"].items()
    )
    lines = [f"in {runtime['engine']}: the chat template {template}, {ids}; stops at {stops}"]
    ppl = runtime["perplexity"]
    if ppl["tokens"]:
        lines.append(
            f"perplexity on {ppl['rows_from']}: {ppl['gguf']:.3f} in llama.cpp vs "
            f"{ppl['float32']:.3f} for the float32 model ({_signed_percent(ppl['ratio'])}; "
            f"allowed up to {_signed_percent(ppl['bound'])})"
        )
    return lines


def fallback_sentence(report: dict[str, Any]) -> str:
    """The tensors llama.cpp could not give the k-quant type (rows not a multiple of 256)."""
    counts = ", ".join(f"{len(names)} as {kind}" for kind, names in report["fallbacks"].items())
    widths = ", ".join(str(w) for w in report["fallback_widths"])
    total = sum(len(names) for names in report["fallbacks"].values())
    return (
        f"note: {total} tensors are not {report['quant']} ({counts}): their rows ({widths} "
        "wide) do not split into the 256-weight blocks k-quants need"
    )


def _signed_percent(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{(ratio - 1) * 100:+.1f}%"


def size_line(report: dict[str, Any]) -> str:
    size = format_bytes(report["size_bytes"])
    if "quant" in report:
        return f"size: {size} ({report['quant']} GGUF, from {report['dtype']} weights)"
    return f"size: {size} ({report['dtype']})"


def check_sentence(report: dict[str, Any]) -> str:
    """E.g. 4/4 probe answers identical to the adapter's; max logit difference 2e-6."""
    whose = _whose(report)
    sentence = (
        f"{report['identical']}/{report['total']} probe answers identical to {whose}; "
        f"max logit difference {short_number(report['max_logit_diff'])}"
    )
    if report.get("bound") is not None:
        sentence += (
            f" ({report['max_logit_diff_share_of_spread']:.2f} of the logits' spread; "
            f"{_rounding(report)} passes up to {round(report['bound'], 2):g}); "
            f"{report['same_first_token']}/{report['total']} first answer tokens identical"
        )
    return sentence


def expected_words_lines(report: dict[str, Any]) -> list[str]:
    """E.g. held-out prompts: the export says the expected words in 11 of 11 answers (the
    adapter's: 11 of 11), then each answer that misses them."""
    counts = report["expected_words"]
    whose = _whose(report)
    lines = [
        f"held-out prompts: the export says the expected words in {counts['export']} of "
        f"{counts['judged']} answers ({whose}: {counts['reference']} of {counts['judged']})"
    ]
    for row in report["prompts"]:
        if "expect" in row and not row["export_says_expected"]:
            answer = " ".join(row["export"].split())
            lines.append(
                f"  missed {', '.join(row['expect'])}: {row['prompt']!r} -> {answer[:100]!r}"
            )
    return lines


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


def finer_quants(report: dict[str, Any]) -> tuple[str, ...]:
    """The finer weight types to try, nearest first, when rounding alone failed the check (the
    file reads and stops like the run's model, but lost perplexity or held-out answers)."""
    if not report.get("answers_worse"):
        return ()
    return FINER_QUANTS.get(report.get("quant", ""), ())


def failure_sentence(report: dict[str, Any]) -> str:
    if report.get("failures"):
        finer = finer_quants(report)
        # Small models lose facts first at 4–5 bits: the next finer type is the usual way out.
        hint = (
            f" A finer type keeps more of what the run learned: try --quant {', then '.join(finer)}."
            if finer
            else ""
        )
        return (
            f"error: {'; '.join(report['failures'])}. The check report has the details; the "
            f"export was kept in {report['folder']} for a look.{hint}"
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


def _rounding(report: dict[str, Any]) -> str:
    """What rounded the weights: the GGUF weight type, or the merge into a 16-bit dtype."""
    return report.get("quant") or f"a {report['dtype']} merge"


def _whose(report: dict[str, Any]) -> str:
    """Whose answers the export's are compared with: the run's own model or its adapter."""
    return "the trained model's" if method_named(report["method"]).trains_base else "the adapter's"
