"""Training steps alone, tui-ft's trainer against plain TRL on the same rows, in one process.

    python bench/steps_vs_trl.py [--dataset demo|long|FILE] [--steps 6] [--rounds 2]
                                 [--batchings grouped,padding_free]

"tui-ft BATCHING" is what ships (engine/train/setup.py: our tokenized rows and loss masks, TRL's
SFTTrainer) with run.yaml's `batching:` set to each value named; "trl" is plain TRL as
bench/plain_trl_sft.py runs it (conversational prompt-completion rows of the same training
split, tokenized by TRL, padding-free). Same model, LoRA settings, batch, learning rate,
schedule and seed; no evaluation, no probes, no checkpoints. Each run takes 2 untimed steps,
then `--steps` timed ones (train_throughput.py's clock and token counter); the sides alternate
and reverse each round. Prints each run and, per side, non-pad input tokens per wall second and
per CPU second. The sides' batches differ where their samplers differ (grouped draws the
longest rows first), so compare rates, not seconds. `--dataset long` writes
bench/long_rows.py's 200 rows (50–900 tokens) and uses max_length 1024.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import long_rows
import plain_trl_sft
import run_wall
import train_throughput as meter

from tui_ft.core.config import RunConfig
from tui_ft.core.datasets.load import load_dataset, split_examples

WARMUP = 2


def prepared_run(dataset: str, max_length: int, steps: int) -> Any:
    from tui_ft.engine.precision import resolve_precision
    from tui_ft.engine.train.prepared import Prepared
    from tui_ft.engine.train.setup import prepare_tokenizer_and_data

    config = RunConfig(dataset=dataset, max_length=max_length, max_steps=WARMUP + steps)
    model_ref, tokenizer, data = prepare_tokenizer_and_data(config)
    return Prepared(config, model_ref, tokenizer, data, resolve_precision("auto"), world_size=1)


def run_trl(prepared: Any, rows: list[dict[str, Any]], steps: int, out: str) -> meter.Run:
    from datasets import Dataset
    from trl import SFTTrainer

    from tui_ft.engine.train.setup import load_training_model, lora_config

    config = prepared.config
    run = meter.Run("trl")
    clock, count = meter.make_meter(run, WARMUP)
    spec = run_wall.trl_spec(config, prepared.precision, Path(out), Path(out))
    args = plain_trl_sft.sft_config({**spec, "max_steps": WARMUP + steps}, cuda=False)
    trainer = SFTTrainer(
        model=load_training_model(prepared),
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=prepared.tokenizer,
        peft_config=lora_config(config),
        callbacks=[clock],
    )
    meter._quiet(trainer)
    trainer.model.register_forward_pre_hook(count, with_kwargs=True)
    trainer.train()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="demo")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batchings", default="grouped,padding_free")
    args = parser.parse_args()

    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore")
    dataset, max_length = args.dataset, 256
    scratch = Path(tempfile.mkdtemp(prefix="tui-ft-steps-"))
    if dataset == "long":
        dataset = str(long_rows.write_jsonl(long_rows.generate(), scratch / "long.jsonl"))
        max_length = 1024
    prepared = prepared_run(dataset, max_length, args.steps)
    train, _ = split_examples(
        load_dataset(dataset).examples, prepared.config.eval_split, prepared.config.seed
    )
    rows = run_wall.trl_rows(train)
    sides = [*args.batchings.split(","), "trl"]
    runs: dict[str, list[meter.Run]] = {side: [] for side in sides}
    print(f"{'side':<14} {'wall s':>7} {'cpu s':>7} {'in tok':>7} {'tok/s':>7} {'tok/cpu s':>9}")
    with tempfile.TemporaryDirectory(dir=scratch) as out:
        for number in range(args.rounds):
            for side in sides if number % 2 == 0 else sides[::-1]:
                if side == "trl":
                    run = run_trl(prepared, rows, args.steps, out)
                else:
                    config = dataclasses.replace(prepared.config, batching=side)
                    ours = dataclasses.replace(prepared, config=config)
                    run = meter.run_ours(ours, args.steps, WARMUP, out)
                runs[side].append(run)
                print(
                    f"{side:<14} {run.seconds:>7.2f} {run.cpu_s:>7.1f} {run.input_tokens:>7} "
                    f"{run.input_tokens / run.seconds:>7.1f} {run.input_tokens / run.cpu_s:>9.1f}",
                    flush=True,
                )
    print()
    trl = sum(r.input_tokens for r in runs["trl"]) / sum(r.seconds for r in runs["trl"])
    for side, mine in runs.items():
        rate = sum(r.input_tokens for r in mine) / sum(r.seconds for r in mine)
        print(f"{side:<14} {rate:>7.1f} tok/s  ratio to trl {rate / trl:.2f}×")


if __name__ == "__main__":
    main()
