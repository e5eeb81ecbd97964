"""How a GRPO run samples its completions (`generation:` in run.yaml): transformers `generate` in
the trainer (a CPU works), or vLLM colocated in the trainer process (TRL's `use_vllm` with
`vllm_mode="colocate"`), which needs the vllm package and an NVIDIA GPU. Pure Python: the
package is looked up without importing it, so the app can ask too."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

from tui_ft.core.errors import UserError

TRANSFORMERS = "transformers"
VLLM = "vllm"
GENERATIONS = (TRANSFORMERS, VLLM)
# TRL's GRPOConfig default for vllm_gpu_memory_utilization.
VLLM_SHARE = 0.3
# TRL's extra pins the vLLM versions it supports (0.22 to 0.31 for TRL 1.16).
VLLM_PIP = "pip install 'trl[vllm]'"


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def uses_vllm(settings: Mapping[str, Any]) -> bool:
    return settings.get("generation", TRANSFORMERS) == VLLM


def vllm_share_check(value: Any) -> str | None:
    if not 0 < value <= 1:
        return (
            f"vllm_gpu_memory_utilization must be above 0 and at most 1 (it is {value}): the "
            f"share of the GPU's memory vLLM takes; {VLLM_SHARE} (TRL's default) leaves the "
            "rest to training."
        )
    return None


def generation_refusal(
    settings: Mapping[str, Any],
    gpu: Callable[[], bool],
    is_installed: Callable[[str], bool] = installed,
) -> UserError | None:
    """Why the run's generation cannot run here, or None: vLLM without an NVIDIA GPU, or
    without its package."""
    if not uses_vllm(settings):
        return None
    if not gpu():
        return UserError(
            "vLLM generation needs an NVIDIA GPU, and none will train this run.",
            "Use generation: transformers on this machine (it samples on the CPU or any GPU).",
        )
    if not is_installed(VLLM):
        return UserError(
            "generation: vllm needs the vllm package, which is not installed.",
            f"Install it with `{VLLM_PIP}` (the vLLM versions TRL supports), or use "
            "generation: transformers.",
        )
    return None
