"""What a finished run can be exported as, and where each export goes in its run directory.

Pure Python: the CLI's parser and the UI list the formats without loading any model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXPORT = "export"


@dataclass(frozen=True)
class ExportFormat:
    name: str
    description: str
    built: bool  # False: named so the CLI and UI can say it is coming, not that it is unknown


FORMATS = {
    f.name: f
    for f in (
        ExportFormat(
            "merged",
            "a standalone Hugging Face model folder (safetensors), the adapter merged in",
            built=True,
        ),
        ExportFormat("gguf", "a GGUF file for llama.cpp and LM Studio", built=False),
        ExportFormat("ollama", "a model Ollama can run (GGUF and a Modelfile)", built=False),
    )
}


def default_export_dir(run_path: Path, fmt: str) -> Path:
    return run_path / EXPORT / fmt


def check_report_path(run_path: Path, fmt: str) -> Path:
    """Kept in the run directory even when --out points elsewhere: the run remembers its exports."""
    return run_path / EXPORT / f"{fmt}.check.json"
