"""Effective training throughput of tui-ft's trainer against the common recipe, in one process.

    python bench/train_throughput.py [--model demo] [--dataset demo] [--steps 12]
                                     [--batch-size 4] [--warmup 2] [--rounds 2] [--threads N]

"ours" is exactly what ships: `prepare_tokenizer_and_data`, `load_training_model`, `training_args`
(no evaluation, no checkpoints) and `make_trainer` from tui_ft/engine/train/setup.py, i.e. TRL's
SFTTrainer with padding-free batches. The "baseline" is the usual recipe: transformers' `Trainer`
on a `peft.get_peft_model` model with the same LoraConfig, batches padded to their longest row
by `DataCollatorForSeq2Seq`. Both get the same tokenized rows (same loss masks), batch size,
learning rate, schedule, optimizer, seed and logging interval, so only the batching (and the
trainer around it) differs.

Each run takes `--warmup` optimizer steps that are not timed, then `--steps` timed ones; the
clock is read at each `on_step_end`. Tokens are counted at the model's forward: non-pad input
tokens (`in tok`, what both trainers process usefully) and loss-bearing tokens (`trained`).
Runs alternate ours/baseline/baseline/ours... (`--rounds` pairs) so drift of the machine hits
both sides alike; each side's rate is its total tokens over its total timed seconds.
Prints one line per run, a summary per side and `ratio: X.XX×` (ours over baseline, in non-pad
input tokens per wall second). The CPU seconds of the process over the same steps give a second
ratio that other processes on the machine disturb less (the load average is printed too).
`--threads 1` steadies both on a busy machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tui_ft.core.config import RunConfig

IGNORE = -100


@dataclass
class Run:
    side: str
    step_s: list[float] = field(default_factory=list)  # timed steps only
    cpu_s: float = 0.0  # CPU time of this process over the timed steps (all threads)
    input_tokens: int = 0  # non-pad input tokens in the timed steps
    trained_tokens: int = 0  # tokens with a label (loss taken) in the timed steps
    padded_tokens: int = 0  # positions the model computed, pads included
    batch_shapes: set[tuple[int, ...]] = field(default_factory=set)

    @property
    def seconds(self) -> float:
        return sum(self.step_s)


def make_meter(run: Run, warmup: int) -> tuple[Any, Any]:
    """A TrainerCallback that clocks each optimizer step, and a forward pre-hook that counts the
    tokens of each batch; the hook's counts are assigned to the step that ends next."""
    from transformers import TrainerCallback

    pending = {"input": 0, "trained": 0, "padded": 0}

    def count(_module: Any, _args: Any, kwargs: dict[str, Any]) -> None:
        ids = kwargs["input_ids"]
        mask = kwargs.get("attention_mask")
        labels = kwargs.get("labels")
        pending["input"] += int(mask.sum()) if mask is not None else ids.numel()
        if labels is not None:
            # The first token of each row never carries a loss; the model shifts labels by one.
            pending["trained"] += int((labels[:, 1:] != IGNORE).sum())
        else:
            # The loss from the trained positions (engine/train/kept_logits.py) passes those
            # positions instead, shared by a padded batch's rows: an upper bound there.
            pending["trained"] += ids.size(0) * int(kwargs["logits_to_keep"].numel())
        pending["padded"] += ids.numel()
        run.batch_shapes.add(tuple(ids.shape))

    class StepClock(TrainerCallback):
        def __init__(self) -> None:
            self.last = self.last_cpu = 0.0

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.global_step == warmup:  # first timed step starts now (its batch is fetched)
                pending.update(input=0, trained=0, padded=0)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            now, cpu = time.perf_counter(), time.process_time()
            if state.global_step > warmup:
                run.step_s.append(now - self.last)
                run.cpu_s += cpu - self.last_cpu
                run.input_tokens += pending["input"]
                run.trained_tokens += pending["trained"]
                run.padded_tokens += pending["padded"]
            pending.update(input=0, trained=0, padded=0)
            self.last, self.last_cpu = now, cpu

    return StepClock(), count


def run_ours(prepared: Any, steps: int, warmup: int, out_dir: str) -> Run:
    from tui_ft.engine.train.setup import load_training_model, make_trainer, training_args

    run = Run("ours")
    clock, count = make_meter(run, warmup)
    model = load_training_model(prepared)
    args = training_args(
        prepared, Path(out_dir), max_steps=warmup + steps, evaluate=False, save=False
    )
    trainer = make_trainer(prepared, model, args, [clock])
    _quiet(trainer)
    trainer.model.register_forward_pre_hook(count, with_kwargs=True)
    trainer.train()
    _free(trainer, model)
    return run


def run_baseline(prepared: Any, steps: int, warmup: int, out_dir: str) -> Run:
    from datasets import Dataset
    from peft import get_peft_model
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

    from tui_ft.engine.train.setup import load_training_model, lora_config, training_args

    run = Run("baseline")
    clock, count = make_meter(run, warmup)
    model = load_training_model(prepared)
    model = get_peft_model(model, lora_config(prepared.config))
    ours = training_args(
        prepared, Path(out_dir), max_steps=warmup + steps, evaluate=False, save=False
    )
    same = (
        "per_device_train_batch_size",
        "gradient_accumulation_steps",
        "learning_rate",
        "lr_scheduler_type",
        "warmup_steps",
        "weight_decay",
        "optim",
        "bf16",
        "fp16",
        "gradient_checkpointing",
        "gradient_checkpointing_kwargs",
        "seed",
        "max_steps",
        "logging_steps",
        "logging_first_step",
        "dataloader_num_workers",
    )
    args = TrainingArguments(
        output_dir=out_dir,
        **{name: getattr(ours, name) for name in same},
        eval_strategy="no",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    tokenizer = prepared.tokenizer
    collator = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=IGNORE)
    if tokenizer.padding_side != "right":  # the usual training set-up pads on the right
        collator.tokenizer = _right_padding_copy(tokenizer)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(prepared.data.train_rows),
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[clock],
    )
    _quiet(trainer)
    trainer.model.register_forward_pre_hook(count, with_kwargs=True)
    trainer.train()
    _free(trainer, model)
    return run


def _quiet(trainer: Any) -> None:
    """Both trainers print their log dicts when tqdm is off; the table is the output here."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def _right_padding_copy(tokenizer: Any) -> Any:
    import copy

    clone = copy.deepcopy(tokenizer)
    clone.padding_side = "right"
    return clone


def _free(*objects: Any) -> None:
    del objects
    gc.collect()


def prepare(args: argparse.Namespace) -> Any:
    from tui_ft.engine.precision import resolve_precision
    from tui_ft.engine.train.prepared import Prepared
    from tui_ft.engine.train.setup import prepare_tokenizer_and_data

    config = RunConfig(
        model=args.model,
        dataset=args.dataset,
        batch_size=args.batch_size,
        max_steps=args.warmup + args.steps,
    )
    problems = config.validate()
    if problems:
        sys.exit("\n".join(problems))
    model_ref, tokenizer, data = prepare_tokenizer_and_data(config)
    precision = resolve_precision(config.precision)
    return Prepared(config, model_ref, tokenizer, data, precision, world_size=1)


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


@dataclass
class Side:
    in_per_s: float  # non-pad input tokens per wall second
    trained_per_s: float
    in_per_cpu_s: float  # per CPU second of this process: less sensitive to other processes
    step_s: float  # median wall seconds per timed step
    padded_share: float  # share of computed positions that were padding


def summarize(runs: list[Run], side: str) -> Side:
    mine = [run for run in runs if run.side == side]
    seconds = sum(run.seconds for run in mine)
    tokens = sum(run.input_tokens for run in mine)
    computed = sum(run.padded_tokens for run in mine)
    return Side(
        in_per_s=tokens / seconds,
        trained_per_s=sum(run.trained_tokens for run in mine) / seconds,
        in_per_cpu_s=tokens / sum(run.cpu_s for run in mine),
        step_s=statistics.median(s for run in mine for s in run.step_s),
        padded_share=1 - tokens / computed,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="demo")
    parser.add_argument("--dataset", default="demo")
    parser.add_argument("--steps", type=int, default=12, help="timed optimizer steps per run")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps before the clock")
    parser.add_argument("--rounds", type=int, default=2, help="ours/baseline pairs, alternated")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()

    import torch
    import transformers

    if args.threads:
        torch.set_num_threads(args.threads)

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    prepared = prepare(args)
    lengths = [len(row["input_ids"]) for row in prepared.data.train_rows]
    print(
        f"model {args.model} · dataset {args.dataset}: {len(lengths)} rows of "
        f"{min(lengths)}–{max(lengths)} tokens (mean {statistics.mean(lengths):.0f}) · "
        f"batch {args.batch_size} · {args.warmup}+{args.steps} steps · "
        f"{torch.get_num_threads()} threads · precision {prepared.precision}"
    )
    print(f"load average at start {_load()} on {os.cpu_count()} CPUs")
    runs: list[Run] = []
    order = []
    for i in range(args.rounds):
        order += ["ours", "baseline"] if i % 2 == 0 else ["baseline", "ours"]
    print()
    print(
        f"{'run':<9} {'wall s':>7} {'cpu s':>7} {'s/step':>7} {'in tok':>7} {'computed':>8} "
        f"{'trained':>7} {'in tok/s':>9} {'trained/s':>9}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="tui-ft-bench-") as out_dir:
        for side in order:  # each row prints as its run ends
            runner = run_ours if side == "ours" else run_baseline
            torch.manual_seed(0)
            run = runner(prepared, args.steps, args.warmup, out_dir)
            runs.append(run)
            print(
                f"{run.side:<9} {run.seconds:>7.2f} {run.cpu_s:>7.2f} "
                f"{statistics.median(run.step_s):>7.3f} {run.input_tokens:>7} "
                f"{run.padded_tokens:>8} {run.trained_tokens:>7} "
                f"{run.input_tokens / run.seconds:>9.1f} {run.trained_tokens / run.seconds:>9.1f}",
                flush=True,
            )
    ours, base = summarize(runs, "ours"), summarize(runs, "baseline")
    print()
    print(
        f"{'side':<9} {'in tok/s':>9} {'trained/s':>9} {'in tok/cpu s':>12} {'s/step':>7} {'pad':>5}"
    )
    for name, side in (("ours", ours), ("baseline", base)):
        print(
            f"{name:<9} {side.in_per_s:>9.1f} {side.trained_per_s:>9.1f} "
            f"{side.in_per_cpu_s:>12.1f} {side.step_s:>7.3f} {side.padded_share:>5.0%}"
        )
    shapes = {run.side: sorted(run.batch_shapes)[:3] for run in runs}
    print(f"batch shapes (first few): ours {shapes['ours']} · baseline {shapes['baseline']}")
    print(f"wall {time.perf_counter() - started:.0f} s · load average at end {_load()}")
    if os.getloadavg()[0] > (os.cpu_count() or 1) + 0.5:
        print("note: other processes compete for the CPUs, so wall times are noisy; rerun later")
    print(f"ratio by CPU time: {ours.in_per_cpu_s / base.in_per_cpu_s:.2f}×")
    print(f"ratio: {ours.in_per_s / base.in_per_s:.2f}×")


if __name__ == "__main__":
    main()
