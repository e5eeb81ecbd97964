"""How rows become batches: run.yaml's choice, else the cheapest way on the run's own rows for
the model's shape (core/estimate/batching.py)."""

from __future__ import annotations

import random

import pytest

from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError
from tui_ft.core.estimate.batching import batch_cost, choose_batching
from tui_ft.core.models.info import ModelInfo
from tui_ft.core.models.param_count import ParamCount

# The demo model's shape (SmolLM2-135M): linear layers dominate a token's compute.
DEMO = ModelInfo(
    name="demo",
    architecture="LlamaForCausalLM",
    model_type="llama",
    params=ParamCount(linear=106_168_320, embedding=28_311_552, other=34_560),
    num_layers=30,
    hidden_size=576,
    num_heads=9,
    num_kv_heads=3,
    head_dim=64,
    intermediate_size=1536,
    vocab_size=49152,
    tied_embeddings=True,
    max_context=8192,
    dtype="bfloat16",
    has_chat_template=True,
)


def lengths(seed: int, count: int, low: int, high: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(low, high) for _ in range(count)]


SHORT = lengths(1, 80, 20, 60)  # like the demo's identity rows
LONG = lengths(2, 200, 50, 900)  # long, uneven rows


def choose(lengths: list[int], **fields: object) -> str:
    config = RunConfig.from_dict({"batch_size": 4, "max_length": 1024, **fields})
    return choose_batching(config, lengths, DEMO, flash_attention=False).name


def test_short_rows_go_padding_free() -> None:
    assert choose(SHORT) == "padding_free"


def test_long_uneven_rows_go_grouped_without_flash_attention() -> None:
    config = RunConfig(batch_size=4, max_length=1024)
    chosen = choose_batching(config, LONG, DEMO, flash_attention=False)
    assert chosen.name == "grouped"
    assert chosen.why.startswith("compute on these rows (5")  # its shortest row, 50-something
    grouped = batch_cost("grouped", LONG, 4, DEMO)
    assert grouped < 0.95 * min(batch_cost(n, LONG, 4, DEMO) for n in ("padded", "padding_free"))


def test_flash_attention_makes_padding_free_cheapest() -> None:
    config = RunConfig(batch_size=4, max_length=1024)
    assert choose_batching(config, LONG, DEMO, flash_attention=True).name == "padding_free"


def test_run_yaml_decides_when_it_says() -> None:
    assert choose(LONG, batching="padded") == "padded"
    assert choose(SHORT, batching="grouped") == "grouped"
    assert choose(SHORT, packing=True) == "packed"


def test_a_large_micro_batch_is_padded_without_flash_attention() -> None:
    config = RunConfig(batch_size=16, max_length=2048)
    chosen = choose_batching(config, SHORT, DEMO, flash_attention=False)
    assert chosen.name == "padded" and "too large" in chosen.why


def test_an_unknown_batching_is_a_sentence() -> None:
    with pytest.raises(UserError, match="batching must be one of auto, padded, grouped"):
        RunConfig.from_dict({"batching": "zigzag"})


def test_an_objective_that_only_pads_gets_padded_batches_and_refuses_others() -> None:
    config = RunConfig(objective="dpo", dataset="demo-preference")
    choice = choose_batching(config, [50, 60, 900], None)
    assert choice.name == "padded"
    assert "objective dpo" in choice.why
    problems = RunConfig(objective="dpo", batching="padding_free").validate()
    assert any("batching: padding_free is not how objective dpo batches" in p for p in problems)
