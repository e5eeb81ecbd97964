"""Model info read without loading weights: from config.json, and from a GGUF header.

Nothing here touches the network: an autouse fixture makes every socket connect fail loudly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.model_fixtures import (
    TINY_LLAMA,
    model_dir,
    needs_demo_wheel,
    offline_hub,
    write_tiny_gguf,
)
from tui_ft.core.models.info import read_model_info
from tui_ft.core.models.param_count import count_parameters
from tui_ft.core.models.resolve import resolve_model


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return offline_hub(monkeypatch, tmp_path)


@pytest.fixture
def tiny_gguf(tmp_path: Path) -> Path:
    return write_tiny_gguf(tmp_path / "tiny.gguf")


def test_local_folder_resolves_and_reads_info(tmp_path: Path) -> None:
    folder = model_dir(tmp_path / "my-model")
    (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ x }}"}))
    resolved = resolve_model(str(folder))
    assert resolved.source == "local"
    assert resolved.path == folder
    assert resolved.has_weights and not resolved.needs_conversion
    assert resolved.load_args() == (str(folder), {})
    info = read_model_info(resolved)
    assert info.name == "my-model"
    assert info.architecture == "LlamaForCausalLM"
    assert (info.num_layers, info.hidden_size, info.num_heads, info.num_kv_heads) == (2, 8, 2, 1)
    assert (info.head_dim, info.intermediate_size, info.vocab_size) == (4, 16, 300)
    assert info.params == count_parameters(TINY_LLAMA)
    assert info.max_context == 512
    assert info.dtype == "bfloat16"
    assert info.has_chat_template
    assert not info.tied_embeddings
    assert info.size_on_disk is not None and info.size_on_disk >= 1000


def test_chat_template_file_and_missing_template(tmp_path: Path) -> None:
    plain = model_dir(tmp_path / "plain")
    assert not read_model_info(resolve_model(str(plain))).has_chat_template
    (plain / "chat_template.jinja").write_text("{{ messages }}")
    assert read_model_info(resolve_model(str(plain))).has_chat_template


def test_gguf_file_resolves_and_counts_exactly(tiny_gguf: Path) -> None:
    resolved = resolve_model(str(tiny_gguf))
    assert resolved.source == "gguf"
    assert resolved.gguf_file == tiny_gguf and resolved.needs_conversion
    assert resolved.load_args() == (str(tiny_gguf.parent), {"gguf_file": "tiny.gguf"})
    info = read_model_info(resolved)
    assert info.params == count_parameters(TINY_LLAMA)  # same model, two descriptions
    assert (info.num_layers, info.hidden_size, info.num_heads, info.num_kv_heads) == (2, 8, 2, 1)
    assert (info.intermediate_size, info.vocab_size, info.max_context) == (16, 300, 512)
    assert info.model_type == "llama" and info.architecture == "LlamaForCausalLM"
    assert not info.tied_embeddings
    assert info.has_chat_template
    assert info.dtype == "F16" and info.quantization == "GGUF F16"
    assert info.size_on_disk == tiny_gguf.stat().st_size


@needs_demo_wheel
def test_demo_model_info_from_gguf_header(monkeypatch: pytest.MonkeyPatch) -> None:
    gguf = pytest.importorskip("gguf")

    def refuse_slow_reader(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("read the GGUF with gguf.GGUFReader, which parses every token")

    # The header only, never the weights, nor gguf's own reader (seconds for a vocabulary).
    monkeypatch.setattr(gguf, "GGUFReader", refuse_slow_reader)
    info = read_model_info(resolve_model("demo"))
    assert info.name == "SmolLM2-135M-Instruct"
    assert (info.num_layers, info.hidden_size, info.vocab_size) == (30, 576, 49152)
    assert (info.num_heads, info.num_kv_heads, info.head_dim) == (9, 3, 64)
    assert info.intermediate_size == 1536 and info.max_context == 8192
    assert info.params.total == 134_515_008  # what transformers reports for the real model
    assert info.params.embedding == 49152 * 576 and info.tied_embeddings
    assert info.has_chat_template
    assert info.summary() == "135M params · 30 layers · 8k context · GGUF Q4_1 · chat template"
