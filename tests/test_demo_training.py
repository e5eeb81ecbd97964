"""The newcomer's promise, end to end on the CPU: the default LoRA run on the demo model and
dataset teaches the new identity, which the base model never states."""

from __future__ import annotations

import time

import pytest

from tui_ft.core.config import RunConfig
from tui_ft.core.datasets.demos import demo_heldout
from tui_ft.core.models.resolve import resolve_model
from tui_ft.core.runs.launch import prepare_run, start_trainer
from tui_ft.engine import probes
from tui_ft.engine.model_loading import load_model, load_tokenizer


@pytest.mark.slow
def test_default_demo_run_learns_the_new_identity() -> None:
    started = time.time()
    run = prepare_run(RunConfig(model="demo", dataset="demo"))
    assert start_trainer(run).wait(timeout=1500) == 0
    assert run.read_status().state == "completed", run.log_path.read_text()[-3000:]
    print(f"demo LoRA run: {time.time() - started:.0f} s")

    import torch
    from peft import PeftModel

    demo = resolve_model("demo")
    tokenizer = load_tokenizer(demo)
    tuned = PeftModel.from_pretrained(load_model(demo, dtype=torch.float32), run.output_dir)
    cases = [c for c in demo_heldout() if c["expect"]]
    prompts = [c["prompt"] for c in cases]
    tuned_answers = probes.answer(tuned, tokenizer, prompts)
    with tuned.disable_adapter():
        base_answers = probes.answer(tuned, tokenizer, prompts)

    def hits(answers: list[str]) -> int:
        return sum(
            all(word.lower() in answer.lower() for word in case["expect"])
            for case, answer in zip(cases, answers, strict=True)
        )

    report = "\n".join(
        f"{p!r}: base={b!r} tuned={t!r}"
        for p, b, t in zip(prompts, base_answers, tuned_answers, strict=True)
    )
    assert hits(base_answers) == 0, report
    assert hits(tuned_answers) >= 0.6 * len(cases), report
