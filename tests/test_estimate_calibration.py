"""The estimator's activation + loss terms against what autograd really saves for backward,
measured with saved-tensor hooks on tiny random models (CPU, seconds). The full grid is
`python bench/vram_accuracy.py --cpu-calibration`."""

from __future__ import annotations

import pytest

from bench.saved_tensors import compare, default_cases

CASES = {case.label: case for case in default_cases()}
CHECKED = (
    "llama full bf16",
    "llama lora fp32",
    "llama lora bf16 ckpt",
    "llama lora bf16 eager",
    "llama lora bf16 padding-free",
    "qwen2 lora bf16",
)


@pytest.mark.parametrize("label", CHECKED)
def test_saved_activations_match_the_estimate_within_15_percent(label: str) -> None:
    predicted, measured, error = compare(CASES[label])
    assert abs(error) <= 0.15, f"{label}: estimated {predicted:,} B, measured {measured:,} B"
