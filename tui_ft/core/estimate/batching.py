"""How rows become batches, decided in one place for the trainer and the estimator.

Padding-free batches (rows laid end to end, positions restarting per row) spend no compute on
pad tokens, and measured faster than padded ones and as good (docs/architecture.md). Without
flash-attention, though, transformers gives SDPA a dense block-diagonal mask over the whole
flattened batch: 2·N² bytes per decoder block for N tokens, kept for the backward pass. That
is nothing for a few thousand tokens and gigabytes for tens of thousands, so past a limit the
trainer pads instead.
"""

from __future__ import annotations

import importlib.util

from tui_ft.core.config import RunConfig

# 8k tokens: a 128 MiB mask per block in 16-bit, about what the padding would cost instead.
PADDING_FREE_MAX_TOKENS = 8192


def flash_attention_installed() -> bool:
    return importlib.util.find_spec("flash_attn") is not None


def uses_padding_free(config: RunConfig, flash_attention: bool | None = None) -> bool:
    if config.packing:
        return False  # packing fills fixed-length sequences of its own
    if flash_attention is None:
        flash_attention = flash_attention_installed()
    return flash_attention or config.batch_size * config.max_length <= PADDING_FREE_MAX_TOKENS


def describe(config: RunConfig) -> str:
    if config.packing:
        return "packed into max_length sequences"
    return "padding-free" if uses_padding_free(config) else "padded to the longest row"
