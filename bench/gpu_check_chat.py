"""Section 3 of bench/gpu_check.py: the A/B chat pair's latency, one mixed-adapter batch against
the two answers one after the other, measured by bench/chat_ab.py's `bench` on a LoRA run whose
base is the random-weight model of the training rows (the demo model is too big to carry to an
offline GPU machine, and a random base times the same as a trained one)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.chat_ab import LORA_B_STD, bench
from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.rundir import RunDir, Status


def adapter_run(folder: Path, model_folder: Path) -> RunDir:
    """A completed LoRA run on `model_folder` whose adapter is random (lora_B nonzero, so base
    and tuned answers differ), as chat_ab's `random_adapter_run` makes for the demo."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = RunConfig(model=str(model_folder), method="lora")
    run = RunDir.create("gpu-check-chat", folder)
    save_config(config, run.config_path)
    model = AutoModelForCausalLM.from_pretrained(model_folder, dtype=torch.bfloat16)
    lora = LoraConfig(
        r=config.lora.rank, lora_alpha=config.lora.alpha, target_modules=config.lora.targets
    )
    peft_model = get_peft_model(model, lora)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, LORA_B_STD)
    peft_model.save_pretrained(run.output_dir)
    AutoTokenizer.from_pretrained(model_folder).save_pretrained(run.output_dir)
    run.write_status(Status(state="completed"))
    return run


def measure(
    model_folder: Path, scratch: Path, *, prompts: int, repeats: int, max_new_tokens: int
) -> dict[str, Any]:
    """chat_ab's result dict: per mode the median seconds per pair, the speed-up and how many
    pairs gave identical tokens in both modes."""
    run = adapter_run(scratch, model_folder)
    args = argparse.Namespace(
        device="auto", prompts=prompts, repeats=repeats, max_new_tokens=max_new_tokens
    )
    return bench(str(run.path), args)
