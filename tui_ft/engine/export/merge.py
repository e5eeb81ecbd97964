"""Export a finished run as a merged, standalone model: the LoRA/QLoRA adapter folded into its
base weights (a QLoRA base is loaded without quantization, so the export is full precision),
saved as safetensors with the tokenizer, chat template and a generation config that stops at
the end of a turn. A `full` run's model is re-saved the same way.

The export is written under a temporary name and renamed into place only once it has been
loaded back with plain transformers, so a half-written export is never mistaken for a good one
and an earlier export survives a failed one. The check then compares what the export answers
to the run's probe prompts with what the unmerged model answers (see export_check).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_ft import __version__
from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.errors import UserError
from tui_ft.core.export.formats import (
    MARKER,
    MERGED_DTYPES,
    OUT_FIX,
    export_target,
    partial_prefix,
    report_beside,
)
from tui_ft.core.methods import method_named
from tui_ft.core.models.resolve import resolve_model
from tui_ft.core.paths import disk_error, ensure_writable_dir
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.liveness import effective_status, pid_alive
from tui_ft.core.runs.status import Status
from tui_ft.core.units import format_bytes
from tui_ft.engine.export.check import (
    Replay,
    compare,
    expected_words,
    first_logits,
    first_token_moves,
    lost_answers,
    probe_prompts,
    replay,
)
from tui_ft.engine.export.use_it import with_usage
from tui_ft.engine.model_loading import load_model, weights_folder
from tui_ft.engine.tokenize import end_of_turn_ids

FORMAT = "merged"
# Training state, not part of a model: a pickle nobody loading the export needs.
TRAINING_ONLY = ("training_args.bin",)
_TORCH_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
# A merge into these rounds each merged weight: held to a bound (see merged_verdict).
ROUNDED_DTYPES = ("bfloat16", "float16")
# The merge rounds each merged weight once; computing in the dtype rounds every activation at
# every layer. The same order of error, so a sound merge stays within twice the latter.
ROUNDED_FACTOR = 2.0


@dataclass
class ExportJob:
    """One export of one run: where it goes, what it is checked with, and how long each stage
    took (the report keeps the stage times)."""

    run: RunDir
    config: RunConfig
    fmt: str
    out: Path
    prompts: list[str]
    prompts_from: str
    say: Callable[[str], None]
    # Prompts whose answers should say given words (the demo's held-out identity questions).
    expect: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source_dtype: str = ""  # what the run's weights were stored in (set once loaded)
    imatrix_tokens: int = 0  # training tokens an importance matrix was computed from
    seconds: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def stage(self, name: str, message: str) -> Iterator[None]:
        self.say(message)
        started = time.monotonic()
        yield
        self.seconds[name] = round(time.monotonic() - started, 2)

    @property
    def report_path(self) -> Path:
        """Its check report, beside the folder (formats.check_report_path)."""
        return report_beside(self.out)


def export_merged(
    run: RunDir,
    out: Path | None = None,
    progress: Callable[[str], None] | None = None,
    dtype: str | None = None,
) -> dict[str, Any]:
    """Write the merged model to `out` (default: the run's export/merged) in `dtype` (default:
    the dtype the run's weights are stored in), check it, and return the check report (also
    saved as export/merged.check.json in the run directory)."""
    job = start_job(run, FORMAT, out, progress)
    tokenizer = output_tokenizer(run)
    tmp = fresh_tmp(job.out)
    try:
        reference, dtype, floor = _merge_and_write(job, tokenizer, tmp, dtype)
        free_memory()
        exported, facts = _load_back(job, tmp)
        free_memory()
        put_in_place(job, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    comparison = compare(job.prompts, reference, exported, job.expect)
    moves = first_token_moves(reference, exported)
    report = _report(job, dtype, facts, {**comparison, **moves}, floor)
    if method_named(job.config.method).quantized:
        report["as_trained"] = _as_trained(job, tokenizer, exported)
    write_report(job.report_path, with_usage(report, run, job.config))
    return report


def start_job(
    run: RunDir,
    fmt: str,
    out: Path | None,
    progress: Callable[[str], None] | None,
    quant: str | None = None,
) -> ExportJob:
    """Everything that can refuse an export, checked before any model is loaded. `quant` names
    the default folder of a GGUF export (formats.default_export_dir)."""
    config = exportable_config(run)
    target = target_folder(run, fmt, out, quant)
    prompts, prompts_from = probe_prompts(run, config)
    expect = expected_words(config)
    # The probes are usually some of these; the rest are replayed too, so the report answers
    # "does the export say its new name?" on every held-out prompt, not only the probed ones.
    prompts += [prompt for prompt in expect if prompt not in prompts]
    return ExportJob(
        run, config, fmt, target, prompts, prompts_from, say=progress or _quiet, expect=expect
    )


def put_in_place(job: ExportJob, tmp: Path) -> None:
    # The old check report described the export being replaced.
    job.report_path.unlink(missing_ok=True)
    replace_folder(tmp, job.out)


# --- what may be exported, and where ---------------------------------------------------------


def exportable_config(run: RunDir) -> RunConfig:
    """The run's config, once it is certain the run finished and left its model in output/."""
    status = effective_status(run)
    if status.state != "completed":
        raise UserError(
            f"run {run.name} is {status.state}, not completed: only a finished run can be "
            "exported.",
            _unfinished_hint(run.name, status),
        )
    config = load_config(run.config_path)
    needed = "config.json" if method_named(config.method).trains_base else "adapter_config.json"
    if not (run.output_dir / needed).is_file():
        raise UserError(
            f"run {run.name} completed, but its output folder ({run.output_dir}) has no "
            f"{needed}: the trained model is not there.",
            f"Put the folder back if it was moved; `tui-ft resume {run.name} --more-steps 1` "
            "writes a new one from the last checkpoint (one step further).",
        )
    return config


def _unfinished_hint(name: str, status: Status) -> str:
    if status.active:
        return f"Export it once `tui-ft runs` shows {name} as completed."
    if status.state in ("stopped", "crashed"):
        return f"`tui-ft resume {name}` finishes it; export it after that."
    if status.error is not None and status.error.hint:
        return status.error.hint
    return "`tui-ft runs` shows what happened to it."


def target_folder(run: RunDir, fmt: str, out: Path | None, quant: str | None = None) -> Path:
    target = export_target(run.path, fmt, out, quant)
    if target.exists() and not _replaceable(target):
        raise UserError(
            f"{target} already exists and is not an earlier tui-ft export; it is left alone.",
            "Choose a new or empty folder with --out, or remove that one first.",
        )
    return target


def _replaceable(folder: Path) -> bool:
    return folder.is_dir() and ((folder / MARKER).is_file() or not any(folder.iterdir()))


# --- loading, merging, writing -----------------------------------------------------------------


def _merge_and_write(
    job: ExportJob, tokenizer: Any, tmp: Path, dtype: str | None
) -> tuple[Replay, str, float | None]:
    """The unmerged model's answers (the reference), then the merged model saved into `tmp`;
    with the dtype written and, for a merge into 16 bits, the rounding floor (rounding_floor)."""
    model, reference, floor = merged_model(job, tokenizer, dtype)
    with job.stage("write", f"writing safetensors, tokenizer and chat template to {job.out}…"):
        ensure_room(weights_bytes(model), tmp, "the merged model")
        _save(model, tokenizer, tmp, job)
    return reference, dtype_name(model), floor


def merged_model(
    job: ExportJob, tokenizer: Any, dtype: str | None = None
) -> tuple[Any, Replay, float | None]:
    """The run's model with its adapter folded in, in `dtype` (None: the dtype its weights were
    stored in, kept in job.source_dtype); what the unmerged model answers to the probe prompts
    in that same dtype (the reference every export is compared with: like with like); and, for
    an adapter merged into 16 bits, how far that dtype's rounding alone moves the unmerged
    model's first-token logits (see rounding_floor).

    A GGUF export asks for float32: the merge is then exact, and the reference answers are
    computed in the precision a GGUF is read back in, so the check measures the file, not bf16
    arithmetic (on the demo run, a bf16 reference against the float32 read-back moved
    first-token logits by 1.2 and changed 2 of 12 answers of an f16 file). It doubles the
    memory a bf16 model takes while exporting."""
    import torch

    method = job.config.method
    with job.stage("load", _loading_message(job.config)):
        model = load_trained(job.run, job.config)
        job.source_dtype = dtype_name(model)
    target = dtype or job.source_dtype
    if target not in MERGED_DTYPES:
        raise UserError(
            f"the run's weights are stored in {target}, which a merged export cannot write.",
            f"Choose one with --dtype ({', '.join(MERGED_DTYPES)}).",
        )
    floor_logits: list[Any] | None = None
    if method_named(method).adapter and target in ROUNDED_DTYPES:
        model = model.float()
        floor_logits = _float32_first_logits(model, tokenizer, job)
    if dtype_name(model) != target:
        model = model.to(getattr(torch, target))
    model.generation_config = chat_generation_config(model.generation_config, tokenizer)
    with job.stage(
        "reference",
        f"replaying {len(job.prompts)} probe prompts on {what_it_is_compared_with(method)} "
        f"in {target}…",
    ):
        reference = replay(model, tokenizer, job.prompts, job.config.system_prompt)
    floor = None
    if floor_logits is not None:
        floor = rounding_floor(floor_logits, reference.first_logits)
    if method_named(method).adapter:
        with job.stage("merge", "merging the adapter into the base weights…"):
            model = model.merge_and_unload()
    return model, reference, floor


def _float32_first_logits(model: Any, tokenizer: Any, job: ExportJob) -> list[Any]:
    with job.stage("float32", "measuring the rounding floor: first answer tokens in float32…"):
        return [first_logits(model, tokenizer, p, job.config.system_prompt) for p in job.prompts]


def rounding_floor(float32: list[Any], rounded: list[Any]) -> float:
    """How far computing the unmerged model in a 16-bit dtype instead of float32 moves its
    first-token logits, as the largest share of their spread over the prompts: the size of the
    dtype's own rounding on this very model. Merging rounds each merged weight once to that
    dtype, the same order of error, so a sound merge stays within a small multiple of it."""
    shares = []
    for exact, got in zip(float32, rounded, strict=True):
        spread = float(exact.std()) or 1.0
        shares.append(float((exact - got).abs().max()) / spread)
    return max(shares, default=0.0)


def dtype_name(model: Any) -> str:
    return str(next(model.parameters()).dtype).removeprefix("torch.")


def _loading_message(config: RunConfig) -> str:
    if method_named(config.method).trains_base:
        return "loading the trained model from output/…"
    if method_named(config.method).quantized:
        return (
            f"loading the base model ({config.model}) without quantization, in full precision, "
            "and the QLoRA adapter from output/…"
        )
    return f"loading the base model ({config.model}) and the LoRA adapter from output/…"


def what_it_is_compared_with(method: str) -> str:
    return "the trained model" if method_named(method).trains_base else "the base model + adapter"


def load_trained(run: RunDir, config: RunConfig) -> Any:
    if method_named(config.method).trains_base:
        return load_plain(run.output_dir, config.trust_remote_code)
    from peft import PeftModel

    base = load_plain(base_folder(config), config.trust_remote_code)
    if getattr(base, "hf_quantizer", None) is not None:
        # A base published pre-quantized loads quantized whatever we ask; merging needs the
        # weights themselves.
        base = base.dequantize()
    return PeftModel.from_pretrained(base, str(run.output_dir))


def base_folder(config: RunConfig) -> str:
    return weights_folder(resolve_model(config.model))


def load_plain(folder: str | Path, trust_remote_code: bool) -> Any:
    """Plain transformers, in the dtype the checkpoint was saved in; spread over the GPUs when
    there are some (a merge needs the whole model, which may not fit one)."""
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": "auto", "trust_remote_code": trust_remote_code}
    if torch.cuda.is_available():
        kwargs["device_map"] = "auto"
    return AutoModelForCausalLM.from_pretrained(str(folder), **kwargs)


def output_tokenizer(run: RunDir) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(run.output_dir))
    # Loading-time flags that transformers 5 would otherwise write into tokenizer_config.json.
    for flag in ("is_local", "local_files_only"):
        tokenizer.init_kwargs.pop(flag, None)
    return tokenizer


def chat_generation_config(generation: Any, tokenizer: Any) -> Any:
    """Stop at the tokenizer's EOS and at every end-of-turn token the chat template uses: the
    tuned model learned to close its turn, and a chat front end must stop there too."""
    known = generation.eos_token_id
    known = known if isinstance(known, list) else [known]
    eos = [tokenizer.eos_token_id, *known, *sorted(end_of_turn_ids(tokenizer))]
    eos = list(dict.fromkeys(token for token in eos if token is not None))
    if eos:
        generation.eos_token_id = eos[0] if len(eos) == 1 else eos
    pad = tokenizer.pad_token_id
    generation.pad_token_id = pad if pad is not None else (eos[0] if eos else None)
    return generation


def weights_bytes(model: Any) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def ensure_room(needed: int, folder: Path, what: str) -> None:
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise UserError(
            f"{what} needs about {format_bytes(needed)} and only {format_bytes(free)} "
            f"is free in {folder.parent}.",
            "Free some space, or write the export elsewhere with --out DIR.",
        )


def _save(model: Any, tokenizer: Any, folder: Path, job: ExportJob) -> None:
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config  # the weights were de-quantized above
    model.config.use_cache = True  # training turns the KV cache off; generation wants it on
    model.save_pretrained(str(folder))  # safetensors, config and generation config
    tokenizer.save_pretrained(str(folder))  # with its chat template
    for name in TRAINING_ONLY:
        (folder / name).unlink(missing_ok=True)
    write_marker(folder, job)


def write_marker(folder: Path, job: ExportJob, **extra: Any) -> None:
    marker = {
        "run": job.run.name,
        "method": job.config.method,
        "base_model": job.config.model,
        "format": job.fmt,
        **extra,
        "tui_ft": __version__,
        "created": time.time(),
    }
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


# --- the check -----------------------------------------------------------------------------------


def _load_back(job: ExportJob, folder: Path) -> tuple[Replay, dict[str, Any]]:
    """What the export answers, loaded the way anyone else would load it."""
    from transformers import AutoTokenizer

    with job.stage("check", "checking: loading the export with plain transformers…"):
        model = load_plain(folder, job.config.trust_remote_code)
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        exported = replay(model, tokenizer, job.prompts, job.config.system_prompt)
    facts = {
        "chat_template": bool(tokenizer.chat_template),
        "eos_token_id": model.generation_config.eos_token_id,
    }
    return exported, facts


def _as_trained(job: ExportJob, tokenizer: Any, exported: Replay) -> dict[str, Any]:
    """QLoRA trained its adapter on 4-bit weights; the export holds the full-precision ones.
    How far that moves the answers is worth knowing, but it is not a fault of the export."""
    against = "the adapter on the 4-bit base, as it trained"
    with job.stage("as_trained", f"comparing with {against}…"):
        try:
            model = _load_quantized_trained(job)
        except (ImportError, RuntimeError, ValueError) as err:
            return {"against": against, "skipped": f"the 4-bit model did not load here: {err}"}
        model.generation_config = chat_generation_config(model.generation_config, tokenizer)
        as_trained = replay(model, tokenizer, job.prompts, job.config.system_prompt)
    del model
    free_memory()
    return {"against": against, **compare(job.prompts, as_trained, exported, job.expect)}


def _load_quantized_trained(job: ExportJob) -> Any:
    import torch
    from peft import PeftModel

    from tui_ft.engine.precision import resolve_precision

    config = job.config
    compute = getattr(torch, _TORCH_DTYPES[resolve_precision(config.precision)])
    base = load_model(
        resolve_model(config.model),
        dtype=compute,
        quantize_4bit={
            "bnb_4bit_quant_type": config.qlora.quant_type,
            "bnb_4bit_use_double_quant": config.qlora.double_quant,
        },
        trust_remote_code=config.trust_remote_code,
    )
    return PeftModel.from_pretrained(base, str(job.run.output_dir))


def merged_verdict(
    method: str, dtype: str, comparison: dict[str, Any], floor: float | None = None
) -> tuple[str, float | None, list[str]]:
    """The rule a merged export is held to, its bound (None: identical answers), and what broke
    it (under the identical-answers rule the differing answers say it).

    Folding an adapter into 16-bit weights rounds every merged weight to 16 bits, and any merge
    tool writes that same file. It is compared with the unmerged model computed in that same
    dtype (like with like: comparing it with a float32 reference measured bf16 itself, 0.78 of
    a spread on the demo run), and held to what a person cares about: the first-token logits
    may move by at most ROUNDED_FACTOR times the dtype's own rounding on this model (the
    floor: the unmerged model in that dtype against float32), and no held-out prompt the run's
    model answers with the expected words may lose them. A float32 merge, or a full run's model
    saved as-is, must answer identically."""
    if not (method_named(method).adapter and dtype in ROUNDED_DTYPES):
        return "every probe answer must be identical", None, []
    bound = ROUNDED_FACTOR * (floor if floor is not None else 0.0)
    share = comparison["max_logit_diff_share_of_spread"]
    rule = (
        f"merged into {dtype}: no first-token logit may move by more than {ROUNDED_FACTOR} × "
        f"{dtype}'s own rounding on this model ({short_float(floor)} of the logits' spread, "
        f"the unmerged model in {dtype} against float32), and every held-out answer that says "
        "the expected words must still say them; identical answers are reported, not required"
    )
    failures = []
    if share > bound:
        failures.append(
            f"the merged {dtype} model's first-token logits moved by {share:.2f} of their "
            f"spread, more than the {bound:.2f} that rounding to {dtype} explains "
            f"({ROUNDED_FACTOR} × {short_float(floor)})"
        )
    lost = lost_answers(comparison["prompts"])
    if lost:
        failures.append(
            f"the merged {dtype} model no longer says the expected words in {len(lost)} "
            f"held-out answer(s) the run's model got right (e.g. {lost[0]!r})"
        )
    return rule, bound, failures


def short_float(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2f}"


def _report(
    job: ExportJob,
    dtype: str,
    facts: dict[str, Any],
    comparison: dict[str, Any],
    floor: float | None = None,
) -> dict[str, Any]:
    rule, bound, failures = merged_verdict(job.config.method, dtype, comparison, floor)
    same = comparison["identical"]
    return {
        "format": FORMAT,
        "run": job.run.name,
        "method": job.config.method,
        "base_model": job.config.model,
        "path": str(job.out),
        "folder": str(job.out),
        "size_bytes": folder_size(job.out),
        "dtype": dtype,
        "source_dtype": job.source_dtype,
        "against": what_it_is_compared_with(job.config.method),
        "reference_dtype": dtype,
        "prompts_from": job.prompts_from,
        "rule": rule,
        "bound": bound,
        "rounding_floor": floor,
        "passed": not failures and (bound is not None or same == comparison["total"]),
        "failures": failures,
        **comparison,
        **facts,
        "seconds": job.seconds,
        "created": time.time(),
    }


# --- files ---------------------------------------------------------------------------------------


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def fresh_tmp(target: Path) -> Path:
    """An empty folder next to `target` (so the final rename stays on one filesystem), named
    after this process so a later export can tell a dead export's leftovers from a live one."""
    ensure_writable_dir(target.parent, "the folder for the export", OUT_FIX)
    _remove_leftovers(target)
    try:
        prefix = partial_prefix(target, os.getpid())
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    except OSError as err:
        raise disk_error(err, target.parent, "the export", OUT_FIX) from None
    tmp.chmod(0o755)  # mkdtemp's 0700 would follow the folder into place
    return tmp


def _remove_leftovers(target: Path) -> None:
    """Temporary folders of exports that were killed: a model's worth of disk each."""
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*-*-*"):
        pid = leftover.name.rsplit("-", 2)[-2]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def replace_folder(tmp: Path, target: Path) -> None:
    """The earlier export is moved aside only once the new one is complete, and removed once the
    new one is in place; when the move fails, it is put back, and no `.X.old-*` folder stays."""
    try:
        if not target.exists():
            os.replace(tmp, target)
            return
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-{os.getpid()}-", dir=target.parent))
        try:
            os.replace(target, old / target.name)
            try:
                os.replace(tmp, target)
            except OSError:
                os.replace(old / target.name, target)  # the earlier export stays as it was
                raise
        finally:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as err:
        raise disk_error(err, target, "the export", OUT_FIX) from None


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Saved atomically; the report names where it is, so whoever prints it need not guess."""
    report["check_report"] = str(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        raise disk_error(err, path, "the check report", OUT_FIX) from None


def free_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _quiet(_message: str) -> None:
    """The default progress sink: callers that show nothing."""
