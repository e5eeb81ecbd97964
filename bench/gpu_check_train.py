"""Section 2 of bench/gpu_check.py: each method for a few real steps through the project's own
trainer set-up, padding-free and packed, with effective tokens/s and MFU.

A run is what `tui-ft train` builds: a RunConfig pointing at a model folder and a data file,
then `prepare_tokenizer_and_data`, `load_training_model`, `training_args` and `make_trainer` from
tui_ft/engine/train/setup.py. The clock and the token counts are bench/train_throughput.py's
(`make_meter`): the first `warmup` optimizer steps are not timed; tokens are the non-pad input
tokens seen at the model's forward.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.gpu_check_env import flops_per_token, matmul_params, mfu
from bench.gpu_check_model import write_dataset, write_model
from bench.train_throughput import Run, _quiet, make_meter
from tui_ft.core.config import RunConfig
from tui_ft.core.estimate.batching import choose_batching
from tui_ft.core.units import format_count

METHODS = ("full", "lora", "qlora")


@dataclass(frozen=True)
class Plan:
    """How big each training run is."""

    sizes: dict[str, dict[str, Any]]  # label → config.json dict
    batch_size: int
    max_length: int
    min_tokens: int  # rows' rendered lengths are spread over [min_tokens, max_length]
    warmup: int
    steps: int  # timed optimizer steps

    @property
    def rows(self) -> int:
        # Packing puts about 1.5 rows in a sequence: twice the rows a padding-free run needs
        # keeps every run inside its first epoch.
        return self.batch_size * (self.warmup + self.steps) * 2


@dataclass
class Result:
    case: str
    size: str
    method: str
    packing: bool
    tokens_per_s: float | None = None
    mfu: float | None = None
    step_s: float | None = None
    peak_bytes: int | None = None
    detail: str = ""
    error: str | None = None
    skipped: str | None = None
    seconds: float = 0.0


def run_section(
    plan: Plan, scratch: Path, budget_s: float, peak_tflops: float | None, report: Any
) -> list[Result]:
    """Every size × method × batching that fits in `budget_s`; the rest are skipped rows.
    `report(result)` is called as each row ends, so a long run shows progress."""
    started = time.monotonic()
    longest = 0.0
    results: list[Result] = []
    for size_index, (size, config) in enumerate(plan.sizes.items()):
        for method in METHODS:
            for packing in (False, True):
                batching = "packed" if packing else "padding-free"
                result = Result(f"{size} {method} {batching}", size, method, packing)
                # A bigger model's first run is guessed at twice the longest run so far.
                first_of_size = method == METHODS[0] and not packing and size_index > 0
                expected = longest * (2 if first_of_size else 1)
                left = budget_s - (time.monotonic() - started)
                if expected > left:
                    result.skipped = (
                        f"skipped: {left:.0f} s left of the section's {budget_s:.0f} s budget, "
                        f"a run takes about {expected:.0f} s"
                    )
                else:
                    one_run(plan, size, config, result, scratch, peak_tflops)
                    longest = max(longest, result.seconds)
                report(result)
                results.append(result)
    return results


def one_run(
    plan: Plan,
    size: str,
    model_config: dict[str, Any],
    result: Result,
    scratch: Path,
    peak_tflops: float | None,
) -> None:
    """Fills `result`; any failure becomes its error sentence, never an exception."""
    import torch

    clock_started = time.monotonic()
    try:
        folder = write_model(scratch / size, model_config)
        data = scratch / f"data-{model_config['vocab_size']}-{plan.max_length}.jsonl"
        if not data.exists():
            write_dataset(
                data,
                model_config["vocab_size"],
                rows=plan.rows,
                min_tokens=plan.min_tokens,
                max_tokens=plan.max_length,
            )
        config = RunConfig(
            model=str(folder),
            dataset=str(data),
            method=result.method,
            batch_size=plan.batch_size,
            max_length=plan.max_length,
            max_steps=plan.warmup + plan.steps,
            packing=result.packing,
            eval_split=0.0,
            save_every_steps=0,
            logging_steps=plan.warmup + plan.steps,
            learning_rate=1e-5,
        )
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        run, trainable = _train(config, plan, scratch / "out")
        seconds = run.seconds
        result.tokens_per_s = run.input_tokens / seconds
        result.step_s = seconds / len(run.step_s)
        per_token = flops_per_token(result.method, matmul_params(model_config), trainable)
        result.mfu = mfu(result.tokens_per_s, per_token, peak_tflops)
        if torch.cuda.is_available():
            result.peak_bytes = torch.cuda.max_memory_reserved()
        computed = run.padded_tokens
        pads = 1 - run.input_tokens / computed if computed else 0.0
        result.detail = (
            f"{choose_batching(config).words}; {plan.warmup}+{len(run.step_s)} steps of batch "
            f"{plan.batch_size}, {run.input_tokens / len(run.step_s):.0f} tokens/step, "
            f"{pads:.0%} pad; {format_count(trainable)} trained params"
        )
    except Exception as err:  # noqa: BLE001 — one failed row must not end the check
        result.error = error_sentence(err)
    finally:
        result.seconds = time.monotonic() - clock_started
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _train(config: RunConfig, plan: Plan, out_dir: Path) -> tuple[Run, int]:
    from tui_ft.engine.precision import resolve_precision
    from tui_ft.engine.train.prepared import Prepared
    from tui_ft.engine.train.setup import (
        load_training_model,
        make_trainer,
        prepare_tokenizer_and_data,
        training_args,
    )

    problems = config.validate()
    if problems:
        raise ValueError(" ".join(problems))
    model_ref, tokenizer, data = prepare_tokenizer_and_data(config)
    prepared = Prepared(config, model_ref, tokenizer, data, resolve_precision("auto"), 1)
    run = Run(config.method)
    clock, count = make_meter(run, plan.warmup)
    model = load_training_model(prepared)
    args = training_args(prepared, out_dir, max_steps=config.max_steps, evaluate=False, save=False)
    trainer = make_trainer(prepared, model, args, [clock])
    _quiet(trainer)
    trainer.model.register_forward_pre_hook(count, with_kwargs=True)
    trainer.train()
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    if not run.step_s:
        raise RuntimeError("no timed step ran (the data ran out before the warm-up ended)")
    del trainer, model
    return run, trainable


def error_sentence(err: BaseException) -> str:
    """One line a reader can act on: the error's kind and the first line of its message."""
    text = str(err).strip().splitlines()
    first = text[0] if text else "no message"
    return f"{type(err).__name__}: {first}"[:200]
