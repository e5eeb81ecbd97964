"""The `tui-ft` command. Parsing only: each sub-command's work lives in tui_ft.commands.*,
imported when that command runs, so `tui-ft --help` and `--version` stay instant (no Textual,
no torch)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tui_ft import __version__
from tui_ft.cli_numbers import real, whole
from tui_ft.core.chat.protocol import (
    EVAL_MAX_NEW_TOKENS,
    MAX_NEW_TOKENS_LIMIT,
    PLACEMENTS,
    SamplingSettings,
)
from tui_ft.core.config import OPTIMIZERS, PRECISIONS, load_config
from tui_ft.core.errors import UserError
from tui_ft.core.export.formats import DEFAULT_QUANTS as DEFAULT_EXPORT_QUANTS
from tui_ft.core.export.formats import FORMATS as EXPORT_FORMATS
from tui_ft.core.export.formats import MERGED_DTYPES as EXPORT_DTYPES
from tui_ft.core.export.formats import QUANTS as EXPORT_QUANTS
from tui_ft.core.methods import METHODS
from tui_ft.core.safe_text import safe
from tui_ft.core.share import WHATS as PUSH_WHATS

# Sub-commands whose issue has not landed yet: they say so instead of pretending.
NOT_BUILT: dict[str, str] = {}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tui-ft",
        description="Fine-tune language models from the terminal. Without a command: open the app.",
    )
    parser.add_argument("--version", action="version", version=f"tui-ft {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "--theme", metavar="NAME", help="the app's theme: dark (default), light, high-contrast"
    )
    # Not `config`: `train`'s positional and `estimate --config` use that name.
    parser.add_argument(
        "--config",
        dest="open_config",
        metavar="RUN.YAML",
        help="open the app on review & launch for this run config (skips the wizard)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser(
        "train",
        help="run a training from a run.yaml",
        description="Start a run and follow it on one line (Ctrl-C stops it after a checkpoint).",
    )
    train.add_argument("config", help="path to a run.yaml")
    train.add_argument("--name", help="run name (default: from the config, else generated)")
    train.add_argument(
        "--detach", action="store_true", help="run in the background, print the run name"
    )
    train.add_argument("--nproc", type=whole(1), help="processes (GPUs) to train on, via torchrun")
    train.add_argument(
        "--preflight",
        action="store_true",
        help="only run two steps on the longest rows: peak memory and a time estimate",
    )
    train.add_argument("--json", action="store_true", help="with --preflight: JSON output")
    train.add_argument(
        "--print-launch",
        action="store_true",
        help="prepare the run and print the torchrun command for a multi-node job",
    )
    train.add_argument("--nnodes", type=whole(1), default=2, help="nodes, with --print-launch")

    resume = sub.add_parser("resume", help="continue a run from its last complete checkpoint")
    resume.add_argument("run", help="run name or directory")
    more = resume.add_mutually_exclusive_group()
    more.add_argument(
        "--more-epochs", type=real(0, above=True), help="extend a finished run by N epochs"
    )
    more.add_argument("--more-steps", type=whole(1), help="extend a finished run by N steps")
    resume.add_argument("--detach", action="store_true", help="run in the background")
    resume.add_argument("--nproc", type=whole(1), help="processes (GPUs) to train on, via torchrun")
    estimate = sub.add_parser(
        "estimate",
        help="estimate the memory a run needs, and what to change when it will not fit",
        description="Peak GPU memory of a run (or RAM, without a GPU), from the model's config "
        "alone. Options override the values from --config.",
    )
    estimate.add_argument("--config", metavar="RUN.YAML", help="start from a run config")
    estimate.add_argument(
        "--model", help="`demo`, a folder, a config.json, a .gguf file or a Hugging Face id"
    )
    estimate.add_argument("--method", choices=tuple(METHODS))
    estimate.add_argument(
        "--objective", metavar="NAME", help="the loss: sft (default), dpo, orpo, kto, simpo"
    )
    estimate.add_argument("--batch-size", type=whole(1), metavar="B", help="micro-batch size")
    estimate.add_argument("--max-length", type=whole(1), metavar="S", help="tokens per example")
    estimate.add_argument(
        "--gradient-checkpointing",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="recompute activations during the backward pass",
    )
    estimate.add_argument("--optimizer", choices=OPTIMIZERS)
    estimate.add_argument("--lora-rank", type=whole(1), metavar="R")
    estimate.add_argument(
        "--lora-targets", nargs="+", metavar="NAME", help="`all-linear` or module names (q_proj)"
    )
    estimate.add_argument("--precision", choices=PRECISIONS)
    estimate_on = estimate.add_mutually_exclusive_group()
    estimate_on.add_argument(
        "--gpu", type=whole(0), metavar="INDEX", help="the GPU to estimate for"
    )
    estimate_on.add_argument(
        "--gpu-memory",
        type=real(0, above=True),
        metavar="GIB",
        help="estimate for a GPU with this much memory",
    )
    estimate.add_argument("--json", action="store_true", help="machine-readable output")
    chat = sub.add_parser(
        "chat",
        help="chat with a base and a tuned model side by side",
        description="Base and tuned answer the same prompt (--prompt), or a quick eval's prompts "
        "(--eval), with the same template, system prompt, sampling and seed. With neither, the "
        "run opens in the app's A/B chat screen.",
    )
    chat.add_argument(
        "run", nargs="?", metavar="RUN", help="run name (see `tui-ft runs`) or folder"
    )
    chat.add_argument("--model", help="a base model alone (`demo`, a folder, an HF id), no run")
    chat.add_argument(
        "--with",
        dest="with_run",
        metavar="OTHER",
        help="another run of the same base model in the base's place (left), RUN on the right; "
        "`base` is the usual base model",
    )
    chat_what = chat.add_mutually_exclusive_group()
    chat_what.add_argument("--prompt", help="ask both sides once and print the two answers")
    chat_what.add_argument(
        "--eval",
        metavar="FILE|heldout|validation",
        help="quick eval: the run's held-out prompts, its validation split, or a file (.txt one "
        "prompt a line, .jsonl with `prompt`), greedy; saved in RUN/evals/",
    )
    chat.add_argument("--json", action="store_true", help="machine-readable output")
    chat.add_argument("--temperature", type=real(0), default=SamplingSettings.temperature)
    chat.add_argument(
        "--top-p", type=real(0, above=True, maximum=1), default=SamplingSettings.top_p
    )
    chat.add_argument(
        "--max-new-tokens",
        type=whole(1, MAX_NEW_TOKENS_LIMIT),
        metavar="N",
        help=f"answer length limit (default {SamplingSettings.max_new_tokens}; "
        f"{EVAL_MAX_NEW_TOKENS} with --eval)",
    )
    chat.add_argument(
        "--repetition-penalty",
        type=real(0, above=True),
        default=SamplingSettings.repetition_penalty,
    )
    chat.add_argument("--greedy", action="store_true", help="always take the likeliest token")
    chat.add_argument("--seed", type=int, help="random seed (default: a new one, reported)")
    chat.add_argument("--system-prompt", help="system prompt (default: the run's own)")
    chat.add_argument("--device", default="auto", help="auto, cpu or cuda:N")
    chat.add_argument(
        "--placement",
        default="auto",
        choices=PLACEMENTS,
        help="full fine-tunes: both models on the device (together), one at a time "
        "(sequential), or the base on the CPU (base-cpu)",
    )
    evaluate = sub.add_parser(
        "eval",
        help="score a run's base and tuned models on lm-eval tasks; flag what it forgot",
        description="Base and tuned answer the same lm-eval tasks in one process, from one copy "
        "of the base; the table (base, tuned, delta, standard error, forgetting alarm) is saved "
        "in RUN/evals/. `--tasks forgetting` is the built-in offline suite.",
    )
    evaluate.add_argument("run", metavar="RUN", help="run name (see `tui-ft runs`) or run folder")
    evaluate.add_argument(
        "--tasks",
        required=True,
        metavar="T[,T...]",
        help="`forgetting` (the built-in offline suite), lm-eval task names (their data from "
        "the Hugging Face cache, or the hub when online), or lm-eval task files (.yaml)",
    )
    evaluate.add_argument(
        "--limit", type=whole(1), metavar="N", help="at most N questions per task"
    )
    evaluate.add_argument(
        "--no-chat-template",
        action="store_true",
        help="ask the questions as plain text (by default a chat model gets them in its template)",
    )
    evaluate.add_argument("--device", default="auto", help="auto, cpu or cuda:N")
    evaluate.add_argument("--json", action="store_true", help="print the table as JSON")
    runs = sub.add_parser("runs", help="list runs: state, progress, loss, age")
    runs.add_argument("--json", action="store_true", help="machine-readable output")
    compare = sub.add_parser(
        "compare",
        help="runs side by side: settings that differ, curves, evaluations, probe answers",
        description="Put two or more runs side by side: the run.yaml keys that differ (only "
        "those), loss and eval loss, evaluation results, the probe answers at matching steps, "
        "wall time and peak memory. Runs of different base models compare too (it says so).",
    )
    compare.add_argument(
        "runs", nargs="+", metavar="RUN", help="run names or folders (two or more)"
    )
    compare.add_argument(
        "--json", action="store_true", help="machine-readable output, curves included"
    )
    stop = sub.add_parser("stop", help="stop a running training (it saves a checkpoint first)")
    stop.add_argument("run", metavar="RUN", help="run name (see `tui-ft runs`) or run folder")
    stop.add_argument(
        "--wait",
        type=real(0),
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for the run to end and say how it ended",
    )
    export = sub.add_parser(
        "export",
        help="export a finished run's model (merged model, GGUF or Ollama)",
        description="Write a finished run's model in a form other tools load, then check that "
        "it answers the run's probe prompts like the run's model did. Exits 1 when it does not.",
    )
    export.add_argument("run", metavar="RUN", help="run name (see `tui-ft runs`) or run folder")
    export.add_argument(
        "--format",
        default="merged",
        choices=EXPORT_FORMATS,
        help="; ".join(
            f"{f.name}: {f.description}{'' if f.built else ' (not built yet)'}"
            for f in EXPORT_FORMATS.values()
        ),
    )
    export.add_argument(
        "--quant",
        choices=EXPORT_QUANTS,
        help="GGUF weight type for gguf and ollama (default "
        + ", ".join(f"{q} for {f}" for f, q in DEFAULT_EXPORT_QUANTS.items())
        + "; the k-quants are made by llama.cpp); "
        + "; ".join(f"{name}: {what}" for name, what in EXPORT_QUANTS.items()),
    )
    export.add_argument(
        "--imatrix",
        action="store_true",
        help="guide a k-quant (q4_k_m, q5_k_m, q6_k) with an importance matrix computed from "
        "the run's training rows (refused for a base read from a quantized GGUF, as the demo's)",
    )
    export.add_argument(
        "--dtype",
        choices=EXPORT_DTYPES,
        help="weights of a merged export (default: the dtype the run's weights are stored in); "
        "float32 keeps an adapter's merge exact at twice a 16-bit model's size",
    )
    export.add_argument(
        "--out",
        metavar="DIR",
        help="where to write (default: RUN/export/merged, RUN/export/gguf-QUANT or "
        "RUN/export/ollama-QUANT: each GGUF weight type has a folder of its own)",
    )
    export.add_argument("--json", action="store_true", help="print the check report as JSON")
    push = sub.add_parser(
        "push",
        help="upload a run's adapter or export, with its model card, to the Hugging Face Hub",
        description="Upload a finished run's adapter, merged model or GGUF (export it first) to "
        "a Hugging Face model repository, with a model card (README.md) written from the run. "
        "The token comes from HF_TOKEN or `hf auth login`.",
    )
    push.add_argument("run", metavar="RUN", help="run name (see `tui-ft runs`) or run folder")
    push.add_argument(
        "--repo", required=True, metavar="ORG/NAME", help="the model repository (made if missing)"
    )
    push.add_argument(
        "--what",
        choices=PUSH_WHATS,
        help="adapter: the run's LoRA/QLoRA adapter (default for those); merged: export/merged "
        "(default for full runs); gguf: a GGUF export, export/gguf-QUANT (see --quant)",
    )
    push.add_argument(
        "--quant",
        choices=EXPORT_QUANTS,
        help="which GGUF export to push (with --what gguf, which it implies): the one exported "
        "with this --quant (default: the newest that passed its check)",
    )
    push.add_argument("--private", action="store_true", help="make a new repository private")
    push.add_argument(
        "--dry-run",
        action="store_true",
        help="list what would be uploaded, and where; upload nothing",
    )
    push.add_argument("--json", action="store_true", help="machine-readable output")
    # $TUI_FT_FAKE_GPU=FILE.json makes doctor (and the app) read a fake GPU snapshot instead.
    doctor = sub.add_parser("doctor", help="show GPUs, drivers and library versions")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")

    data = sub.add_parser("data", help="look at a dataset").add_subparsers(
        dest="data_command", metavar="ACTION", required=True
    )
    inspect = data.add_parser(
        "inspect",
        help="format, row count, token lengths, problems and one rendered example",
        description="Check a dataset before training on it. Exits 1 when it has bad rows.",
    )
    inspect.add_argument(
        "dataset",
        nargs="?",
        help="`demo`, a .jsonl/.json/.csv/.parquet/.txt file, or an HF id (default: --config's)",
    )
    inspect.add_argument(
        "--model", help="model whose tokenizer and chat template to use (default: demo)"
    )
    inspect.add_argument(
        "--max-length", type=whole(1), help="token limit per example (default: 1024)"
    )
    inspect.add_argument(
        "--format", default="auto", dest="fmt", help="force a format (default: detect)"
    )
    inspect.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="read FIELD (e.g. prompt) from the file's COLUMN; repeatable",
    )
    inspect.add_argument(
        "--example", type=whole(1), default=1, help="which example to render (1-based)"
    )
    inspect.add_argument(
        "--examples",
        type=whole(1),
        default=1,
        metavar="N",
        help="render N examples from --example on (the JSON's `rendered` list)",
    )
    inspect.add_argument("--system-prompt", default=None, help="system prompt to render with")
    inspect.add_argument(
        "--objective",
        default=None,
        metavar="NAME",
        help="say whether the data fit this objective (sft, dpo, kto, ...); exits 1 if not",
    )
    inspect.add_argument(
        "--config",
        metavar="RUN_YAML",
        help="take the dataset, model, max length, system prompt and objective from a run.yaml "
        "(options given here win), and check its rewards against the rows' fields",
    )
    inspect.add_argument("--json", action="store_true", help="machine-readable output")

    demo = sub.add_parser("demo", help="the built-in demo model").add_subparsers(
        dest="demo_command", metavar="ACTION", required=True
    )
    demo.add_parser("prepare", help="convert the demo model once into a fast-loading cache")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
    except UserError as err:
        if args.debug:
            raise
        # Messages name files, rows and runs, and quote exceptions: shown safe, never raw.
        print(f"error: {safe(err.message)}", file=sys.stderr)
        if err.hint:
            print(f"hint: {safe(err.hint)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `tui-ft ... | head` closed the pipe: not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as err:  # the last line of defence: a sentence, not a traceback
        if args.debug:
            raise
        print(f"error: unexpected {type(err).__name__}: {safe(str(err))}", file=sys.stderr)
        print("hint: re-run with --debug to see the traceback, and report it.", file=sys.stderr)
        return 1


def dispatch(args: argparse.Namespace) -> int:
    if args.command is None:
        return _open_app(args)
    if args.open_config:
        raise UserError(
            "--config opens the app on a run config; it does not go with a command.",
            f"Run `tui-ft --config {args.open_config}` alone, or `tui-ft train "
            f"{args.open_config}` to start it from the shell.",
        )
    if args.command in NOT_BUILT:
        raise UserError(
            f"`tui-ft {args.command}` is not available yet: {NOT_BUILT[args.command]} "
            "is still being built.",
            "Run `tui-ft --help` to see what works today.",
        )
    module = importlib.import_module(f"tui_ft.commands.{args.command}")
    return module.run(args)


def _open_app(args: argparse.Namespace) -> int:
    config = config_path = None
    if args.open_config:
        # Read before the app starts: a bad file is a sentence here, not a screen later.
        config_path = Path(args.open_config).expanduser().resolve()
        config = load_config(config_path)
    app = importlib.import_module("tui_ft.ui.app")
    return app.run(theme=args.theme, config=config, config_path=config_path)


if __name__ == "__main__":
    sys.exit(main())
