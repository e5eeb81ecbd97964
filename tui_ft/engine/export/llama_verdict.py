"""What the llama.cpp run of a GGUF (llama_check) says about it: the prompt it rendered and cut
into tokens against the run's own, the tokens it stops at, the perplexity of held-out rows
against the run's float32 model, and which of those fail the export."""

from __future__ import annotations

from typing import Any

from tui_ft.core.datasets.load import Message
from tui_ft.core.export.formats import LLAMA_QUANTS
from tui_ft.engine.export.check import lost_answers
from tui_ft.engine.export.llama_check import Runtime, perplexity
from tui_ft.engine.export.merge import ExportJob
from tui_ft.engine.probes import prompt_ids
from tui_ft.engine.tokenize import render, with_system_prompt

# How much higher the file's perplexity on held-out rows may be than the float32 model's.
# Rounding raises it a little (llama.cpp's own figures for Llama-3-8B: Q8_0 +0.1%, Q6_K +0.3%,
# Q5_K_M +1%, Q4_K_M +3%), small models more (SmolLM2-135M: see docs/export.md); a broken file
# (a wrong template, layout or tokenizer) multiplies it. The bounds leave small models room.
PERPLEXITY_BOUNDS = {
    "f16": 1.01,
    "bf16": 1.05,
    "q8_0": 1.02,
    "q6_k": 1.05,
    "q5_k_m": 1.10,
    "q4_k_m": 1.25,
}


def runtime_report(
    job: ExportJob,
    tokenizer: Any,
    runtime: Runtime,
    rows_from: str,
    float_nll: tuple[float, int],
    quant: str,
) -> dict[str, Any]:
    system = job.config.system_prompt
    expected = [
        render(tokenizer, with_system_prompt([Message("user", p)], system), True)
        for p in job.prompts
    ]
    ids = [prompt_ids(tokenizer, p, system) for p in job.prompts]
    rendered_apart = [i for i, text in enumerate(runtime.rendered) if text != expected[i]]
    cut_apart = [i for i, got in enumerate(runtime.ids) if got != ids[i]]
    gguf_ppl, float_ppl = perplexity(runtime.nll), perplexity(float_nll)
    report: dict[str, Any] = {
        "engine": runtime.engine,
        "template_same": not rendered_apart,
        "token_ids_same": not cut_apart,
        "stops": runtime.eog,
        "answers_ended": sum(runtime.stopped),
        "perplexity": {
            "rows_from": rows_from,
            "tokens": float_nll[1],
            "gguf": gguf_ppl,
            "float32": float_ppl,
            "delta": gguf_ppl - float_ppl,
            "ratio": gguf_ppl / float_ppl if float_ppl else None,
            "bound": PERPLEXITY_BOUNDS.get(quant),
        },
    }
    if rendered_apart:
        i = rendered_apart[0]
        report["template_example"] = {"llama.cpp": runtime.rendered[i], "run": expected[i]}
    if cut_apart:
        report["token_ids_example"] = {"prompt": job.prompts[cut_apart[0]]}
    return report


def runtime_failures(quant: str, report: dict[str, Any]) -> list[str]:
    runtime = report["runtime"]
    failures = []
    if not runtime["template_same"]:
        failures.append(
            "llama.cpp renders the GGUF's chat template differently from the run's (the "
            "check report has both renderings): the model would be prompted unlike in training"
        )
    if not runtime["token_ids_same"]:
        failures.append(
            "llama.cpp cuts the rendered prompts into other tokens than the run's tokenizer "
            f"(e.g. {runtime['token_ids_example']['prompt']!r})"
        )
    ignored = [token for token, stops in runtime["stops"].items() if not stops]
    if ignored:
        failures.append(
            f"llama.cpp does not stop generating at {', '.join(ignored)}: answers would run on "
            "past the end of the turn"
        )
    return failures + quality_failures(quant, report)


def quality_failures(quant: str, report: dict[str, Any]) -> list[str]:
    """The failures a finer weight type can mend: the file reads and stops like the run, but
    rounding cost it perplexity or held-out answers."""
    runtime = report["runtime"]
    failures = []
    ppl = runtime["perplexity"]
    if ppl["ratio"] is not None and ppl["bound"] is not None and ppl["ratio"] > ppl["bound"]:
        failures.append(
            f"the {quant} GGUF's perplexity on {ppl['rows_from']} is {ppl['gguf']:.3f}, "
            f"{ppl['ratio']:.3f} × the float32 model's {ppl['float32']:.3f}; {quant} is "
            f"allowed {ppl['bound']}×"
        )
    if quant not in LLAMA_QUANTS and report["same_first_token"] < report["total"]:
        differ = report["total"] - report["same_first_token"]
        failures.append(
            f"the {quant} GGUF starts {differ} of {report['total']} answers with another token "
            "than the run's model in llama.cpp"
        )
    if quant in LLAMA_QUANTS:
        lost = lost_answers(report["prompts"])
        if lost:
            failures.append(
                f"the {quant} GGUF no longer says the expected words in {len(lost)} held-out "
                f"answer(s) the run's model got right (e.g. {lost[0]!r})"
            )
    return failures
