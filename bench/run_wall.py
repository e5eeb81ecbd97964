"""A whole run's wall time, `tui-ft train RUN.yaml` against plain TRL on the same data and
hyper-parameters, on the same machine, in one invocation.

    python bench/run_wall.py [--dataset demo|long] [--epochs 3] [--repeats 2]
                             [--max-length N] [--quick]

"tui-ft" is what a person runs: the CLI in the foreground (`python -m tui_ft.cli train
RUN.yaml`, runs home in a temporary folder), from the process start until it exits: start-up,
loading, tokenizing, training, evaluations, probe answers, checkpoints, the saved adapter.
"TRL" is `bench/plain_trl_sft.py` in its own process: transformers + a peft `LoraConfig` +
TRL's `SFTTrainer` with padding-free batches on the same training rows (tui-ft's split, as
conversational prompt-completion rows, tokenized by TRL), no evaluation, no probes, the adapter
saved at the end. Both: LoRA r16 (tui-ft's defaults), the same epochs, batch 4, learning rate,
schedule, warm-up, seed and precision (the TRL side takes tui-ft's resolved precision from
its ledger). Runs alternate tui-ft, TRL, tui-ft, TRL... (`--repeats` each); each side's
minimum wall counts.

Prints every run (wall and CPU seconds of the process tree), both minimum walls, the extras'
share and the batching choice as tui-ft's ledger records them, the held-out answers of the
base model and of each side's last adapter with their hits (bench/heldout_answers.py), and
`ratio: X.XX×` (tui-ft over TRL; the aim is at most 1.0×).

`--dataset long`: 200 rows of 50–900 tokens from bench/long_rows.py (max_length 1024 by
default, so no row is cut). `--quick`: 2 optimizer steps a run, one run a side (unless
`--repeats` is given) and 3 held-out prompts: checks that the script works, measures nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import long_rows

from tui_ft.core import paths
from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.datasets.demos import demo_heldout
from tui_ft.core.datasets.load import Example, load_dataset, split_examples

BENCH = Path(__file__).resolve().parent
SIDES = ("tui-ft", "TRL")
MAX_LENGTH = {"demo": 256, "long": 1024}
QUICK_STEPS = 2
ANSWER_WIDTH = 60


@dataclass
class Wall:
    side: str
    seconds: float
    cpu_s: float  # user + system seconds of the whole process tree
    extras: str = ""
    batching: str = ""


@dataclass
class Setup:
    config: RunConfig
    cases: list[dict[str, Any]]
    train: list[Example]
    scratch: Path


def dataset_files(name: str, scratch: Path) -> tuple[str, Path, list[dict[str, Any]]]:
    """(the dataset reference run.yaml names, its file, the held-out cases with expected words)"""
    if name == "demo":
        cases = [case for case in demo_heldout() if case["expect"]]
        return "demo", paths.DATA_DIR / "demo" / "identity.jsonl", cases
    path = long_rows.write_jsonl(long_rows.generate(), scratch / "long-rows.jsonl")
    return str(path), path, long_rows.heldout()


def trl_rows(train: list[Example]) -> list[dict[str, Any]]:
    """Conversational prompt-completion rows: TRL trains on the completion, the last answer.
    (tui-ft also trains the earlier answers of the demo's few two-turn rows.)"""
    rows = []
    for example in train:
        *prompt, last = ({"role": m.role, "content": m.content} for m in example.messages)
        rows.append({"prompt": prompt, "completion": [last]})
    return rows


def child_env(**extra: str) -> dict[str, str]:
    root = str(BENCH.parent)
    python_path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": python_path, **extra}


def timed(command: list[str], log: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the process and its descendants, exit status)"""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with log.open("wb") as out:
        code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, code


def failed(what: str, log: Path) -> None:
    tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
    sys.exit(f"{what} failed; the end of its output ({log}):\n{tail}")


def run_ours(setup: Setup, index: int) -> tuple[Wall, Path, dict[str, Any]]:
    """One `tui-ft train RUN.yaml`; returns its wall, its run folder and its ledger."""
    home = setup.scratch / "runs"
    config = dataclasses.replace(setup.config, name=f"wall-{index}")
    yaml_path = setup.scratch / f"wall-{index}.yaml"
    save_config(config, yaml_path)
    log = setup.scratch / f"wall-{index}.cli.log"
    command = [sys.executable, "-m", "tui_ft.cli", "train", str(yaml_path)]
    wall, cpu, code = timed(command, log, child_env(TUI_FT_HOME=str(home)))
    run_dir = home / config.name
    if code != 0:
        failed(f"tui-ft train (run {run_dir})", log)
    ledger = json.loads((run_dir / "ledger.json").read_text(encoding="utf-8"))
    status = json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
    extras = ledger.get("extras", status.get("extras"))
    shown = Wall("tui-ft", wall, cpu, describe_extras(extras), describe_batching(ledger))
    return shown, run_dir / "output", ledger


def trl_spec(config: RunConfig, precision: str, train: Path, output: Path) -> dict[str, Any]:
    """What bench/plain_trl_sft.py reads: the run's model and hyper-parameters."""
    return {
        "model": model_folder(config.model),
        "train": str(train),
        "output": str(output),
        "precision": precision,
        "epochs": config.epochs,
        "max_steps": config.max_steps,
        "batch_size": config.batch_size,
        "grad_accum": config.grad_accum,
        "learning_rate": config.learning_rate,
        "lr_scheduler": config.lr_scheduler,
        "warmup_ratio": config.warmup_ratio,
        "weight_decay": config.weight_decay,
        # TRL's SFTConfig turns gradient checkpointing on by default; the run's own setting
        # keeps the two sides' compute alike.
        "gradient_checkpointing": config.gradient_checkpointing,
        "seed": config.seed,
        "lora": dataclasses.asdict(config.lora),
    }


def run_trl(setup: Setup, index: int, precision: str) -> tuple[Wall, Path]:
    folder = setup.scratch / f"trl-{index}"
    folder.mkdir()
    train = long_rows.write_jsonl(trl_rows(setup.train), folder / "train.jsonl")
    config = setup.config
    spec = trl_spec(config, precision, train, folder / "adapter")
    (folder / "spec.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    log = folder / "trl.log"
    command = [sys.executable, str(BENCH / "plain_trl_sft.py"), str(folder / "spec.json")]
    wall, cpu, code = timed(command, log, child_env())
    if code != 0:
        failed("the plain TRL run", log)
    return Wall("TRL", wall, cpu), folder / "adapter"


_model_folders: dict[str, str] = {}


def model_folder(ref: str) -> str:
    """The folder both sides load (the demo's converted copy): found once, before any timing."""
    if ref not in _model_folders:
        from tui_ft.core.models.resolve import resolve_model
        from tui_ft.engine.model_loading import weights_folder

        _model_folders[ref] = weights_folder(resolve_model(ref))
    return _model_folders[ref]


def describe_extras(value: Any) -> str:
    if value is None:
        return "not recorded"
    share = value.get("share") if isinstance(value, dict) else value
    if isinstance(share, int | float) and not isinstance(share, bool):
        rest = {k: v for k, v in value.items() if k != "share"} if isinstance(value, dict) else {}
        detail = f" ({json.dumps(rest)})" if rest else ""
        return f"{share:.0%} of the run{detail}"
    return json.dumps(value)


def describe_batching(ledger: dict[str, Any]) -> str:
    value = ledger.get("batching")
    if value is None:
        return "not recorded"
    return value if isinstance(value, str) else json.dumps(value)


def lengths(setup: Setup) -> list[int]:
    """Token lengths of the training rows as tui-ft tokenizes them (before max_length)."""
    from tui_ft.core.models.resolve import resolve_model
    from tui_ft.engine.model_loading import load_tokenizer
    from tui_ft.engine.tokenize import tokenize_example

    tokenizer = load_tokenizer(resolve_model(setup.config.model))
    return [tokenize_example(tokenizer, e, 1 << 30).full_length for e in setup.train]


def judge(setup: Setup, adapters: dict[str, Path]) -> dict[str, list[dict[str, Any]]]:
    spec = setup.scratch / "judge.json"
    out = setup.scratch / "answers.json"
    spec.write_text(
        json.dumps(
            {
                "model": setup.config.model,
                "cases": setup.cases,
                "adapters": {side: str(path) for side, path in adapters.items()},
            }
        ),
        encoding="utf-8",
    )
    log = setup.scratch / "judge.log"
    command = [sys.executable, str(BENCH / "heldout_answers.py"), str(spec), str(out)]
    _, _, code = timed(command, log, child_env())
    if code != 0:
        failed("answering the held-out prompts", log)
    answers: dict[str, list[dict[str, Any]]] = json.loads(out.read_text(encoding="utf-8"))
    return answers


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= ANSWER_WIDTH else line[: ANSWER_WIDTH - 1] + "…"


def print_answers(answers: dict[str, list[dict[str, Any]]]) -> None:
    print("\nheld-out answers (+ says every expected word):")
    sides = list(answers)
    for i, case in enumerate(answers["base"]):
        print(f"  {_short(case['prompt'])!r}")
        for side in sides:
            row = answers[side][i]
            print(f"    {side:<7} {'+' if row['hit'] else ' '} {_short(row['answer'])}")
    total = len(answers["base"])
    hits = " · ".join(f"{side} {sum(r['hit'] for r in answers[side])}/{total}" for side in sides)
    print(f"hits: {hits}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=("demo", "long"), default="demo")
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, help="runs a side, alternated (default 2)")
    parser.add_argument("--max-length", type=int, help="default: 256 for demo, 1024 for long")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_STEPS} steps, one run a side")
    args = parser.parse_args()
    if args.repeats is None:
        args.repeats = 1 if args.quick else 2
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="run-wall-") as tmp:
        scratch = Path(tmp)
        ref, data_path, cases = dataset_files(args.dataset, scratch)
        if args.quick:  # the first two and the last (a long one for --dataset long)
            cases = [*cases[:2], cases[-1]]
        config = RunConfig(
            model="demo",
            dataset=ref,
            epochs=args.epochs,
            max_steps=QUICK_STEPS if args.quick else None,
            batch_size=4,
            max_length=args.max_length or MAX_LENGTH[args.dataset],
        )
        problems = config.validate()
        if problems:
            sys.exit("\n".join(problems))
        examples = load_dataset(str(data_path)).examples
        train, _ = split_examples(examples, config.eval_split, config.seed)
        setup = Setup(config, cases, train, scratch)
        measure(setup, args)


def measure(setup: Setup, args: argparse.Namespace) -> None:
    config = setup.config
    model_folder(config.model)
    sizes = lengths(setup)
    steps = f"{config.max_steps} steps" if config.max_steps else f"{config.epochs:g} epochs"
    print(
        f"model {config.model} · dataset {args.dataset}: {len(sizes)} training rows of "
        f"{min(sizes)}–{max(sizes)} tokens (median {statistics.median(sizes):.0f}) · "
        f"LoRA r{config.lora.rank} · {steps} · batch {config.batch_size} · "
        f"max_length {config.max_length} · lr {config.learning_rate:g} {config.lr_scheduler} · "
        f"seed {config.seed} · {args.repeats} run(s) a side"
    )
    longer = sum(size > config.max_length for size in sizes)
    if longer:
        print(
            f"note: {longer} rows are longer than max_length: tui-ft cuts them, plain TRL "
            "(padding-free, no max_length) trains them whole; raise --max-length"
        )
    print(f"load average at start {_load()} on {os.cpu_count()} CPUs", flush=True)
    print(f"\n{'run':<4} {'side':<7} {'wall s':>7} {'cpu s':>7}  tui-ft ledger", flush=True)
    walls: list[Wall] = []
    adapters: dict[str, Path] = {}
    ledger: dict[str, Any] = {}
    for index in range(1, args.repeats + 1):
        for side in SIDES:
            if side == "tui-ft":
                wall, adapters[side], ledger = run_ours(setup, index)
                note = f"extras {wall.extras} · batching {wall.batching}"
            else:
                wall, adapters[side] = run_trl(setup, index, ledger["precision"])
                note = ""
            walls.append(wall)
            print(
                f"{index:<4} {side:<7} {wall.seconds:>7.1f} {wall.cpu_s:>7.1f}  {note}",
                flush=True,
            )
    best = {side: min(w.seconds for w in walls if w.side == side) for side in SIDES}
    print()
    for side in SIDES:
        print(f"{side:<7} minimum wall {best[side]:.1f} s")
    last = [wall for wall in walls if wall.side == "tui-ft"][-1]
    print(f"extras (tui-ft ledger): {last.extras}")
    print(f"batching (tui-ft ledger): {last.batching}")
    print(f"load average at end {_load()}")
    if os.getloadavg()[0] > (os.cpu_count() or 1) + 0.5:
        print("note: other processes compete for the CPUs, so wall times are noisy; rerun later")
    print_answers(judge(setup, adapters))
    print(f"ratio: {best['tui-ft'] / best['TRL']:.2f}× (tui-ft wall over plain TRL's)")


if __name__ == "__main__":
    main()
