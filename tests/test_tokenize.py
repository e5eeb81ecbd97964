"""Loss masks: exactly the assistant's words and their end-of-turn token are trained."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tiny import CHATML, make_tokenizer
from tui_ft.core.datasets.load import Example, Message
from tui_ft.engine.tokenize import (
    DEFAULT_CHAT_TEMPLATE,
    Tokenized,
    ensure_chat_template,
    segments,
    tokenize_example,
)

SMOLLM_STYLE = (  # injects a default system prompt, like SmolLM2's template
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are SmolLM<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# Drops earlier assistant turns' text, like reasoning templates do: no prefix property.
FORGETFUL = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' and not loop.last %}"
    "{{ '<|im_start|>assistant\\n…<|im_end|>\\n' }}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# The generation prompt opens a think block that rendered answers do not have.
THINKING = CHATML.replace("'<|im_start|>assistant\\n'", "'<|im_start|>assistant\\n<think>'")
NO_EOS = (  # a base-model style template that never closes the assistant turn
    "{% for message in messages %}{{ message['role'] + ': ' + message['content'] + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}"
)


def chat(*turns: str) -> Example:
    roles = ["user", "assistant"] * len(turns)
    return Example(row=1, where="t.jsonl line 1", messages=tuple(map(Message, roles, turns)))


def trained_text(tokenizer: Any, tokenized: Tokenized) -> list[str]:
    """Decoded runs of consecutive trained tokens."""
    runs: list[list[int]] = []
    previous = 0
    for token, trained in zip(tokenized.input_ids, tokenized.completion_mask, strict=True):
        if trained and not previous:
            runs.append([])
        if trained:
            runs[-1].append(token)
        previous = trained
    return [tokenizer.decode(r) for r in runs]


@pytest.mark.parametrize("template", [CHATML, SMOLLM_STYLE])
def test_only_the_answer_and_its_end_of_turn_are_trained(template: str) -> None:
    tokenizer = make_tokenizer(template)
    tokenized = tokenize_example(tokenizer, chat("Who are you?", "I am Wren."), 512)
    assert trained_text(tokenizer, tokenized) == ["I am Wren.<|im_end|>\n"]
    assert tokenizer.decode(tokenized.input_ids).count("Who are you?") == 1


def test_every_assistant_turn_of_a_conversation_is_trained() -> None:
    tokenizer = make_tokenizer()
    example = chat("Hi", "Hello!", "Your name?", "Wren.")
    tokenized = tokenize_example(tokenizer, example, 512)
    assert trained_text(tokenizer, tokenized) == ["Hello!<|im_end|>\n", "Wren.<|im_end|>\n"]


def test_templates_that_rewrite_earlier_turns_still_mask_each_answer() -> None:
    tokenizer = make_tokenizer(FORGETFUL)
    tokenized = tokenize_example(tokenizer, chat("Hi", "Hello!", "Name?", "Wren."), 512)
    assert trained_text(tokenizer, tokenized) == ["Wren.<|im_end|>\n"]


def test_answers_are_found_when_the_generation_prompt_differs_from_the_rendering() -> None:
    tokenizer = make_tokenizer(THINKING)
    assert "<think>" in tokenizer.chat_template
    tokenized = tokenize_example(tokenizer, chat("Hi", "Hello!", "Name?", "Wren."), 512)
    assert trained_text(tokenizer, tokenized) == ["Hello!<|im_end|>", "Wren.<|im_end|>"]


def test_an_end_of_turn_token_is_added_when_the_template_has_none() -> None:
    tokenizer = make_tokenizer(NO_EOS)
    tokenized = tokenize_example(tokenizer, chat("Hi", "Hello!"), 512)
    assert tokenized.input_ids[-1] == tokenizer.eos_token_id
    assert tokenized.completion_mask[-1] == 1


def test_a_model_without_template_gets_the_stated_default() -> None:
    tokenizer = make_tokenizer(chat_template=None)
    note = ensure_chat_template(tokenizer)
    assert note and "ChatML" in note
    assert tokenizer.chat_template == DEFAULT_CHAT_TEMPLATE
    assert ensure_chat_template(tokenizer) is None  # once set, nothing more to say


def test_system_prompt_is_rendered_untrained() -> None:
    tokenizer = make_tokenizer()
    tokenized = tokenize_example(tokenizer, chat("Hi", "Hello!"), 512, system_prompt="Be brief.")
    text = tokenizer.decode(tokenized.input_ids)
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>")
    assert trained_text(tokenizer, tokenized) == ["Hello!<|im_end|>\n"]


def test_plain_text_trains_every_token_and_ends_with_eos() -> None:
    tokenizer = make_tokenizer()
    tokenized = tokenize_example(tokenizer, Example(1, "t.txt line 1", text="Paris is big."), 512)
    assert all(tokenized.completion_mask)
    assert tokenized.input_ids[-1] == tokenizer.eos_token_id


def test_truncation_is_reported() -> None:
    tokenizer = make_tokenizer()
    long = chat("Hi " * 50, "Hello! " * 50)
    tokenized = tokenize_example(tokenizer, long, 16)
    assert len(tokenized.input_ids) == 16 and tokenized.truncated
    assert tokenized.full_length > 16


def test_segments_cover_the_text_and_mark_trained_and_special_runs() -> None:
    tokenizer = make_tokenizer()
    tokenized = tokenize_example(tokenizer, chat("Hi", "Héllo!"), 512)
    parts = segments(tokenizer, tokenized)
    assert "".join(p.text for p in parts) == tokenizer.decode(tokenized.input_ids)
    assert any(p.special and p.text == "<|im_start|>" for p in parts)
    assert [p.text for p in parts if p.trained and not p.special] == ["Héllo!", "\n"]
