"""What to change when a run will not fit, and how much room is left when it fits easily.

Each piece of advice carries the RunConfig changes that apply it (dotted keys, so the UI can
apply it with one key press) and the estimate with those changes. Only changes that lower the
estimate are offered; they are ranked from the least costly to the run (same results, slower)
to the most (less data, another model), and the first one that fits is marked.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.estimate.peak import MIB, Estimate, EstimateOptions, Target, estimate_training
from tui_ft.core.methods import method_named
from tui_ft.core.models.info import ModelInfo
from tui_ft.core.objectives import objective_named
from tui_ft.core.units import format_count

MIN_LENGTH = 128
ROOMY = 0.7  # below this share of the free memory, say what larger batch would still fit
MAX_BATCH = 4096
MIN_SAVING = 0.01
VLLM = "vllm"  # the estimate's term for vLLM's share (core/estimate/peak.py)
VLLM_SHARE_KEY = "vllm_gpu_memory_utilization"
# vLLM's share must hold its 16-bit copy of the weights and some cache: a quarter more.
VLLM_FLOOR = 1.25
PARAM_TERMS = ("weights", "adapter", "reference", "gradients", "optimizer", "step", "dequant")
ACTIVATION_TERMS = ("activations", "attention", "logits", "recompute", "backward", "stale")


@dataclass(frozen=True)
class Advice:
    key: str
    title: str
    why: str  # the trade-off, in a sentence
    changes: dict[str, Any] = field(default_factory=dict)  # RunConfig fields, dotted keys
    estimate: Estimate | None = None  # None: a suggestion without a config change
    first_fit: bool = False

    @property
    def fits(self) -> bool | None:
        return None if self.estimate is None else self.estimate.fits


def apply_changes(config: RunConfig, changes: dict[str, Any]) -> RunConfig:
    """A copy of `config` with dotted-key changes applied (`lora.rank`, `batch_size`, or a
    setting of its objective)."""
    changed = copy.deepcopy(config)
    for key, value in changes.items():
        if objective_named(changed.objective).setting(key) is not None:
            changed.objective_settings[key] = value  # beside `objective:` in run.yaml
            continue
        owner: Any = changed
        *path, name = key.split(".")
        for part in path:
            owner = getattr(owner, part)
        if not hasattr(owner, name):
            raise KeyError(key)
        setattr(owner, name, value)
    return changed


@dataclass(frozen=True)
class _Context:
    info: ModelInfo
    config: RunConfig
    target: Target
    options: EstimateOptions

    def estimate(self, changes: dict[str, Any]) -> Estimate:
        config = apply_changes(self.config, changes)
        return estimate_training(self.info, config, self.target, self.options)


def advise(
    info: ModelInfo,
    config: RunConfig,
    target: Target,
    current: Estimate,
    options: EstimateOptions | None = None,
    lengths: Sequence[int] | None = None,
) -> list[Advice]:
    """Ranked changes that lower the estimate; empty when the run fits (or memory is unknown)."""
    if current.fits is not False:
        return []
    ctx = _Context(info, config, target, options or EstimateOptions())
    candidates = [
        _checkpointing(ctx),
        _micro_batch(ctx),
        _vllm_share(ctx, current),
        _optimizer_8bit(ctx),
        _lighter_method(ctx),
        _shorter_length(ctx, lengths),
    ]
    items = [a for a in candidates if a is not None and _lowers(a, current)]
    if items and not any(a.fits for a in items):
        combined = _combined(ctx, items)
        if combined is not None and _lowers(combined, current):
            items.append(combined)
    items.append(_smaller_model(info, current))
    return _mark_first_fit(items)


def _lowers(advice: Advice, current: Estimate) -> bool:
    """Saves something worth a change: at least 1% (and 32 MiB) of the requirement."""
    if advice.estimate is None:
        return False
    saved = current.required_bytes - advice.estimate.required_bytes
    return saved >= max(MIN_SAVING * current.required_bytes, 32 * MIB)


def _mark_first_fit(items: list[Advice]) -> list[Advice]:
    marked, found = [], False
    for item in items:
        first = bool(item.fits) and not found
        found = found or first
        marked.append(replace(item, first_fit=first))
    return marked


def _checkpointing(ctx: _Context) -> Advice | None:
    if ctx.config.gradient_checkpointing:
        return None
    changes = {"gradient_checkpointing": True}
    return Advice(
        "gradient_checkpointing",
        "Turn on gradient checkpointing",
        "Keeps one tensor per block and recomputes the rest: same results, about 30% slower.",
        changes,
        ctx.estimate(changes),
    )


def _micro_batch(ctx: _Context) -> Advice | None:
    """The largest smaller micro-batch that fits, with more accumulation steps to keep the
    effective batch; a batch of 1 when none does."""
    size = ctx.config.batch_size
    if size <= 1:
        return None
    effective = size * ctx.config.grad_accum
    best: tuple[dict[str, Any], Estimate] | None = None
    candidate = size // 2
    while candidate >= 1:
        changes = {"batch_size": candidate, "grad_accum": math.ceil(effective / candidate)}
        result = ctx.estimate(changes)
        best = (changes, result)
        if result.fits:
            break
        candidate //= 2
    assert best is not None
    changes, result = best
    new_effective = changes["batch_size"] * changes["grad_accum"]
    same = "the same" if new_effective == effective else f"{new_effective} (was {effective})"
    return Advice(
        "micro_batch",
        f"Micro-batch {changes['batch_size']} × {changes['grad_accum']} accumulation steps",
        f"Effective batch stays {same}; steps take longer.",
        changes,
        result,
    )


def _optimizer_8bit(ctx: _Context) -> Advice | None:
    if ctx.config.optimizer != "adamw":
        return None
    changes = {"optimizer": "adamw_8bit"}
    return Advice(
        "optimizer_8bit",
        "Use the 8-bit AdamW optimizer",
        "Keeps optimizer states in 8 bits (bitsandbytes); results are practically the same.",
        changes,
        ctx.estimate(changes),
    )


def _lighter_method(ctx: _Context) -> Advice | None:
    lighter = method_named(ctx.config.method).lighter
    if lighter is None:
        return None
    method = method_named(lighter)
    changes: dict[str, Any] = {"method": method.name}
    if method.quantized and ctx.config.precision == "fp32":
        changes["precision"] = "auto"  # a quantized base computes in 16 bits
    return Advice(
        f"method_{method.name}",
        method.switch_title,
        method.switch_why,
        changes,
        ctx.estimate(changes),
    )


def _shorter_length(ctx: _Context, lengths: Sequence[int] | None) -> Advice | None:
    """The longest max length (halving) that fits, or the shortest tried."""
    length = ctx.config.max_length
    best: tuple[int, Estimate] | None = None
    candidate = length // 2
    while candidate >= MIN_LENGTH:
        result = ctx.estimate({"max_length": candidate})
        best = (candidate, result)
        if result.fits:
            break
        candidate //= 2
    if best is None:
        return None
    new_length, result = best
    return Advice(
        "max_length",
        f"Shorten max length to {new_length}",
        _truncation(new_length, lengths),
        {"max_length": new_length},
        result,
    )


def _vllm_share(ctx: _Context, current: Estimate) -> Advice | None:
    """A smaller share of the GPU for vLLM (grpo, `generation: vllm`): the largest, in steps of
    0.05, that fits, but never below what its own 16-bit copy of the weights and a small cache
    need (VLLM_FLOOR); that floor when nothing above it fits."""
    total = ctx.target.total
    if not current.term(VLLM) or not total:
        return None
    share = float(ctx.config.setting(VLLM_SHARE_KEY))
    floor = math.ceil(VLLM_FLOOR * 2 * ctx.info.num_parameters / total * 20) / 20
    best: tuple[float, Estimate] | None = None
    candidate = math.floor(share * 20 - 1e-9) / 20  # the next step of 0.05 below
    while candidate >= max(floor, 0.05) - 1e-9:
        result = ctx.estimate({VLLM_SHARE_KEY: round(candidate, 2)})
        best = (round(candidate, 2), result)
        if result.fits:
            break
        candidate -= 0.05
    if best is None:
        return None
    new_share, result = best
    return Advice(
        "vllm_share",
        f"Give vLLM {new_share:g} of the GPU (vllm_gpu_memory_utilization)",
        "A smaller cache samples fewer completions at once: generation is slower.",
        {VLLM_SHARE_KEY: new_share},
        result,
    )


def _truncation(length: int, lengths: Sequence[int] | None) -> str:
    if not lengths:
        return "Longer examples get cut; check the dataset's lengths first."
    cut = sum(1 for n in lengths if n > length)
    share = cut / len(lengths)
    return f"Truncates {cut:,} of {len(lengths):,} examples ({share:.1%})."


def _combined(ctx: _Context, items: list[Advice]) -> Advice | None:
    """The changes together, in rank order, stopping at the first combination that fits."""
    changes: dict[str, Any] = {}
    result = None
    for item in items:
        changes |= item.changes
        result = ctx.estimate(changes)
        if result.fits:
            break
    if result is None or len(changes) < 2:
        return None
    titles = [i.title[0].lower() + i.title[1:] for i in items if set(i.changes) <= set(changes)]
    return Advice(
        "combined",
        "Combine: " + "; ".join(titles),
        "No single change is enough; together they are."
        if result.fits
        else "No single change is enough, and even together they fall short.",
        changes,
        result,
    )


def _smaller_model(info: ModelInfo, current: Estimate) -> Advice:
    """How small a model would fit: weights, gradients and optimizer states scale with the
    parameter count, activations roughly with its 2/3 power (layers × width)."""
    share = _fitting_share(current)
    if share is None or share < 0.02:
        why = "Even a much smaller model would not fit at this batch size and length."
    else:
        size = format_count(info.num_parameters * share)
        why = f"A model of about {size} parameters or fewer would fit with these settings."
    return Advice("smaller_model", "Choose a smaller model", why)


def _fitting_share(current: Estimate) -> float | None:
    available = current.available_bytes
    if available is None:
        return None
    # On the high figures, as whether a run fits is judged.
    params = sum(t.band[1] for t in current.terms if t.key in PARAM_TERMS)
    acts = sum(t.band[1] for t in current.terms if t.key in ACTIVATION_TERMS)
    fixed = current.required_high_bytes - params - acts

    def need(share: float) -> float:
        return fixed + params * share + acts * share ** (2 / 3)

    if need(0.0) >= available:
        return None
    low, high = 0.0, 1.0
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if need(middle) <= available else (low, middle)
    return low


def larger_batch(
    info: ModelInfo,
    config: RunConfig,
    target: Target,
    current: Estimate,
    options: EstimateOptions | None = None,
    rows: int | None = None,
) -> Advice | None:
    """When the run fits with lots of room: the largest micro-batch that would still fit, and
    no larger than the dataset's `rows` when they are known (a batch cannot hold more)."""
    available = current.available_bytes
    if not current.fits or available is None or current.required_high_bytes > ROOMY * available:
        return None
    ctx = _Context(info, config, target, options or EstimateOptions())
    largest = min(MAX_BATCH, rows) if rows else MAX_BATCH
    low, high = config.batch_size, config.batch_size * 2
    while high <= largest and ctx.estimate({"batch_size": high}).fits:
        low, high = high, high * 2
    high = min(high, largest + 1)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if ctx.estimate({"batch_size": middle}).fits else (low, middle)
    if low <= config.batch_size:
        return None
    changes: dict[str, Any] = {"batch_size": low}
    effective = config.batch_size * config.grad_accum
    if config.grad_accum > 1:
        changes["grad_accum"] = max(1, math.ceil(effective / low))
    return Advice(
        "larger_batch",
        f"Room for micro-batch {low}",
        "Larger batches train faster per example; fewer accumulation steps for the same "
        "effective batch."
        if config.grad_accum > 1
        else "Larger batches train faster per example (and change the number of steps).",
        changes,
        ctx.estimate(changes),
    )
