"""'Watch it learn': the model answers a few fixed prompts greedily at each evaluation.

All prompts go through one batched `generate` (left padding, the KV cache on), so a probe costs
about one answer's time, not one per prompt; greedy decoding with positions taken from the
attention mask gives each prompt the same answer as alone. Answers stop at the end of the
assistant's turn and within a token limit taken from the dataset's answer lengths.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tui_ft.core.datasets.load import Message
from tui_ft.engine.tokenize import end_of_turn_ids, render, with_system_prompt

MAX_NEW_TOKENS = 48
MIN_NEW_TOKENS = 8
LENGTH_PERCENTILE = 0.95


def token_limit(
    trained_per_row: Sequence[int], cap: int = MAX_NEW_TOKENS, floor: int = MIN_NEW_TOKENS
) -> int:
    """New tokens a probe answer may take: the 95th percentile (nearest rank) of the trained
    tokens per training row, which include the closing end-of-turn, so most answers the data
    teach fit whole; within [floor, cap]. No rows: the cap."""
    if not trained_per_row:
        return cap
    ordered = sorted(trained_per_row)
    p95 = ordered[math.ceil(LENGTH_PERCENTILE * len(ordered)) - 1]
    return max(floor, min(cap, p95))


def answer(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    system_prompt: str | None = None,
    max_new_tokens: int = MAX_NEW_TOKENS,
) -> list[str]:
    if not prompts:
        return []
    import torch

    stops = stop_ids(model, tokenizer)
    pad_id = next(i for i in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0) if i is not None)
    encoded = [prompt_ids(tokenizer, prompt, system_prompt) for prompt in prompts]
    # Left padding, by hand: every prompt ends where generation starts, and the tokenizer
    # (shared with the trainer's collator) is left as it is.
    width = max(len(ids) for ids in encoded)
    device = next(model.parameters()).device
    input_ids = torch.tensor([[pad_id] * (width - len(ids)) + ids for ids in encoded])
    mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in encoded])
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            output = model.generate(
                input_ids=input_ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                use_cache=True,
                eos_token_id=sorted(stops) or None,
                pad_token_id=pad_id,
            )
    finally:
        model.train(was_training)
    return [decode_answer(tokenizer, row.tolist(), stops) for row in output[:, width:]]


def prompt_ids(tokenizer: Any, prompt: str, system_prompt: str | None) -> list[int]:
    messages = with_system_prompt([Message("user", prompt)], system_prompt)
    text = render(tokenizer, messages, generation_prompt=True)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def stop_ids(model: Any, tokenizer: Any) -> set[int]:
    """The model's own EOS ids (where generate stopped before) and the template's end-of-turn
    tokens (so an answer never runs on into a made-up next turn)."""
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if configured is None:
        configured = []
    elif isinstance(configured, int):
        configured = [configured]
    return end_of_turn_ids(tokenizer) | set(configured)


def decode_answer(tokenizer: Any, new_tokens: list[int], stops: set[int]) -> str:
    """The text before the first stop token (what follows it in a batch is padding)."""
    end = next((i for i, token in enumerate(new_tokens) if token in stops), len(new_tokens))
    return tokenizer.decode(new_tokens[:end], skip_special_tokens=True).strip()
