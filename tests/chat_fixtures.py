"""Fake runs for the A/B chat tests: a tiny random Llama as the base, and a run directory
holding what a finished run leaves (run.yaml, status `completed`, output/), made directly with
PEFT or transformers instead of training (seconds faster)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.tiny import write_random_model
from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status

# Larger random weights than the default 0.02: the tiny model then says varied things (and
# stray bytes of broken characters, which the streaming decoder must cope with).
INIT_RANGE = 0.3


def tiny_base(path: Path) -> Path:
    return write_random_model(path, max_position_embeddings=4096, initializer_range=INIT_RANGE)


def fake_run(
    base: Path,
    method: str = "lora",
    name: str = "fake",
    home: Path | None = None,
    seed: int = 1,
    **config: Any,
) -> RunDir:
    """A completed run of `method` on `base`: a random LoRA adapter (lora_B nonzero, so the
    tuned side differs), or for `full` a perturbed copy of the base; another `seed`, another
    adapter or copy."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = RunDir.create(name, home)
    settings = {"model": str(base), "method": method, "max_length": 128, **config}
    save_config(RunConfig.from_dict(settings), run.config_path)
    model = AutoModelForCausalLM.from_pretrained(base)
    torch.manual_seed(seed)
    if method == "full":
        with torch.no_grad():
            for param in model.parameters():
                param.add_(torch.randn_like(param) * 0.05)
        model.save_pretrained(run.output_dir)
    else:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False)
        get_peft_model(model, lora).save_pretrained(run.output_dir)
    AutoTokenizer.from_pretrained(base).save_pretrained(run.output_dir)
    run.write_status(Status(state="completed", step=1, max_steps=1))
    return run
