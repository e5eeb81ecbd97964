"""Listing the models in the Hugging Face hub cache, without any network call."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.model_fixtures import TINY_LLAMA, cache_repo, config_bytes, offline_hub
from tui_ft.core.models.hf_cache import list_cached_models


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return offline_hub(monkeypatch, tmp_path)


def test_list_cached_models_skips_broken_and_non_lm_entries(isolated: Path) -> None:
    cache_repo(
        isolated,
        "Zeta/big",
        {"config.json": config_bytes(), "model.safetensors": b"w" * 4000},
    )
    cache_repo(isolated, "alpha/cfg-only", {"config.json": config_bytes()})
    bert = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 8}
    cache_repo(isolated, "org/bert", {"config.json": config_bytes(bert)})
    vlm = {"architectures": ["LlavaForConditionalGeneration"], "text_config": TINY_LLAMA}
    cache_repo(isolated, "org/vlm", {"config.json": config_bytes(vlm)})
    # Broken entries: no snapshots, invalid JSON, a dangling link, a dataset.
    (isolated / "models--org--empty").mkdir(parents=True)
    cache_repo(isolated, "org/badjson", {"config.json": b"{not json"})
    dangling = cache_repo(isolated, "org/dangling", {"config.json": config_bytes()})
    (dangling / "config.json").resolve().unlink()
    (isolated / "datasets--org--data" / "snapshots").mkdir(parents=True)
    (isolated / "version.txt").write_text("1")

    found = list_cached_models()  # offline_hub fails any socket connect
    assert [m.repo_id for m in found] == ["alpha/cfg-only", "org/vlm", "Zeta/big"]
    big = found[-1]
    assert big.size_on_disk == len(config_bytes()) + 4000
    assert big.has_weights and not found[0].has_weights
    assert big.model_type == "llama" and big.architecture == "LlamaForCausalLM"
    assert big.snapshot.name == big.revision == "abc123"


def test_list_cached_models_without_a_cache(isolated: Path) -> None:
    assert not isolated.exists()
    assert list_cached_models() == []
