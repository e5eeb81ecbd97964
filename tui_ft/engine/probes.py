"""'Watch it learn': the model answers a few fixed prompts greedily at each evaluation."""

from __future__ import annotations

from typing import Any

from tui_ft.core.datasets.load import Message
from tui_ft.engine.tokenize import render, with_system_prompt

MAX_NEW_TOKENS = 48


def answer(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    system_prompt: str | None = None,
    max_new_tokens: int = MAX_NEW_TOKENS,
) -> list[str]:
    import torch

    was_training = model.training
    model.eval()
    answers = []
    try:
        with torch.no_grad():
            for prompt in prompts:
                messages = with_system_prompt([Message("user", prompt)], system_prompt)
                text = render(tokenizer, messages, generation_prompt=True)
                inputs = tokenizer(text, add_special_tokens=False, return_tensors="pt")
                inputs = inputs.to(next(model.parameters()).device)
                output = model.generate(
                    **inputs,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                )
                new_tokens = output[0, inputs["input_ids"].shape[1] :]
                answers.append(tokenizer.decode(new_tokens, skip_special_tokens=True).strip())
    finally:
        model.train(was_training)
    return answers
