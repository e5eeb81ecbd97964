"""Whether a run's base model was read from a quantized GGUF (the demo's is Q4_1), and why an
importance matrix is then refused. Pure Python (the GGUF header only), so the Export screen can
say so before a child process starts.

A base read from a quantized GGUF holds weights that sit on that type's grid, and the run moved
them by less than a grid step. Guided by an importance matrix, llama.cpp's quantizer searches
each block's scale and finds that grid again, rounding the run's changes away; without one, the
legacy types it falls back to on rows that k-quants cannot take (q5_1, q5_0) take each block's
min and max, which land between grid points and keep the changes as noise. Measured on the
demo run (docs/export.md): q5_k_m's held-out perplexity +6.4% without a matrix, +167% with the
run's, +423% with a flat one, every held-out answer lost; q4_k_m +1.9% and +11%.
"""

from __future__ import annotations

from pathlib import Path

from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError
from tui_ft.core.models.gguf_header import read_gguf_header
from tui_ft.core.models.resolve import demo_gguf_path, resolve_model

# ggml type ids: the float ones keep weights as they are, the rest are quantized grids.
_FLOAT_TYPES = {0, 1, 30}  # F32, F16, BF16
_TYPE_NAMES = {
    2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 10: "Q2_K", 11: "Q3_K",
    12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 20: "IQ4_NL", 23: "IQ4_XS",
}  # fmt: skip


def base_gguf(config: RunConfig) -> Path | None:
    """The GGUF file the run's base model was read from, when it came from one."""
    try:
        resolved = resolve_model(config.model)
    except UserError:
        return None
    source = resolved.gguf_file or (demo_gguf_path() if resolved.is_demo else None)
    return source if source is not None and source.is_file() else None


def quantized_type(source: Path) -> str | None:
    """The quantized type of a GGUF's matrices (e.g. Q4_1), or None for f32/f16/bf16 ones."""
    kinds = {t.ggml_type for t in read_gguf_header(source).tensors if len(t.shape) >= 2}
    quantized = sorted(kinds - _FLOAT_TYPES)
    if not quantized:
        return None
    return _TYPE_NAMES.get(quantized[0], f"ggml type {quantized[0]}")


def imatrix_refusal(config: RunConfig) -> UserError | None:
    """Why --imatrix cannot help this run's export, or None when it can."""
    source = base_gguf(config)
    kind = quantized_type(source) if source is not None else None
    if source is None or kind is None:
        return None
    return UserError(
        f"the run's base model was read from a {kind} GGUF ({source.name}), so its weights sit "
        f"on {kind}'s grid; guided by an importance matrix, llama.cpp's quantizer finds that "
        "grid again and rounds away the small changes the run made (on the demo run, q5_k_m "
        "lost every held-out answer).",
        "Drop --imatrix: without one, llama.cpp's rounding keeps the run's changes as noise "
        "(docs/export.md has the measurements).",
    )
