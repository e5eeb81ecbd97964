"""How long an A/B pair takes: base and tuned in ONE mixed-adapter batch (what the chat does for
LoRA/QLoRA) against the two answers generated one after the other, same prompts, greedy, same
max_new_tokens, same model in the same process, alternating so that both see the same machine.

    python bench/chat_ab.py                      # the demo model + a random LoRA adapter
    python bench/chat_ab.py --run RUN            # a finished LoRA/QLoRA run
    python bench/chat_ab.py --device cuda:0 --max-new-tokens 128 --json

Prints per mode the median time per pair and each side's tokens/s, the ratio (sequential time
over batch time: above 1 means the batch is faster), and whether the two modes gave the same
tokens (they must: greedy decoding of the same weights).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tui_ft.core.chat.memory import plan_placement
from tui_ft.core.chat.protocol import SamplingSettings
from tui_ft.core.chat.target import chat_target
from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.datasets.demos import demo_heldout
from tui_ft.core.hardware.probe import probe
from tui_ft.core.models.info import read_model_info
from tui_ft.core.models.resolve import resolve_model
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status

MODES = ("batch", "sequential")
LORA_B_STD = 0.02  # lora_B starts at zero (no change); this much noise makes the sides differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a LoRA/QLoRA run (default: demo + random adapter)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda:N")
    parser.add_argument("--prompts", type=int, default=3, help="how many held-out prompts")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2, help="rounds over the prompts")
    parser.add_argument(
        "--threads", type=int, help="torch CPU threads (default: torch's own choice)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="chat-ab-") as scratch:
        run_ref = args.run or str(random_adapter_run(Path(scratch)).path)
        result = bench(run_ref, args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


def random_adapter_run(folder: Path, model: str = "demo", dtype: str = "float32") -> RunDir:
    """A completed LoRA run on `model` (the demo by default) whose adapter is random, not
    trained: lora_B nonzero, so base and tuned answers differ."""
    import torch
    from peft import LoraConfig, get_peft_model

    from tui_ft.engine.model_loading import load_model, load_tokenizer

    config = RunConfig(model=model, method="lora")
    run = RunDir.create("bench-chat-ab", folder)
    save_config(config, run.config_path)
    resolved = resolve_model(model)
    base = load_model(resolved, dtype=getattr(torch, dtype))
    lora = LoraConfig(
        r=config.lora.rank, lora_alpha=config.lora.alpha, target_modules=config.lora.targets
    )
    peft_model = get_peft_model(base, lora)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, LORA_B_STD)
    peft_model.save_pretrained(run.output_dir)
    load_tokenizer(resolved).save_pretrained(run.output_dir)
    run.write_status(Status(state="completed"))
    return run


def bench(run_ref: str, args: argparse.Namespace) -> dict[str, Any]:
    from tui_ft.engine.chat.generate import Job, generate
    from tui_ft.engine.chat.models import load_chat

    target = chat_target(run=run_ref)
    if target.kind != "adapter":
        raise SystemExit("bench/chat_ab.py measures LoRA/QLoRA runs (one base + adapter).")
    info = read_model_info(resolve_model(target.config.model))
    plan = plan_placement(target, info, probe(), device=args.device)
    chat = load_chat(target, plan)
    prompts = [row["prompt"] for row in demo_heldout()][: args.prompts]
    settings = SamplingSettings(greedy=True, max_new_tokens=args.max_new_tokens)

    def pair(prompt: str, mode: str) -> dict[str, Any]:
        turn = [{"role": "user", "content": prompt}]
        events: list[dict[str, Any]] = []
        job = Job(
            "b", ["base", "tuned"], {"base": turn, "tuned": turn}, settings, threading.Event(), True
        )
        started, cpu = time.perf_counter(), time.process_time()
        generate(chat, job, events.append, mode=mode)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        done = {e["side"]: e for e in events if e["event"] == "done"}
        return {"seconds": seconds, "cpu_seconds": cpu, "done": done}

    pair(prompts[0], "batch")  # warm-up: first calls pay for allocations and lazy inits
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for _ in range(args.repeats):
        for prompt in prompts:
            for mode in MODES:
                runs[mode].append(pair(prompt, mode))
    same = sum(
        all(b["done"][s]["token_ids"] == q["done"][s]["token_ids"] for s in ("base", "tuned"))
        for b, q in zip(runs["batch"], runs["sequential"], strict=True)
    )
    summary = {mode: _summary(pairs) for mode, pairs in runs.items()}
    return {
        "run": target.label,
        "model": target.config.model,
        "device": plan.device,
        "dtype": plan.precision,
        "prompts": len(prompts),
        "repeats": args.repeats,
        "max_new_tokens": args.max_new_tokens,
        "modes": summary,
        "speedup": summary["sequential"]["pair_s"] / summary["batch"]["pair_s"],
        "cpu_speedup": summary["sequential"]["pair_cpu_s"] / summary["batch"]["pair_cpu_s"],
        "threads": _threads(),
        "identical_pairs": f"{same}/{len(runs['batch'])}",
    }


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _summary(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "pair_s": statistics.median(p["seconds"] for p in pairs),
        # CPU time of this process: steadier than the wall clock on a machine others share.
        "pair_cpu_s": statistics.median(p["cpu_seconds"] for p in pairs),
    }
    for side in ("base", "tuned"):
        out[f"{side}_tokens"] = statistics.mean(p["done"][side]["new_tokens"] for p in pairs)
        out[f"{side}_tokens_per_s"] = statistics.median(
            p["done"][side]["tokens_per_s"] for p in pairs
        )
    tokens = [p["done"]["base"]["new_tokens"] + p["done"]["tuned"]["new_tokens"] for p in pairs]
    out["pair_tokens_per_s"] = sum(tokens) / sum(p["seconds"] for p in pairs)
    return out


def print_table(result: dict[str, Any]) -> None:
    print(
        f"{result['run']} ({result['model']}) on {result['device']} in {result['dtype']}: "
        f"{result['prompts']} prompts × {result['repeats']} rounds, greedy, "
        f"max {result['max_new_tokens']} new tokens, {result['threads']} torch threads"
    )
    header = (
        f"{'mode':<11} {'pair s':>8} {'cpu s':>7} {'pair tok/s':>10} {'base tok/s':>10} "
        f"{'tuned tok/s':>11} {'tokens b/t':>11}"
    )
    print(header)
    print("-" * len(header))
    for mode, row in result["modes"].items():
        print(
            f"{mode:<11} {row['pair_s']:>8.2f} {row['pair_cpu_s']:>7.2f} "
            f"{row['pair_tokens_per_s']:>10.1f} "
            f"{row['base_tokens_per_s']:>10.1f} {row['tuned_tokens_per_s']:>11.1f} "
            f"{row['base_tokens']:>5.0f}/{row['tuned_tokens']:<5.0f}"
        )
    print(
        f"sequential / batch time per pair: {result['speedup']:.2f}× wall clock, "
        f"{result['cpu_speedup']:.2f}× CPU time "
        f"(identical answers in both modes: {result['identical_pairs']})"
    )


if __name__ == "__main__":
    sys.exit(main())
