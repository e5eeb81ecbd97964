"""Versions of the libraries a run depends on, read from package metadata (never by importing
them, which for torch & co. would cost seconds and memory)."""

from __future__ import annotations

from importlib import metadata

# Distribution names, as pip knows them.
LIBRARIES = (
    "torch",
    "transformers",
    "peft",
    "trl",
    "accelerate",
    "datasets",
    "bitsandbytes",
    "safetensors",
    "tokenizers",
    "huggingface-hub",
    "gguf",
    "textual",
    "textual-plotext",
    "plotext",
    "rich",
    "psutil",
    "nvidia-ml-py",
    "pyyaml",
)


def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def library_versions() -> dict[str, str | None]:
    return {name: installed_version(name) for name in LIBRARIES}
