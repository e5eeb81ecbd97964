"""Section 3 of bench/gpu_check.py: the A/B chat pair's latency, one mixed-adapter batch against
the two answers one after the other, measured by bench/chat_ab.py's `bench` on a LoRA run whose
base is the random-weight model of the training rows (the demo model is too big to carry to an
offline GPU machine, and a random base times the same as a trained one)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.chat_ab import bench, random_adapter_run


def measure(
    model_folder: Path, scratch: Path, *, prompts: int, repeats: int, max_new_tokens: int
) -> dict[str, Any]:
    """chat_ab's result dict: per mode the median seconds per pair, the speed-up and how many
    pairs gave identical tokens in both modes."""
    run = random_adapter_run(scratch, str(model_folder), dtype="bfloat16")
    args = argparse.Namespace(
        device="auto", prompts=prompts, repeats=repeats, max_new_tokens=max_new_tokens
    )
    return bench(str(run.path), args)
