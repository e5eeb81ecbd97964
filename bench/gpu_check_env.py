"""What bench/gpu_check.py says about the machine, and the arithmetic behind its MFU column.

Model-FLOPs utilization: the FLOPs the model's matrix products must do for the tokens trained,
per second, over the GPU's dense bf16 peak. Per token, with N the weights every token multiplies
by (the decoder's linear layers and the LM head; the input embedding is a lookup):
- full fine-tuning: 6·N (forward 2·N, backward 2·N for the activation gradients and 2·N for
  the weight gradients);
- LoRA / QLoRA: 4·N_frozen + 6·N_lora, since the frozen weights need no weight gradient, only
  the activation gradient that flows through them back to the adapters.
Attention's own products (scores and the weighted sum, ~12·layers·hidden·context per token) and
the recomputation of gradient checkpointing are left out, so the figure errs low, as MFU should.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from tui_ft.core.models.param_count import count_parameters, model_layout
from tui_ft.core.versions import installed_version

# Dense bf16 tensor-core peak in TFLOP/s, from the vendors' datasheets (no sparsity). First
# match wins, so the more specific names come first.
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    (r"\bGH200\b", 989.0),
    (r"\bH200\b", 989.0),
    (r"\bH100\b.*\bPCIe\b", 756.0),
    (r"\bH100\b.*\bNVL\b", 835.0),
    (r"\bH100\b", 989.0),  # SXM (nvidia-smi: "H100 80GB HBM3")
    (r"\bH800\b", 989.0),
    (r"\bB200\b", 2250.0),
    (r"\bA100\b", 312.0),
    (r"\bA800\b", 312.0),
    (r"\bL40S\b", 362.0),
    (r"\bL40\b", 181.0),
    (r"\bL4\b", 121.0),
    (r"\bA10G\b", 70.0),
    (r"\bA10\b", 125.0),
    (r"\bRTX 4090\b", 165.0),
    (r"\bRTX A6000\b", 155.0),
)
VERSIONS = ("torch", "transformers", "peft", "trl", "accelerate", "datasets", "bitsandbytes")


def peak_bf16_tflops(gpu_name: str | None) -> float | None:
    """None for the CPU and for GPUs not in the table: their MFU is "n/a", not a guess."""
    if not gpu_name:
        return None
    for pattern, tflops in PEAK_BF16_TFLOPS:
        if re.search(pattern, gpu_name):
            return tflops
    return None


def matmul_params(config: Mapping[str, Any]) -> int:
    """N of the MFU formula: decoder linear weights plus the LM head (vocab × hidden)."""
    layout = model_layout(config)
    return count_parameters(config).linear + layout.vocab * layout.hidden


def flops_per_token(method: str, n_matmul: int, n_lora: int) -> float:
    if method == "full":
        return 6.0 * n_matmul
    return 4.0 * n_matmul + 6.0 * n_lora


def mfu(tokens_per_s: float, per_token: float, peak_tflops: float | None) -> float | None:
    if peak_tflops is None:
        return None
    return tokens_per_s * per_token / (peak_tflops * 1e12)


def machine() -> dict[str, Any]:
    """Date, device, driver and library versions for the report's header."""
    import platform

    import torch

    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cuda": torch.cuda.is_available(),
        "gpu": None,
        "driver": None,
        "cuda_runtime": torch.version.cuda,
        "python": platform.python_version(),
        "cpu_threads": torch.get_num_threads(),
        "versions": {name: installed_version(name) for name in VERSIONS},
    }
    if info["cuda"]:
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_memory"] = torch.cuda.get_device_properties(0).total_memory
        info["driver"] = _driver()
    return info


def _driver() -> str | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        version = pynvml.nvmlSystemGetDriverVersion()
        return version.decode() if isinstance(version, bytes) else str(version)
    except Exception:  # noqa: BLE001 — the header says "unknown"; the checks still run
        return None


def header_lines(info: dict[str, Any], mode: str) -> list[str]:
    if info["gpu"]:
        device = (
            f"{info['gpu']} ({info['gpu_memory'] / 2**30:.0f} GiB), driver "
            f"{info['driver'] or 'unknown'}, CUDA {info['cuda_runtime']}"
        )
    else:
        device = f"no CUDA GPU: CPU, {info['cpu_threads']} torch threads"
    versions = ", ".join(
        f"{name} {version or 'missing'}" for name, version in info["versions"].items()
    )
    peak = peak_bf16_tflops(info["gpu"])
    return [
        f"- date: {info['date']}",
        f"- mode: {mode}",
        f"- device: {device}",
        f"- bf16 peak used for MFU: {f'{peak:.0f} TFLOP/s' if peak else 'n/a'}",
        f"- Python {info['python']}; {versions}",
    ]
