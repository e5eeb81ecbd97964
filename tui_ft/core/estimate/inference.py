"""Memory of the A/B chat: base and tuned answering the same prompt side by side.

LoRA and QLoRA share one copy of the base: PEFT's mixed-adapter batches run `__base__` and the
adapter in one batch of two (docs/architecture.md). A full fine-tune needs both whole models. Either way
the KV cache holds two sequences of the chat's context.
"""

from __future__ import annotations

from tui_ft.core.config import RunConfig
from tui_ft.core.estimate.peak import (
    Estimate,
    Target,
    Term,
    assemble,
    resolve_precision,
    weights_term,
)
from tui_ft.core.estimate.shapes import kv_cache_bytes, lora_shape
from tui_ft.core.methods import method_named
from tui_ft.core.models.info import ModelInfo

FP32 = 4
__all__ = ["estimate_inference", "kv_cache_bytes"]


def estimate_inference(
    info: ModelInfo,
    config: RunConfig,
    target: Target,
    context: int | None = None,
) -> Estimate:
    """`context`: tokens per conversation (default: the run's max length)."""
    method = method_named(config.method)
    precision = resolve_precision(config.precision, method, target)
    context = context or config.max_length
    weights = weights_term(info, config, precision)
    models = 2 if method.trains_base else 1
    label = "Model weights" + (" × 2 (base and tuned)" if models == 2 else "")
    terms = [Term("weights", label, weights.bytes * models, weights.detail)]
    if method.adapter:
        # PEFT loads adapters in fp32 (autocast_adapter_dtype) for inference too.
        lora = lora_shape(info, config.lora.rank, config.lora.targets, config.lora.dora)
        terms.append(Term("adapter", "Adapter", lora.total * FP32, f"{lora.total:,} params, fp32"))
    kv = kv_cache_bytes(info, context, batch=2, dtype_bytes=precision.compute)
    terms.append(Term("kv_cache", "KV cache", kv, f"2 sequences × {context:,} tokens"))
    # Prefill runs one block at a time: its MLP intermediates dominate; generate() keeps the
    # logits of the last position only, in fp32.
    width = 2 * info.hidden_size + info.intermediate_size
    working = 2 * context * precision.compute * width + 2 * info.vocab_size * FP32
    terms.append(Term("activations", "Prefill working memory", working, "one block at a time"))
    return assemble(terms, target, precision, "generation", None, [])
