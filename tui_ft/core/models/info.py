"""What a resolved model is: its shape, size and chat template, read from config.json or the
GGUF header without loading a single weight.

Pure Python for the UI's Model step; the `gguf` package is imported lazily, only to name a
rare GGUF quantization type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_ft.core.errors import UserError
from tui_ft.core.models.config import config_value, text_config
from tui_ft.core.models.files import disk_size, read_json_object
from tui_ft.core.models.gguf_header import GGUFTensor, read_gguf_header
from tui_ft.core.models.param_count import ParamCount, layout_parameters, model_layout
from tui_ft.core.models.resolve import DEMO_NAME, ResolvedModel
from tui_ft.core.units import format_context, format_count


@dataclass(frozen=True)
class ModelInfo:
    """A model's shape and size as read from its config or GGUF header (no weights loaded)."""

    name: str
    architecture: str
    model_type: str
    params: ParamCount
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tied_embeddings: bool
    max_context: int | None
    dtype: str | None  # "bfloat16", or the GGUF quantization such as "Q4_1"
    has_chat_template: bool
    size_on_disk: int | None = None
    quantization: str | None = None  # pre-quantized checkpoints: "GGUF Q4_1", "bitsandbytes", ...
    num_experts: int = 0

    @property
    def num_parameters(self) -> int:
        return self.params.total

    def summary(self) -> str:
        """One line for lists: '135M params · 30 layers · 8k context · chat template'."""
        parts = [f"{format_count(self.params.total)} params", f"{self.num_layers} layers"]
        if self.max_context:
            parts.append(f"{format_context(self.max_context)} context")
        if self.quantization:
            parts.append(self.quantization)
        parts.append("chat template" if self.has_chat_template else "no chat template")
        return " · ".join(parts)


def read_model_info(resolved: ResolvedModel) -> ModelInfo:
    """Size and shape of a resolved model, from config.json or the GGUF header only."""
    if resolved.gguf_file is not None:
        return _gguf_info(resolved)
    return _config_info(resolved)


def _display_name(resolved: ResolvedModel) -> str:
    if resolved.is_demo:
        return DEMO_NAME
    return resolved.repo_id or resolved.path.name


def _config_info(resolved: ResolvedModel) -> ModelInfo:
    config_path = resolved.path / "config.json"
    try:
        full = json.loads(config_path.read_text(encoding="utf-8"))
    except OSError as err:
        raise UserError(f"cannot read {config_path}: {err.strerror}.") from err
    except ValueError as err:
        raise UserError(
            f"{config_path} is not valid JSON ({err}).",
            "The file may be truncated; download or copy the model again.",
        ) from err
    if not isinstance(full, dict):
        raise UserError(f"{config_path} does not hold a JSON object.")
    return info_from_config(
        _display_name(resolved),
        full,
        has_chat_template=_folder_has_chat_template(resolved.path),
        size_on_disk=disk_size(resolved.path) if resolved.has_weights else None,
    )


def info_from_config(
    name: str,
    full: dict[str, Any],
    *,
    has_chat_template: bool = False,
    size_on_disk: int | None = None,
) -> ModelInfo:
    """A model's size and shape from its config.json dict (and what only its folder says)."""
    lay = model_layout(full)
    config = text_config(full)
    architectures = full.get("architectures") or [str(full.get("model_type", "unknown"))]
    return ModelInfo(
        name=name,
        architecture=str(architectures[0]),
        model_type=str(config.get("model_type") or full.get("model_type") or "unknown"),
        params=layout_parameters(lay),
        num_layers=lay.layers,
        hidden_size=lay.hidden,
        num_heads=lay.heads,
        num_kv_heads=lay.kv_heads,
        head_dim=lay.head_dim,
        intermediate_size=lay.intermediate,
        vocab_size=lay.vocab,
        tied_embeddings=lay.tied,
        max_context=config_value(config, "max_position_embeddings", "n_positions", "n_ctx"),
        dtype=config_value(config, "dtype", "torch_dtype")
        or config_value(full, "dtype", "torch_dtype"),
        has_chat_template=has_chat_template,
        size_on_disk=size_on_disk,
        quantization=_quantization_name(full.get("quantization_config")),
        num_experts=lay.experts,
    )


def _folder_has_chat_template(folder: Path) -> bool:
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    if (folder / "additional_chat_templates").is_dir():
        return True
    return bool(read_json_object(folder / "tokenizer_config.json").get("chat_template"))


def _quantization_name(quant: Any) -> str | None:
    if not isinstance(quant, Mapping):
        return None
    method = str(quant.get("quant_method") or "quantized")
    if quant.get("load_in_4bit"):
        return f"{method} 4-bit"
    if quant.get("load_in_8bit"):
        return f"{method} 8-bit"
    bits = quant.get("bits")
    return f"{method} {bits}-bit" if bits else method


# --- GGUF -----------------------------------------------------------------------------------

# GGUF architecture names whose transformers counterpart has a different name.
_GGUF_TO_HF = {
    "llama": ("llama", "LlamaForCausalLM"),
    "mistral": ("mistral", "MistralForCausalLM"),
    "qwen2": ("qwen2", "Qwen2ForCausalLM"),
    "qwen3": ("qwen3", "Qwen3ForCausalLM"),
    "qwen2moe": ("qwen2_moe", "Qwen2MoeForCausalLM"),
    "qwen3moe": ("qwen3_moe", "Qwen3MoeForCausalLM"),
    "gemma": ("gemma", "GemmaForCausalLM"),
    "gemma2": ("gemma2", "Gemma2ForCausalLM"),
    "gemma3": ("gemma3_text", "Gemma3ForCausalLM"),
    "phi3": ("phi3", "Phi3ForCausalLM"),
    "gpt2": ("gpt2", "GPT2LMHeadModel"),
    "starcoder2": ("starcoder2", "Starcoder2ForCausalLM"),
}

# Tensors some GGUF converters add that are not model parameters in transformers.
_GGUF_NON_PARAMS = ("rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight")


def _gguf_info(resolved: ResolvedModel) -> ModelInfo:
    assert resolved.gguf_file is not None
    header = read_gguf_header(resolved.gguf_file)
    meta = header.metadata
    arch = str(meta.get("general.architecture", "unknown"))

    def key(name: str, default: Any = None) -> Any:
        value = meta.get(f"{arch}.{name}", default)
        # Some models store a per-layer list (e.g. heads per layer); the largest one bounds size.
        return max(value) if isinstance(value, list) and value else value

    hidden = int(key("embedding_length", 0))
    heads = int(key("attention.head_count", 1))
    vocab = key("vocab_size") or header.array_lengths.get("tokenizer.ggml.tokens", 0)
    model_type, architecture = _GGUF_TO_HF.get(arch, (arch, arch))
    names = {t.name for t in header.tensors}
    file_type = _gguf_file_type(meta.get("general.file_type"))
    return ModelInfo(
        name=_display_name(resolved),
        architecture=architecture,
        model_type=model_type,
        params=_gguf_param_count(header.tensors),
        num_layers=int(key("block_count", 0)),
        hidden_size=hidden,
        num_heads=heads,
        num_kv_heads=int(key("attention.head_count_kv", heads)),
        head_dim=int(key("attention.key_length", hidden // max(heads, 1))),
        intermediate_size=int(key("feed_forward_length", 0)),
        vocab_size=int(vocab),
        tied_embeddings="output.weight" not in names,
        max_context=key("context_length"),
        dtype=file_type,
        has_chat_template=bool(meta.get("tokenizer.chat_template")),
        size_on_disk=resolved.gguf_file.stat().st_size,
        quantization=f"GGUF {file_type}" if file_type else "GGUF",
        num_experts=int(key("expert_count", 0) or 0),
    )


def _gguf_param_count(tensors: list[GGUFTensor]) -> ParamCount:
    linear = embedding = other = 0
    for tensor in tensors:
        if tensor.name in _GGUF_NON_PARAMS:
            continue
        if len(tensor.shape) < 2:
            other += tensor.n_elements  # norms and biases
        elif tensor.name.startswith("blk."):
            linear += tensor.n_elements  # projections (3-D for MoE experts)
        else:
            embedding += tensor.n_elements  # token_embd, position_embd, untied output
    return ParamCount(linear=linear, embedding=embedding, other=other)


# general.file_type values (gguf.LlamaFileType) for the common files; importing gguf for the
# names would pull numpy into the UI process.
_GGUF_FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    32: "BF16",
}


def _gguf_file_type(value: Any) -> str | None:
    """'Q4_1' for general.file_type 3; rarer types are named by the gguf package."""
    if value is None:
        return None
    if int(value) in _GGUF_FILE_TYPES:
        return _GGUF_FILE_TYPES[int(value)]
    try:
        from gguf import LlamaFileType

        name = LlamaFileType(int(value)).name
    except (ImportError, ValueError):
        return f"type {value}"
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")
