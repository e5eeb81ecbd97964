"""The precision a run computes in, resolved from `auto` on the hardware at hand; the policy the
estimate assumes (core/estimate/peak.py). Shared by training, pre-flight and export."""

from __future__ import annotations

from tui_ft.core.errors import UserError


def resolve_precision(requested: str) -> str:
    """`auto`: bf16 on a GPU that has it, fp16 on an older GPU, fp32 on the CPU."""
    import torch

    cuda = torch.cuda.is_available()
    if requested == "auto":
        if not cuda:
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if requested == "fp16" and not cuda:
        raise UserError(
            "precision fp16 needs a CUDA GPU, and none is visible.",
            "Use precision auto (fp32 on the CPU) or bf16.",
        )
    return requested
