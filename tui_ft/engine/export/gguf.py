"""Export a finished run as a GGUF file (llama.cpp, LM Studio) or as an Ollama model (the GGUF and
a Modelfile), then check it the way the merged export is checked: the file is loaded back with
transformers (`gguf_file=`), tokenizer included, and answers the run's probe prompts greedily
next to the unmerged model.

The GGUF is written from the merged model in memory (the same merge as `--format merged`, see
export.py), into a temporary folder that replaces the earlier export only once it is complete.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui_ft.core.datasets.load import Message, load_dataset, split_examples
from tui_ft.core.errors import UserError
from tui_ft.core.export.formats import (
    LLAMA_QUANTS,
    QUANTS,
    default_quant,
    gguf_refusal,
)
from tui_ft.core.export.quantized_base import base_gguf, imatrix_refusal
from tui_ft.core.methods import method_named
from tui_ft.core.models.gguf_header import read_gguf_header
from tui_ft.core.runs.layout import RunDir
from tui_ft.engine.export.check import Replay, compare, first_token_moves, replay
from tui_ft.engine.export.gguf_tokenizer import end_of_turn_id
from tui_ft.engine.export.gguf_writer import GGUFFacts, estimated_size, write_gguf
from tui_ft.engine.export.imatrix import importance
from tui_ft.engine.export.llama_check import (
    MAX_CONTEXT,
    Row,
    Runtime,
    answer_rows,
    llama_cpp_available,
    llama_nll,
    open_gguf,
    run_prompts,
    scored_rows,
    torch_nll,
)
from tui_ft.engine.export.llama_quantize import Quantized, quantize, require_llama_cpp
from tui_ft.engine.export.llama_verdict import (
    quality_failures,
    runtime_failures,
    runtime_report,
)
from tui_ft.engine.export.merge import (
    ExportJob,
    base_folder,
    chat_generation_config,
    ensure_room,
    free_memory,
    fresh_tmp,
    merged_model,
    output_tokenizer,
    put_in_place,
    start_job,
    what_it_is_compared_with,
    write_marker,
    write_report,
)
from tui_ft.engine.export.ollama_modelfile import write_modelfile
from tui_ft.engine.export.use_it import with_usage
from tui_ft.engine.probes import MAX_NEW_TOKENS, prompt_ids
from tui_ft.engine.tokenize import render, with_system_prompt

# f16 keeps the float32-merged weights closely enough that every answer must match (the demo:
# 12/12). q8_0 moves every weight a little, and so does bf16 (8 bits of mantissa: the adapter's
# small deltas round away), and greedy answers can part ways after a few words, so those are
# held to the first answer token's logits instead: no logit may move by more than this share of
# their spread (standard deviation over the vocabulary). A broken file (wrong layout, wrong
# tokenizer) moves them by whole spreads; rounding by a tenth or two (SmolLM2-135M q8_0: 0.17).
ROUNDING_BOUND = 0.5
BOUNDED_QUANTS = ("bf16", "q8_0")
PERPLEXITY_ROWS = 16  # held-out rows scored: enough for a stable figure, seconds on a CPU
# Besides the probe prompts, texts that exercise the tokenizer: spaces, digits, accents, emoji.
TOKENIZER_SAMPLES = [
    "Hello there! How can I help you today?",
    "  two  spaces,\ttabs and\nnew lines  ",
    "Order 66 arrived at 12:45, costing $3.14 (1234567 units).",
    "Émigrés in Zürich say naïve things about 東京 🙂",
]


def export_gguf(
    run: RunDir,
    out: Path | None = None,
    progress: Callable[[str], None] | None = None,
    quant: str | None = None,
    imatrix: bool = False,
) -> dict[str, Any]:
    """Write the run's model as one GGUF file in `out` (default: the run's export/gguf-QUANT),
    check it, and return the check report (saved beside the folder: export/gguf-QUANT.check.json).
    `imatrix`: guide a k-quant with an importance matrix from the run's training data."""
    return _export("gguf", run, out, progress, quant, imatrix)


def export_ollama(
    run: RunDir,
    out: Path | None = None,
    progress: Callable[[str], None] | None = None,
    quant: str | None = None,
    imatrix: bool = False,
) -> dict[str, Any]:
    """Like export_gguf, with a Modelfile next to the GGUF (default folder: export/ollama-QUANT)."""
    return _export("ollama", run, out, progress, quant, imatrix)


def gguf_file_name(run_name: str, quant: str) -> str:
    return f"{run_name}-{quant}.gguf"


def _export(
    fmt: str,
    run: RunDir,
    out: Path | None,
    progress: Callable[[str], None] | None,
    quant: str | None,
    imatrix: bool = False,
) -> dict[str, Any]:
    quant = quant or default_quant(fmt)
    if quant not in QUANTS:
        raise UserError(
            f"GGUF export writes {', '.join(QUANTS)}; {quant!r} is not one of them.",
            f"Pick one with --quant (default {default_quant(fmt)}).",
        )
    if imatrix and quant not in LLAMA_QUANTS:
        raise UserError(
            f"--imatrix guides llama.cpp's k-quants ({', '.join(LLAMA_QUANTS)}); {quant} is "
            "rounded the same way with or without one.",
            "Drop --imatrix, or add --quant q4_k_m.",
        )
    if quant in LLAMA_QUANTS:
        require_llama_cpp(f"a {quant} GGUF")  # before a model is loaded
    job = _start(run, fmt, out, progress, quant)
    refusal = imatrix_refusal(job.config) if imatrix else None
    if refusal is not None:
        raise refusal  # see core/export/quantized_base.py
    tokenizer = output_tokenizer(run)
    name = gguf_file_name(run.name, quant)
    # The k-quants are made by llama.cpp from an f16 file written first.
    written = "f16" if quant in LLAMA_QUANTS else quant
    in_llama = llama_cpp_available()
    tmp = fresh_tmp(job.out)
    quantized: Quantized | None = None
    matrix: dict[str, Any] | None = None
    try:
        model, reference, _ = merged_model(job, tokenizer, "float32")
        dtype = job.source_dtype
        rows, rows_from = _perplexity_rows(job, tokenizer, reference) if in_llama else ([], "")
        float_nll = torch_nll(model, rows) if rows else (0.0, 0)
        matrix = _importance(job, model, tokenizer) if imatrix else None
        with job.stage("write", f"writing {name} ({written}) to {job.out}…"):
            ensure_room(estimated_size(model, written), tmp, f"the {written} GGUF file")
            facts = write_gguf(
                model,
                tokenizer,
                tmp / gguf_file_name(run.name, written),
                written,
                name=run.name,
                source_pre=_source_pre(job),
            )
        del model
        free_memory()
        if quant in LLAMA_QUANTS:
            source = tmp / gguf_file_name(run.name, written)
            with job.stage("quantize", f"quantizing to {quant} with llama.cpp's quantizer…"):
                quantized = quantize(source, tmp / name, quant, matrix)
            source.unlink()
        ollama = write_modelfile(job, tokenizer, tmp, name) if fmt == "ollama" else None
        write_marker(tmp, job, quant=quant, file=name)
        runtime: Runtime | None = None
        if in_llama:
            runtime = _run_in_llama(job, tmp / name, tokenizer, rows)
            exported = runtime.replay
            loaded = _gguf_tokenizer(tmp, name)
        else:
            exported, loaded = _load_back(job, tmp, name)
        tokenizer_check = _tokenizer_check(job, tokenizer, loaded, tmp / name)
        del loaded
        free_memory()
        put_in_place(job, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    comparison = compare(job.prompts, reference, exported, job.expect)
    report = _report(job, name, quant, dtype, facts, comparison, (reference, exported))
    report["tokenizer"] = tokenizer_check
    report["failures"] += _tokenizer_failures(tokenizer_check)
    report["passed"] = not report["failures"]
    if matrix is not None:
        report["imatrix"] = {"tensors": len(matrix), "tokens": job.imatrix_tokens}
    if quantized is not None:
        report["tensor_types"] = quantized.tensor_types
        report["fallbacks"] = quantized.fallbacks
        report["fallback_widths"] = quantized.fallback_widths
        report["quantizer_log"] = quantized.log  # llama.cpp's own lines, for a look
    if runtime is not None:
        report["runtime"] = runtime_report(job, tokenizer, runtime, rows_from, float_nll, quant)
        report["failures"] += runtime_failures(quant, report)
        report["passed"] = not report["failures"]
        # Only rounding's fault: a finer type mends it (core.export.report.finer_quants).
        worse = quality_failures(quant, report)
        report["answers_worse"] = bool(worse) and report["failures"] == worse
    if ollama is not None:
        report["ollama"] = ollama
    write_report(job.report_path, with_usage(report, run, job.config))
    return report


def _start(
    run: RunDir,
    fmt: str,
    out: Path | None,
    progress: Callable[[str], None] | None,
    quant: str,
) -> ExportJob:
    job = start_job(run, fmt, out, progress, quant)
    refusal = gguf_refusal(_model_type(job))
    if refusal:
        raise UserError(refusal, "`tui-ft export RUN --format merged` writes any model.")
    return job


def _model_type(job: ExportJob) -> str | None:
    """Read from config.json, so an unsupported model is refused before any weights load."""
    folder = (
        job.run.output_dir
        if method_named(job.config.method).trains_base
        else Path(base_folder(job.config))
    )
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    return config.get("model_type")


def _source_pre(job: ExportJob) -> str | None:
    """How the base model's own GGUF said to split text, when the base came from one (the demo
    does): its converted tokenizer.json no longer tells llama.cpp's names apart."""
    source = base_gguf(job.config)
    pre = read_gguf_header(source).metadata.get("tokenizer.ggml.pre") if source else None
    return pre if isinstance(pre, str) else None


# --- the check -----------------------------------------------------------------------------------


def _load_back(job: ExportJob, folder: Path, name: str) -> tuple[Replay, Any]:
    """What the GGUF answers, loaded as anyone else would load it: its weights, config and
    tokenizer all come from the file. In float32, as the reference was computed (see
    merged_model), so that only what the file changed can differ; transformers' GGUF kernels
    compute in float32 anyway."""
    import torch
    from transformers import AutoModelForCausalLM

    with job.stage("check", "checking: loading the GGUF back with transformers…"):
        tokenizer = _gguf_tokenizer(folder, name)
        model = AutoModelForCausalLM.from_pretrained(
            str(folder), gguf_file=name, dtype=torch.float32, **_unpacked()
        )
        model.generation_config = chat_generation_config(model.generation_config, tokenizer)
        exported = replay(model, tokenizer, job.prompts, job.config.system_prompt)
    del model
    return exported, tokenizer


def _gguf_tokenizer(folder: Path, name: str) -> Any:
    """The tokenizer transformers rebuilds from the file's metadata alone."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), gguf_file=name)


def _run_in_llama(job: ExportJob, file: Path, tokenizer: Any, rows: list[Row]) -> Runtime:
    """The file answering the prompts, and scoring the held-out rows, in llama.cpp."""
    longest = max([len(row.ids) for row in rows] + [len(i) for i in _prompt_ids(job, tokenizer)])
    n_ctx = min(MAX_CONTEXT, max(512, longest + MAX_NEW_TOKENS + 8))
    with job.stage("check", f"checking: running {file.name} in llama.cpp…"):
        llm = open_gguf(file, n_ctx)
        try:
            runtime = run_prompts(
                llm, job.prompts, job.config.system_prompt, MAX_NEW_TOKENS, _watched(tokenizer)
            )
            runtime.nll = llama_nll(llm, rows) if rows else (0.0, 0)
        finally:
            llm.close()
    return runtime


def _watched(tokenizer: Any) -> dict[str, int]:
    """The tokens llama.cpp must stop at: the run's EOS and its end-of-turn token."""
    ids = [tokenizer.eos_token_id, end_of_turn_id(tokenizer)]
    return {tokenizer.convert_ids_to_tokens(i): i for i in ids if isinstance(i, int)}


def _prompt_ids(job: ExportJob, tokenizer: Any) -> list[list[int]]:
    return [prompt_ids(tokenizer, p, job.config.system_prompt) for p in job.prompts]


def _importance(job: ExportJob, model: Any, tokenizer: Any) -> dict[str, Any]:
    """The importance matrix, from the training split (the perplexity is on the other one)."""
    config = job.config
    with job.stage("imatrix", "computing an importance matrix from the training rows…"):
        dataset = load_dataset(config.dataset, config.dataset_format, config.dataset_columns)
        train, _ = split_examples(dataset.examples, config.eval_split, config.seed)
        matrix, job.imatrix_tokens = importance(model, tokenizer, train, config.system_prompt)
    return matrix


def _perplexity_rows(job: ExportJob, tokenizer: Any, reference: Replay) -> tuple[list[Row], str]:
    """The run's held-out rows (its eval split), else its own answers to the probe prompts."""
    config = job.config
    try:
        dataset = load_dataset(config.dataset, config.dataset_format, config.dataset_columns)
        _, held_out = split_examples(dataset.examples, config.eval_split, config.seed)
    except UserError:
        held_out = []  # the dataset moved since training: the answers below still tell
    rows = scored_rows(tokenizer, held_out, config.system_prompt, PERPLEXITY_ROWS)
    if rows:
        return rows, f"{len(rows)} held-out rows of {config.dataset} (their answer tokens)"
    rows = answer_rows(tokenizer, job.prompts, reference.answers, config.system_prompt)
    return rows, "the run's own answers to the probe prompts (the run has no held-out rows)"


def _unpacked() -> dict[str, Any]:
    """Unpack the file's weights once, at load. transformers 5.24 otherwise keeps them packed
    and, with no matmul kernel for the machine (a CPU without the `kernels` package), unpacks
    every weight at every forward: on the demo's q8_0 file that gave the same logits (difference
    0.0) 5.5 times slower, which made the check most of a 10-minute export."""
    try:
        from transformers import GgufConfig
    except ImportError:  # a transformers that always unpacks at load
        return {}
    return {"quantization_config": GgufConfig(dequantize=True)}


def _tokenizer_check(job: ExportJob, original: Any, loaded: Any, file: Path) -> dict[str, Any]:
    """Does the GGUF's tokenizer cut the same texts into the same ids, and does the file name
    the same special tokens (the end-of-turn token read straight from its metadata, since
    transformers' reader ignores it and llama.cpp stops on it)?"""
    prompts = [
        render(original, with_system_prompt([Message("user", p)], job.config.system_prompt), True)
        for p in job.prompts
    ]
    differing = [
        text
        for text in [*prompts, *TOKENIZER_SAMPLES]
        if _ids(original, text) != _ids(loaded, text)
    ]
    metadata = read_gguf_header(file).metadata
    eot_id = metadata.get("tokenizer.ggml.eot_token_id")
    expected_eot = end_of_turn_id(original)
    return {
        "texts": len(prompts) + len(TOKENIZER_SAMPLES),
        "same_ids": not differing,
        "differing": differing[:3],
        "chat_template_same": loaded.chat_template == original.chat_template,
        "eos_token": loaded.eos_token,
        "eos_same": loaded.eos_token == original.eos_token,
        "bos_token": loaded.bos_token,
        "pad_token": loaded.pad_token,
        "eot_token": original.convert_ids_to_tokens(eot_id) if isinstance(eot_id, int) else None,
        "eot_same": eot_id == expected_eot,
        "add_bos_token": metadata.get("tokenizer.ggml.add_bos_token"),
    }


def _ids(tokenizer: Any, text: str) -> tuple[list[int], list[int]]:
    # With and without the tokenizer's own BOS/EOS, which the GGUF must also say to add.
    return tokenizer(text)["input_ids"], tokenizer(text, add_special_tokens=False)["input_ids"]


def _report(
    job: ExportJob,
    name: str,
    quant: str,
    dtype: str,
    facts: GGUFFacts,
    comparison: dict[str, Any],
    replays: tuple[Replay, Replay],
) -> dict[str, Any]:
    moves = first_token_moves(*replays)
    failures = _failures(quant, comparison, moves["max_logit_diff_share_of_spread"])
    return {
        "format": job.fmt,
        "run": job.run.name,
        "method": job.config.method,
        "base_model": job.config.model,
        "path": str(job.out / name),
        "folder": str(job.out),
        "size_bytes": (job.out / name).stat().st_size,
        "quant": quant,
        "dtype": dtype,
        "architecture": facts.architecture,
        "tensor_types": facts.tensor_types,
        "tokenizer_model": facts.vocab.model,
        "tokenizer_pre": facts.vocab.pre,
        "against": what_it_is_compared_with(job.config.method),
        "prompts_from": job.prompts_from,
        "rule": _rule(quant),
        "passed": not failures,
        "failures": failures,
        **comparison,
        **moves,
        "bound": ROUNDING_BOUND if quant in BOUNDED_QUANTS else None,
        "notes": facts.notes,
        "seconds": job.seconds,
        "created": time.time(),
    }


def _rule(quant: str) -> str:
    if quant in LLAMA_QUANTS:
        return (
            f"{quant}: every held-out answer that says the expected words on the run's model "
            "must still say them, and the perplexity of held-out rows may rise by at most "
            f"the bound for {quant}; identical answers and first tokens are reported"
        )
    if quant in BOUNDED_QUANTS:
        return (
            f"{quant}: no first-token logit may move by more than {ROUNDING_BOUND} of the "
            "logits' spread (standard deviation); identical answers are reported, not required"
        )
    return f"{quant}: every probe answer must be identical"


def _failures(quant: str, comparison: dict[str, Any], share: float) -> list[str]:
    failures = []
    differ = comparison["total"] - comparison["identical"]
    if quant not in (*BOUNDED_QUANTS, *LLAMA_QUANTS) and differ:
        failures.append(
            f"the {quant} GGUF answers {differ} of {comparison['total']} probe prompts "
            "differently from the run's model"
        )
    if quant in BOUNDED_QUANTS and share > ROUNDING_BOUND:
        failures.append(
            f"the {quant} GGUF's first-token logits moved by {share:.2f} of their spread, more "
            f"than the {ROUNDING_BOUND} {quant} rounding explains"
        )
    return failures


def _tokenizer_failures(tokenizer: dict[str, Any]) -> list[str]:
    failures = []
    if not tokenizer["chat_template_same"]:
        failures.append("the GGUF's chat template differs from the run's")
    if not tokenizer["eos_same"]:
        failures.append(f"the GGUF's end-of-sequence token is {tokenizer['eos_token']!r}")
    if not tokenizer["eot_same"]:
        failures.append("the GGUF does not name the run's end-of-turn token")
    return failures
