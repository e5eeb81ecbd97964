"""Pre-flight: two optimizer steps on the longest rows at the chosen settings, so that an
out-of-memory shows up in seconds rather than an hour into the run, with a measured peak and a
step time from which the whole run's duration follows."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from tui_ft.core.config import RunConfig
from tui_ft.core.runs.lineage import start_point
from tui_ft.engine.precision import resolve_precision
from tui_ft.engine.train.data import TrainData, row_length
from tui_ft.engine.train.memory import peak_summary
from tui_ft.engine.train.prepared import Prepared
from tui_ft.engine.train.setup import (
    load_training_model,
    make_trainer,
    planned_steps,
    prepare_tokenizer_and_data,
    refuse_this_machine,
    training_args,
    world_size,
)

STEPS = 2


class _StepClock(TrainerCallback):
    def __init__(self) -> None:
        self.ends: list[float] = []
        self.begin = 0.0

    def on_train_begin(self, *args: Any, **kwargs: Any) -> None:
        self.begin = time.perf_counter()

    def on_step_end(self, *args: Any, **kwargs: Any) -> None:
        self.ends.append(time.perf_counter())


def preflight(config: RunConfig) -> dict[str, Any]:
    refuse_this_machine(config)
    precision = resolve_precision(config.precision)
    model_ref, tokenizer, data = prepare_tokenizer_and_data(config)
    per_step = config.batch_size * config.grad_accum * world_size()
    by_length = sorted(data.train_rows, key=row_length, reverse=True)
    longest = (by_length * (1 + STEPS * per_step // len(by_length)))[: STEPS * per_step]
    trial = TrainData(longest, [], [], data.summary)
    start = start_point(config)
    prepared = Prepared(config, model_ref, tokenizer, trial, precision, world_size(), start)
    model = load_training_model(prepared)
    clock = _StepClock()
    with tempfile.TemporaryDirectory() as scratch:
        args = training_args(prepared, Path(scratch), max_steps=STEPS, evaluate=False, save=False)
        make_trainer(prepared, model, args, [clock]).train()
    # The first step pays for warm-up (allocations, kernel choice): time the last one.
    step_s = clock.ends[-1] - (clock.ends[-2] if len(clock.ends) > 1 else clock.begin)
    total = planned_steps(config, len(data.train_rows), world_size())
    mean_all = statistics.fmean(row_length(r) for r in data.train_rows)
    mean_trial = statistics.fmean(row_length(r) for r in longest)
    return {
        "precision": precision,
        "rows_per_step": per_step,
        "longest_row_tokens": row_length(longest[0]),
        "step_time_s": step_s,
        "planned_steps": total,
        "run_time_upper_s": step_s * total,
        "run_time_estimate_s": step_s * total * mean_all / mean_trial,
        **peak_summary(),
    }
