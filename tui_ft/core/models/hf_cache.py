"""The Hugging Face hub cache on this machine: where it is and which models it holds.

Everything here reads the cache folder directly (models--org--name/snapshots/<revision>) and
never touches the network, nor imports `huggingface_hub`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_ft.core.models.files import disk_size, has_weights, read_json_object


def hub_cache_dir() -> Path:
    """The HF hub cache, read from the environment now (huggingface_hub freezes it at import)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        value = os.environ.get(var)
        if value:
            return Path(value).expanduser()
    hf_home = os.environ.get("HF_HOME")
    if hf_home:
        return Path(hf_home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def cache_repo_folder(repo_id: str) -> Path:
    """The cache folder of model `repo_id` (models--org--name), whether it exists or not."""
    return hub_cache_dir() / ("models--" + repo_id.replace("/", "--"))


def repo_id_from_folder(name: str) -> str:
    """'models--org--name' -> 'org/name'."""
    return name.removeprefix("models--").replace("--", "/")


def cached_snapshot(repo_id: str) -> Path | None:
    """The cached snapshot of `repo_id` that has a config.json, without any network call."""
    return pick_snapshot(cache_repo_folder(repo_id))


def pick_snapshot(repo_folder: Path) -> Path | None:
    """refs/main when it points at a usable snapshot, else the newest snapshot with a config."""
    snapshots = repo_folder / "snapshots"
    try:
        main = (repo_folder / "refs" / "main").read_text().strip()
    except OSError:
        main = ""
    if main and (snapshots / main / "config.json").is_file():
        return snapshots / main
    try:
        candidates = [s for s in snapshots.iterdir() if (s / "config.json").is_file()]
    except OSError:
        return None
    return max(candidates, key=_mtime, default=None)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@dataclass(frozen=True)
class CachedModel:
    """A text model found in the Hugging Face hub cache."""

    repo_id: str
    snapshot: Path
    revision: str
    size_on_disk: int
    has_weights: bool
    model_type: str | None = None
    architecture: str | None = None


def list_cached_models() -> list[CachedModel]:
    """Text language models in the HF hub cache, by repo id. Broken entries are skipped."""
    root = hub_cache_dir()
    try:
        folders = [p for p in root.iterdir() if p.name.startswith("models--")]
    except OSError:
        return []
    found = [m for m in map(_cached_model, folders) if m is not None]
    return sorted(found, key=lambda m: m.repo_id.lower())


def _cached_model(folder: Path) -> CachedModel | None:
    snapshot = pick_snapshot(folder)
    if snapshot is None:
        return None
    config = read_json_object(snapshot / "config.json")
    if not _is_text_lm(config):
        return None
    architectures = config.get("architectures") or [None]
    return CachedModel(
        repo_id=repo_id_from_folder(folder.name),
        snapshot=snapshot,
        revision=snapshot.name,
        size_on_disk=disk_size(snapshot),
        has_weights=has_weights(snapshot),
        model_type=config.get("model_type"),
        architecture=architectures[0],
    )


_CAUSAL_TYPES = {
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "qwen3",
    "qwen2_moe",
    "qwen3_moe",
    "gemma",
    "gemma2",
    "gemma3_text",
    "phi",
    "phi3",
    "gpt2",
    "gpt_neox",
    "falcon",
    "olmo",
    "olmo2",
    "smollm3",
    "granite",
    "starcoder2",
    "stablelm",
    "cohere",
}


def _is_text_lm(config: Mapping[str, Any]) -> bool:
    architectures = config.get("architectures") or []
    if any(str(a).endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
        return True
    if "text_config" in config and any(
        str(a).endswith("ForConditionalGeneration") for a in architectures
    ):
        return True  # vision-language models whose text half fine-tunes like an LM
    return not architectures and config.get("model_type") in _CAUSAL_TYPES
