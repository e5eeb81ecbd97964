"""A merged transformers model written as one GGUF file, with the `gguf` package's own writer and
tensor-name maps (no llama.cpp build needed), as f16, bf16 or q8_0.

Tensors are converted and written one at a time (their sizes are known up front), so writing
needs about one tensor's worth of memory beyond the model itself.

What llama.cpp expects that transformers does not store:
- Llama-family q/k projections in the original interleaved rotary layout (transformers' own
  conversion script permuted them; llama.cpp's converter, and this writer, permute them back);
- 1-D tensors (norms, biases) in f32 whatever the file type;
- a tied output layer left out (llama.cpp reuses the embedding);
- Llama 3 rope scaling as a `rope_freqs` tensor of per-frequency factors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from tui_ft.core.errors import UserError
from tui_ft.core.export.formats import GGUF_ARCHITECTURES, gguf_refusal
from tui_ft.engine.export.gguf_tokenizer import GGUFVocab, add_vocab, gguf_vocab

_QUANTS = {
    "f16": (gguf.LlamaFileType.MOSTLY_F16, gguf.GGMLQuantizationType.F16),
    "bf16": (gguf.LlamaFileType.MOSTLY_BF16, gguf.GGMLQuantizationType.BF16),
    "q8_0": (gguf.LlamaFileType.MOSTLY_Q8_0, gguf.GGMLQuantizationType.Q8_0),
}
_F32 = gguf.GGMLQuantizationType.F32
_F16 = gguf.GGMLQuantizationType.F16
# Architectures whose q/k weights llama.cpp wants in the interleaved rotary layout.
_PERMUTED_QK = {"llama"}
_SKIPPED = (".rotary_emb.inv_freq",)  # a buffer transformers recomputes, not a weight


@dataclass
class _Tensor:
    name: str  # the GGUF name
    shape: tuple[int, ...]
    qtype: gguf.GGMLQuantizationType
    source: str | None  # the model's tensor name; None for generated ones
    data: np.ndarray | None = None  # only for generated tensors


@dataclass
class GGUFFacts:
    """What was written, for the report."""

    architecture: str
    quant: str
    tensors: int
    tensor_types: dict[str, int]  # ggml type name -> how many tensors
    vocab: GGUFVocab
    notes: list[str] = field(default_factory=list)


def estimated_size(model: Any, quant: str) -> int:
    """Bytes the tensors will take: enough to check the disk before writing."""
    _, qtype = _quants(quant)
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    return sum(p.numel() for p in model.parameters()) * size // block


def write_gguf(
    model: Any, tokenizer: Any, path: Path, quant: str, *, name: str, source_pre: str | None = None
) -> GGUFFacts:
    config = model.config
    refusal = gguf_refusal(getattr(config, "model_type", None))
    if refusal:
        raise UserError(refusal, "Export it as --format merged instead.")
    arch = GGUF_ARCHITECTURES[config.model_type]
    file_type, _ = _quants(quant)
    vocab = gguf_vocab(tokenizer, config.vocab_size, source_pre)
    state = model.state_dict()
    plan, rope_notes = _plan(config, arch, state, quant)

    writer = gguf.GGUFWriter(path, arch)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(name)
    writer.add_file_type(file_type)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    _add_hyperparameters(writer, config, arch)
    add_vocab(writer, vocab)
    for tensor in plan:
        block, size = gguf.GGML_QUANT_SIZES[tensor.qtype]
        nbytes = math.prod(tensor.shape) * size // block
        writer.add_tensor_info(
            tensor.name, tensor.shape, np.dtype(np.float32), nbytes, raw_dtype=tensor.qtype
        )
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for tensor in plan:
            writer.write_tensor_data(_converted(tensor, state, config, arch))
    finally:
        writer.close()
    types: dict[str, int] = {}
    for tensor in plan:
        types[tensor.qtype.name] = types.get(tensor.qtype.name, 0) + 1
    return GGUFFacts(arch, quant, len(plan), types, vocab, [*vocab.notes, *rope_notes])


def _quants(quant: str) -> tuple[gguf.LlamaFileType, gguf.GGMLQuantizationType]:
    if quant not in _QUANTS:
        raise UserError(
            f"GGUF export writes {', '.join(_QUANTS)}; {quant!r} is not one of them.",
            "Pick one with --quant.",
        )
    return _QUANTS[quant]


# --- metadata ------------------------------------------------------------------------------------


def _add_hyperparameters(writer: Any, config: Any, arch: str) -> None:
    head_dim = _head_dim(config)
    writer.add_vocab_size(config.vocab_size)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(
        getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    )
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    rope = _rope(config)
    writer.add_rope_freq_base(rope.get("rope_theta", 10000.0))
    if arch == "llama":
        writer.add_rope_dimension_count(head_dim)
    kind = rope.get("rope_type", "default")
    if kind == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(rope["factor"])
    elif kind == "yarn":
        writer.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        writer.add_rope_scaling_factor(rope["factor"])
        original = rope.get("original_max_position_embeddings")
        if original:
            writer.add_rope_scaling_orig_ctx_len(original)


def _head_dim(config: Any) -> int:
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def _rope(config: Any) -> dict[str, Any]:
    """transformers 5 keeps theta and scaling together in rope_parameters; older configs split
    them into rope_theta and rope_scaling."""
    rope = dict(getattr(config, "rope_parameters", None) or {})
    scaling = getattr(config, "rope_scaling", None) or {}
    rope = {**scaling, **rope}
    if "rope_theta" not in rope and getattr(config, "rope_theta", None):
        rope["rope_theta"] = config.rope_theta
    if "type" in rope and "rope_type" not in rope:
        rope["rope_type"] = rope["type"]
    return rope


# --- tensors -------------------------------------------------------------------------------------


def _plan(
    config: Any, arch: str, state: dict[str, Any], quant: str
) -> tuple[list[_Tensor], list[str]]:
    names = tensor_names(config)
    _, wanted = _quants(quant)
    tied = bool(getattr(config, "tie_word_embeddings", False))
    plan: list[_Tensor] = []
    notes: list[str] = []
    extra = _rope_freqs(config, arch)
    if extra is not None:
        plan.append(_Tensor("rope_freqs.weight", extra.shape, _F32, None, extra))
        notes.append(
            "Llama 3 rope scaling is written as llama.cpp's rope_freqs tensor; transformers' "
            "GGUF reader ignores it, so the check can differ slightly from llama.cpp"
        )
    for source, value in state.items():
        if source.endswith(_SKIPPED) or (tied and source == "lm_head.weight"):
            continue
        target = names.get_name(source, try_suffixes=(".weight", ".bias"))
        if target is None:
            raise UserError(
                f"the model's tensor {source} has no name in llama.cpp's {arch} layout, so the "
                "GGUF would not load.",
                "Export it as --format merged instead.",
            )
        shape = tuple(value.shape)
        plan.append(_Tensor(target, shape, _tensor_type(target, shape, wanted), source))
    return plan, notes


def tensor_names(config: Any) -> Any:
    """The model's tensor names -> llama.cpp's (`.get_name(name, try_suffixes=...)`)."""
    arch = GGUF_ARCHITECTURES[config.model_type]
    return gguf.get_tensor_name_map(_model_arch(arch), config.num_hidden_layers)


def _model_arch(arch: str) -> gguf.MODEL_ARCH:
    return next(key for key, value in gguf.MODEL_ARCH_NAMES.items() if value == arch)


def _tensor_type(
    name: str, shape: tuple[int, ...], wanted: gguf.GGMLQuantizationType
) -> gguf.GGMLQuantizationType:
    """llama.cpp's converter's rules: norms, biases and other 1-D tensors stay f32; a row that
    does not split into whole quantization blocks falls back to f16."""
    if len(shape) <= 1 or name.endswith("_norm.weight") or not name.endswith(".weight"):
        return _F32
    block, _ = gguf.GGML_QUANT_SIZES[wanted]
    return wanted if shape[-1] % block == 0 else _F16


def _converted(tensor: _Tensor, state: dict[str, Any], config: Any, arch: str) -> np.ndarray:
    if tensor.data is not None:
        return gguf.quants.quantize(tensor.data, tensor.qtype)
    assert tensor.source is not None
    data = state[tensor.source].detach().float().cpu().numpy()
    if arch in _PERMUTED_QK:
        data = _llama_rotary_layout(data, tensor.source, config)
    return gguf.quants.quantize(data, tensor.qtype)


def _llama_rotary_layout(data: np.ndarray, source: str, config: Any) -> np.ndarray:
    """Undo transformers' q/k permutation: within each head, llama.cpp rotates interleaved pairs
    (x0, x1), (x2, x3)... where transformers rotates the first half against the second. The
    inverse is what transformers' GGUF loader applies on reading (LlamaTensorProcessor)."""
    heads = config.num_attention_heads
    if ".q_proj." in source:
        return _permute(data, heads)
    if ".k_proj." in source:
        return _permute(data, getattr(config, "num_key_value_heads", None) or heads)
    return data


def _permute(data: np.ndarray, heads: int) -> np.ndarray:
    half = data.shape[0] // heads // 2
    return data.reshape(heads, 2, half, *data.shape[1:]).swapaxes(1, 2).reshape(data.shape)


def _rope_freqs(config: Any, arch: str) -> np.ndarray | None:
    """Llama 3.1+'s frequency-dependent rope scaling, as llama.cpp's converter computes it."""
    rope = _rope(config)
    kind = rope.get("rope_type", "default")
    if kind in ("default", "linear") or (kind == "yarn" and arch == "qwen2"):
        return None
    if kind != "llama3" or arch != "llama":
        raise UserError(
            f"this model uses {kind!r} rope scaling, which the GGUF export does not write.",
            "Export it as --format merged and convert that folder with llama.cpp's converter.",
        )
    dim = _head_dim(config)
    base = rope.get("rope_theta", 10000.0)
    factor = rope.get("factor", 8.0)
    low, high = rope.get("low_freq_factor", 1.0), rope.get("high_freq_factor", 4.0)
    original = rope.get("original_max_position_embeddings", 8192)
    freqs = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float32) / dim))
    factors = []
    for freq in freqs:
        wavelength = 2 * math.pi / freq
        if wavelength < original / high:
            factors.append(1.0)
        elif wavelength > original / low:
            factors.append(factor)
        else:
            smooth = (original / wavelength - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(factors, dtype=np.float32)
