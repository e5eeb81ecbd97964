"""GGUF k-quants (Q4_K_M, Q5_K_M, Q6_K) made by llama.cpp's own quantizer, through
llama-cpp-python, from the f16 GGUF that gguf_writer writes: the `gguf` package can read
k-quants but not write them, and llama.cpp's choice of a type per tensor (Q4_K_M keeps some
attention and feed-forward weights in Q6_K) is what people expect a Q4_K_M file to be.

A k-quant packs each row in super-blocks of 256 weights. A tensor whose rows are not a multiple
of 256 wide (576 on SmolLM2-135M) cannot take it, and llama.cpp gives it another type; the
report lists those tensors, since the file is then not quite what its name says.
"""

from __future__ import annotations

import ctypes
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_ft.core.errors import UserError
from tui_ft.core.export.formats import LLAMA_QUANTS
from tui_ft.core.models.gguf_header import read_gguf_header
from tui_ft.engine.export.c_stderr import captured_llama_output
from tui_ft.engine.export.imatrix import imatrix_array

K_BLOCK = 256  # weights per k-quant super-block (QK_K)
# ggml type ids of the k-quants (GGML_TYPE_Q2_K .. Q6_K).
_K_TYPES = {10, 11, 12, 13, 14}
LOG_TAIL = 3  # lines of llama.cpp's own output quoted when it fails
_FTYPES = {"q4_k_m": 15, "q5_k_m": 17, "q6_k": 18}  # llama_ftype: LLAMA_FTYPE_MOSTLY_*
LLAMA_CPP_HINT = (
    "`python3 quickstart.py` installs it (it compiles llama.cpp once, about 6 minutes on 2 "
    "cores); or `pip install llama-cpp-python`. f16, bf16 and q8_0 GGUFs need no llama.cpp."
)


@dataclass
class Quantized:
    """What llama.cpp wrote, for the report."""

    tensor_types: dict[str, int]  # ggml type name -> how many tensors
    fallbacks: dict[str, list[str]] = field(default_factory=dict)  # type -> tensors given it
    fallback_widths: list[int] = field(default_factory=list)  # the row widths that forced it
    log: str = ""  # what llama.cpp printed while quantizing (kept off the terminal)


def require_llama_cpp(what: str) -> Any:
    """llama_cpp, or a sentence saying how to get it."""
    try:
        import llama_cpp
    except ImportError:
        raise UserError(
            f"{what} needs llama.cpp (llama-cpp-python), which is not installed.", LLAMA_CPP_HINT
        ) from None
    # llama.cpp logs a line per tensor it quantizes and per key it loads, through this logger;
    # the export's progress lines would drown. Its errors still show.
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
    return llama_cpp


def quantize(
    source: Path, target: Path, quant: str, imatrix: dict[str, Any] | None = None
) -> Quantized:
    """`source` (an f16 GGUF) quantized to `target` by llama_model_quantize, guided by an
    importance matrix (see imatrix.py) when one is given."""
    if quant not in LLAMA_QUANTS:
        raise UserError(
            f"llama.cpp quantization here writes {', '.join(LLAMA_QUANTS)}; not {quant!r}."
        )
    llama_cpp = require_llama_cpp(f"a {quant} GGUF")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = _FTYPES[quant]
    params.nthread = os.cpu_count() or 1
    if imatrix:
        if not hasattr(llama_cpp, "llama_model_imatrix_data"):
            raise UserError(
                "this llama-cpp-python takes no importance matrix (0.3.35 and later do).",
                "Leave out --imatrix, or upgrade it with `python3 quickstart.py`.",
            )
        entries = imatrix_array(llama_cpp, imatrix)
        params.imatrix = ctypes.cast(entries, ctypes.POINTER(llama_cpp.llama_model_imatrix_data))
    with captured_llama_output(llama_cpp) as log:
        status = llama_cpp.llama_model_quantize(
            str(source).encode(), str(target).encode(), ctypes.byref(params)
        )
    if status != 0 or not target.is_file():
        said = [line for line in log.text.splitlines() if line.strip()][-LOG_TAIL:]
        raise UserError(
            f"llama.cpp could not quantize {source.name} to {quant} (status {status})"
            + (f"; it said: {' / '.join(said)}" if said else "."),
            "An f16 or q8_0 export (--quant) needs no quantizer.",
        )
    facts = quantized_facts(target)
    facts.log = log.text
    return facts


def quantized_facts(path: Path) -> Quantized:
    """Types per tensor as written; a 2-D tensor whose rows do not split into 256-weight
    super-blocks is a fallback (it got a non-k type whatever the file type says)."""
    import gguf

    header = read_gguf_header(path)
    types: dict[str, int] = {}
    fallbacks: dict[str, list[str]] = {}
    widths: set[int] = set()
    for tensor in header.tensors:
        name = gguf.GGMLQuantizationType(tensor.ggml_type).name
        types[name] = types.get(name, 0) + 1
        width = tensor.shape[0]  # GGUF lists the row (contiguous) dimension first
        if len(tensor.shape) >= 2 and width % K_BLOCK and tensor.ggml_type not in _K_TYPES:
            fallbacks.setdefault(name, []).append(tensor.name)
            widths.add(width)
    return Quantized(types, fallbacks, sorted(widths))
