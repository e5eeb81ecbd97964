"""What a finished run can be exported as, and where each export goes in its run directory.

Pure Python: the CLI's parser and the UI list the formats, and refuse what cannot be exported,
without loading any model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui_ft.core.paths import check_writable_dir

EXPORT = "export"
# Written into every export folder: only a folder holding it is ever replaced by a new export,
# so --out can never wipe a folder tui-ft did not write. It also says what the folder holds
# (format, quant, when it was made: core/export/found.py reads it).
MARKER = ".tui-ft-export.json"


@dataclass(frozen=True)
class ExportFormat:
    name: str
    description: str
    built: bool  # False: named so the CLI and UI can say it is coming, not that it is unknown
    quantized: bool = False  # takes --quant


FORMATS = {
    f.name: f
    for f in (
        ExportFormat(
            "merged",
            "a standalone Hugging Face model folder (safetensors), the adapter merged in",
            built=True,
        ),
        ExportFormat("gguf", "a GGUF file for llama.cpp and LM Studio", built=True, quantized=True),
        ExportFormat(
            "ollama", "a model Ollama can run (GGUF and a Modelfile)", built=True, quantized=True
        ),
    )
}

# What each GGUF weight type keeps: f16/bf16 hold the merged weights (bf16 ones exactly, f32 ones
# rounded); q8_0 stores blocks of 32 weights as 8-bit integers with one scale each; the k-quants
# pack super-blocks of 256 weights with 4 to 6 bits each and are made by llama.cpp itself.
QUANTS = {
    "f16": "16-bit floats: answers like the run's model (about 2 bytes a weight)",
    "bf16": "bfloat16: exact for a model trained in bf16 (about 2 bytes a weight)",
    "q8_0": "8-bit blocks: answers almost like the run's model at about half the size of f16",
    "q6_k": "6-bit k-quant made by llama.cpp: about 41% of f16, answers close to the run's model",
    "q5_k_m": "5-bit k-quant, llama.cpp's mix: about 36% of f16",
    "q4_k_m": "4-bit k-quant, llama.cpp's mix (Ollama's default): about 30% of f16",
}
# Written by llama.cpp's quantizer (llama-cpp-python) from an f16 GGUF; the others by the
# `gguf` package, with no llama.cpp needed.
LLAMA_QUANTS = ("q4_k_m", "q5_k_m", "q6_k")
# What a merged export can be written in (--dtype); its default is the dtype the run's weights
# are stored in.
MERGED_DTYPES = ("bfloat16", "float16", "float32")

# When rounding cost a k-quant its check, the finer types to try, nearest first. On the demo
# run q4_k_m loses 2 of 11 held-out answers and q5_k_m keeps them all (docs/export.md).
FINER_QUANTS = {"q4_k_m": ("q5_k_m", "q6_k"), "q5_k_m": ("q6_k", "q8_0"), "q6_k": ("q8_0",)}

# A GGUF file's default: q8_0 barely changes answers and needs no llama.cpp build; Ollama's own
# default is Q4_K_M, the size most people run locally.
DEFAULT_QUANT = "q8_0"
DEFAULT_QUANTS = {"gguf": "q8_0", "ollama": "q4_k_m"}


def default_quant(fmt: str) -> str:
    return DEFAULT_QUANTS.get(fmt, DEFAULT_QUANT)


# transformers model_type -> the llama.cpp architecture its GGUF is written as. Mistral has
# no architecture of its own in llama.cpp: its weights are Llama-shaped and load as "llama".
GGUF_ARCHITECTURES = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2"}
GGUF_FAMILIES = "Llama (SmolLM2, TinyLlama and other Llama-shaped models), Mistral and Qwen2"


def gguf_refusal(model_type: str | None) -> str | None:
    """Why a model of this type cannot be written as GGUF here, or None when it can."""
    if model_type in GGUF_ARCHITECTURES:
        return None
    what = f"{model_type!r} models" if model_type else "models without a model_type"
    return f"GGUF export supports {GGUF_FAMILIES}; {what} are not supported."


def default_export_dir(run_path: Path, fmt: str, quant: str | None = None) -> Path:
    """The run's export/FORMAT; for a format that takes --quant, export/FORMAT-QUANT (QUANT: the
    format's default when None). Each quantization has a folder of its own, so a new one never
    replaces another: a q4_k_m export that fails its check used to replace a passed q6_k one."""
    if fmt in FORMATS and FORMATS[fmt].quantized:
        return run_path / EXPORT / f"{fmt}-{quant or default_quant(fmt)}"
    return run_path / EXPORT / fmt


def shared_export_dir(run_path: Path, fmt: str) -> Path:
    """The one export/FORMAT folder every quantization of a GGUF format went to before each had
    its own (default_export_dir): a run may still hold an export there."""
    return run_path / EXPORT / fmt


OUT_FIX = "Choose a folder you can write with --out DIR (or fix that folder's permissions)."


def export_target(run_path: Path, fmt: str, out: Path | None, quant: str | None = None) -> Path:
    """Where an export goes (--out, else the run's export/FORMAT[-QUANT]), refused before any work
    when its folder cannot be written: the export and its check report are made beside it."""
    target = Path(out).expanduser().absolute() if out else default_export_dir(run_path, fmt, quant)
    check_writable_dir(target.parent, "the folder for the export", OUT_FIX)
    return target


def check_report_path(
    run_path: Path, fmt: str, out: Path | None = None, quant: str | None = None
) -> Path:
    """Beside the folder it describes: the run's export/FORMAT[-QUANT].check.json for the default
    folder, DIR.check.json for --out DIR. (One report per format in the run directory was
    overwritten by an export elsewhere, and then described another file than the one in
    export/FORMAT.)"""
    target = out if out is not None else default_export_dir(run_path, fmt, quant)
    return report_beside(target)


def report_beside(folder: Path) -> Path:
    """The check report of the export in `folder`."""
    return folder.with_name(f"{folder.name}.check.json")


def partial_prefix(target: Path, pid: int) -> str:
    """The name an export being written by process `pid` has until it is checked and renamed
    into place (a hidden folder next to `target`): anyone who kills an export can find its
    partial folder, and no partial folder is ever taken for a finished export."""
    return f".{target.name}.tmp-{pid}-"


def partial_exports(target: Path, pid: int) -> list[Path]:
    if not target.parent.is_dir():
        return []
    prefix = partial_prefix(target, pid)
    return [path for path in target.parent.iterdir() if path.name.startswith(prefix)]
