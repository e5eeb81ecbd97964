"""Training presets ("quick try", "balanced", "thorough") as RunConfig values, adapted to the
memory of the device the run trains on.

A preset fixes what a person means by "how hard to train": epochs, learning rate, the
effective batch (micro-batch × accumulation) and the longest example kept. The device only
decides how that effective batch is split: a card with little memory gets small micro-batches
and more accumulation steps (same results, slower), a large one the opposite. The learning
rate depends on the method: full fine-tuning moves every weight and needs one about ten times
smaller than an adapter does.

The CPU tier's "quick try" is exactly RunConfig's defaults, so picking it never changes the
demo run (80 short rows, 3 epochs, batches of 4: a few minutes on two cores).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.methods import method_named

GIB = 1024**3
PRESET_NAMES = ("quick try", "balanced", "thorough")
# Five fields a preset sets; every other setting stays as the person left it.
PRESET_KEYS = ("epochs", "learning_rate", "batch_size", "grad_accum", "max_length")


@dataclass(frozen=True)
class Tier:
    """A class of device by memory. `tokens`: tokens per micro-batch (batch × length) that
    leave room for a model of the size people train on such a device."""

    name: str
    label: str
    up_to_gib: float  # total memory, inclusive; the last tier has no bound
    tokens: int
    max_length: tuple[int, int, int]  # per preset, in PRESET_NAMES order


# Bounds sit between the common card sizes (8/12/16, 24/32, 40/48, 80/94/141 GB); cards report
# a little under their name (an "80GB" H100 shows 79.6 GiB), hence the gaps.
CPU_TIER = Tier("cpu", "CPU (system RAM)", math.inf, 4096, (1024, 1024, 2048))
GPU_TIERS = (
    Tier("small", "GPU up to 20 GiB", 20, 4096, (1024, 1024, 2048)),
    Tier("medium", "GPU up to 36 GiB", 36, 8192, (1024, 2048, 4096)),
    Tier("large", "GPU up to 64 GiB", 64, 16384, (1024, 2048, 4096)),
    Tier("huge", "GPU over 64 GiB", math.inf, 32768, (1024, 4096, 8192)),
)


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str  # one line for the picker
    epochs: float
    adapter_lr: float  # LoRA and QLoRA
    full_lr: float  # full fine-tuning
    effective_batch: int


PRESETS = {
    p.name: p
    for p in (
        Preset("quick try", "short run to see it learn", 3.0, 2e-4, 2e-5, 4),
        Preset("balanced", "a good default for real data", 3.0, 1e-4, 1e-5, 16),
        Preset("thorough", "more epochs, longer examples", 5.0, 1e-4, 1e-5, 32),
    )
}


def memory_tier(device: str, total_bytes: int | None) -> Tier:
    """The tier of a device: "cpu", or a GPU by its total memory (unknown: the smallest)."""
    if device != "cuda":
        return CPU_TIER
    gib = (total_bytes or 0) / GIB
    return next(t for t in GPU_TIERS if gib <= t.up_to_gib)


def preset_values(
    name: str, tier: Tier, method: str, max_context: int | None = None
) -> dict[str, Any]:
    """The RunConfig fields a preset sets on this tier, for this method. `max_context` (the
    model's) caps the max length: longer would only waste memory."""
    if name not in PRESETS:
        raise KeyError(f"no preset named {name!r}; presets are {', '.join(PRESET_NAMES)}")
    preset = PRESETS[name]
    length = tier.max_length[PRESET_NAMES.index(name)]
    if max_context:
        length = min(length, max_context)
    micro = max(1, min(preset.effective_batch, tier.tokens // length))
    return {
        "epochs": preset.epochs,
        "learning_rate": preset.full_lr if method_named(method).trains_base else preset.adapter_lr,
        "batch_size": micro,
        "grad_accum": math.ceil(preset.effective_batch / micro),
        "max_length": length,
    }


def apply_preset(
    config: RunConfig, name: str, tier: Tier, max_context: int | None = None
) -> RunConfig:
    """A copy of `config` with the preset's fields set (max_steps cleared: a preset counts in
    epochs)."""
    changed = copy.deepcopy(config)
    for key, value in preset_values(name, tier, config.method, max_context).items():
        setattr(changed, key, value)
    changed.max_steps = None
    return changed


def matching_preset(config: RunConfig, tier: Tier, max_context: int | None = None) -> str | None:
    """The preset `config` follows on this tier, or None when its fields were edited."""
    if config.max_steps is not None:
        return None
    for name in PRESET_NAMES:
        values = preset_values(name, tier, config.method, max_context)
        if all(same_value(getattr(config, key), value) for key, value in values.items()):
            return name
    return None


def same_value(current: Any, wanted: Any) -> bool:
    """Whether a field holds `wanted`: a float within rounding (2e-4 typed is 0.0002)."""
    if isinstance(wanted, float) and isinstance(current, int | float):
        return math.isclose(float(current), wanted, rel_tol=1e-9)
    return bool(current == wanted)
