"""Probe answers: one batched, left-padded greedy `generate` answers every prompt exactly as
generating them one at a time did, and the token limit follows the data's answer lengths."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tiny import write_random_model
from tui_ft.engine import probes
from tui_ft.engine.train.data import IGNORE, TrainData

# Prompts of different lengths (12 to 34 tokens once rendered), so the batch is padded.
PROMPTS = [
    "Hi",
    "Who are you? What is your name, and who made you?",
    "The capital of France is Paris. Two plus two is four. Hello there! How can I help you?",
    "Say hello.",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # Wider initial weights than the default 0.02, whose model repeats one token forever:
    # these answers vary token by token, and "Say hello." ends early on <|im_end|>, so the
    # batch holds a finished row next to running ones.
    path = write_random_model(tmp_path_factory.mktemp("model") / "tiny", initializer_range=0.3)
    return AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)


def one_at_a_time(
    model: Any, tokenizer: Any, prompts: list[str], system_prompt: str | None, limit: int
) -> list[str]:
    """The probes as they were generated before batching: each prompt alone, unpadded."""
    import torch

    stops = probes.stop_ids(model, tokenizer)
    answers = []
    with torch.no_grad():
        for prompt in prompts:
            ids = probes.prompt_ids(tokenizer, prompt, system_prompt)
            output = model.generate(
                torch.tensor([ids]),
                max_new_tokens=limit,
                do_sample=False,
                eos_token_id=sorted(stops),
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
            new_tokens = output[0, len(ids) :]
            answers.append(tokenizer.decode(new_tokens, skip_special_tokens=True).strip())
    return answers


@pytest.mark.parametrize("system_prompt", [None, "You are Wren, made by Tidewater Labs."])
def test_batched_answers_are_the_one_at_a_time_answers(
    tiny: tuple[Any, Any], system_prompt: str | None
) -> None:
    model, tokenizer = tiny
    model.train()

    batched = probes.answer(model, tokenizer, PROMPTS, system_prompt)

    assert batched == one_at_a_time(model, tokenizer, PROMPTS, system_prompt, 48)
    assert len(set(batched)) == len(PROMPTS)  # a model that says something different to each
    assert model.training  # put back as the trainer left it
    assert tokenizer.padding_side == "right"  # the trainer's collator pads as before


def test_a_tokenizer_without_pad_token_pads_with_eos(tiny: tuple[Any, Any]) -> None:
    model, tokenizer = tiny
    pad = tokenizer.pad_token
    tokenizer.pad_token = None
    try:
        assert tokenizer.pad_token_id is None
        batched = probes.answer(model, tokenizer, PROMPTS, max_new_tokens=30)
        assert batched == one_at_a_time(model, tokenizer, PROMPTS, None, 30)
    finally:
        tokenizer.pad_token = pad


def test_an_answer_ends_at_the_first_end_of_turn(tiny: tuple[Any, Any]) -> None:
    model, tokenizer = tiny
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad = tokenizer.pad_token_id
    hello = tokenizer("Hello there!", add_special_tokens=False)["input_ids"]
    stops = probes.stop_ids(model, tokenizer)

    assert probes.decode_answer(tokenizer, [*hello, end, *hello, pad], stops) == "Hello there!"
    assert probes.decode_answer(tokenizer, hello, stops) == "Hello there!"  # the limit cut it
    assert probes.answer(model, tokenizer, []) == []


def test_the_token_limit_is_the_95th_percentile_of_trained_tokens_within_bounds() -> None:
    assert probes.token_limit(list(range(1, 101))) == 48  # p95 = 95, capped
    assert probes.token_limit(list(range(1, 41))) == 38  # nearest rank: the 38th of 40
    assert probes.token_limit([3, 4, 5]) == 8  # the floor: room for a short sentence
    assert probes.token_limit([20] * 19 + [400]) == 20  # one long row does not set the limit
    assert probes.token_limit([]) == 48
    assert probes.token_limit([30, 90], cap=64) == 64


def test_train_data_counts_the_trained_tokens_of_each_row() -> None:
    rows = [
        {"input_ids": [5, 6, 7, 8], "labels": [IGNORE, IGNORE, 7, 8]},
        {"input_ids": [5, 6, 7], "labels": [5, 6, 7]},
    ]
    data = TrainData(train_rows=rows, eval_rows=[], probe_prompts=[])

    assert data.trained_tokens_per_row() == [2, 3]
    assert data.trained_tokens == 5
