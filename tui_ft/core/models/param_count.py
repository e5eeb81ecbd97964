"""How many parameters a causal LM has, worked out from its config.json alone.

The config is read into a `ModelLayout` (the shape facts that decide the count: sizes, biases,
norms, tied embeddings, experts), which is then counted by role: what LoRA targets, the
embeddings, and the rest. No weights are loaded and no ML library is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tui_ft.core.errors import UserError
from tui_ft.core.models.config import config_value, text_config


@dataclass(frozen=True)
class ParamCount:
    """Parameters by role. `linear`: the nn.Linear weights in the decoder blocks (what LoRA
    targets); `embedding`: input embeddings, learned positions and an untied lm_head;
    `other`: norms and biases."""

    linear: int
    embedding: int
    other: int

    @property
    def total(self) -> int:
        return self.linear + self.embedding + self.other


@dataclass(frozen=True)
class ModelLayout:
    """The shape facts that decide the parameter count of a decoder-only transformer."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied: bool
    gated_mlp: bool = True  # gate+up+down (SwiGLU/GeGLU) rather than fc1+fc2
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    norms_per_layer: int = 2
    norm_bias: bool = False  # LayerNorm (weight+bias) rather than RMSNorm
    qk_norm: int = 0  # per-layer q/k norm parameters
    positions: int = 0  # learned position embeddings (GPT-2)
    lm_head_bias: bool = False
    experts: int = 0
    expert_intermediate: int = 0
    shared_expert_intermediate: int = 0
    moe_layers: int = 0


def count_parameters(config: Mapping[str, Any]) -> ParamCount:
    """Parameters of the causal LM described by a config.json dict, as `num_parameters()`
    would report them (a tied lm_head counted once)."""
    return layout_parameters(model_layout(config))


def model_layout(full_config: Mapping[str, Any]) -> ModelLayout:
    """The layout of the causal LM a config.json dict describes; a sentence when the config
    lacks the sizes every decoder has."""
    config = text_config(full_config)
    model_type = str(config.get("model_type") or full_config.get("model_type") or "")
    hidden = config_value(config, "hidden_size", "n_embd", "d_model")
    layers = config_value(config, "num_hidden_layers", "n_layer", "num_layers")
    heads = config_value(config, "num_attention_heads", "n_head")
    vocab = config_value(config, "vocab_size")
    missing = [
        name
        for name, value in (
            ("hidden_size", hidden),
            ("num_hidden_layers", layers),
            ("num_attention_heads", heads),
            ("vocab_size", vocab),
        )
        if value is None
    ]
    if missing:
        raise UserError(
            f"the model config has no {', '.join(missing)}, so its size cannot be worked out.",
            "Is this a causal language model? tui-ft fine-tunes decoder-only text models.",
        )
    if model_type == "gpt2":
        return _gpt2_layout(config, hidden, layers, heads, vocab)
    if model_type == "phi":
        return _phi_layout(config, hidden, layers, heads, vocab)
    return _decoder_layout(config, model_type, hidden, layers, heads, vocab)


def _gpt2_layout(
    config: Mapping[str, Any], hidden: int, layers: int, heads: int, vocab: int
) -> ModelLayout:
    # Conv1D layers (weights transposed, same count) with biases everywhere; LayerNorms.
    return ModelLayout(
        hidden=hidden,
        layers=layers,
        heads=heads,
        kv_heads=heads,
        head_dim=hidden // heads,
        intermediate=config_value(config, "n_inner", default=4 * hidden),
        vocab=vocab,
        tied=bool(config_value(config, "tie_word_embeddings", default=True)),
        gated_mlp=False,
        qkv_bias=True,
        o_bias=True,
        mlp_bias=True,
        norm_bias=True,
        positions=config_value(
            config, "n_positions", "n_ctx", "max_position_embeddings", default=1024
        ),
    )


def _phi_layout(
    config: Mapping[str, Any], hidden: int, layers: int, heads: int, vocab: int
) -> ModelLayout:
    # Phi-1/2: fc1+fc2 MLP, biases everywhere (lm_head too), one LayerNorm per block.
    return ModelLayout(
        hidden=hidden,
        layers=layers,
        heads=heads,
        kv_heads=config_value(config, "num_key_value_heads", default=heads),
        head_dim=hidden // heads,
        intermediate=config_value(config, "intermediate_size", default=4 * hidden),
        vocab=vocab,
        tied=bool(config_value(config, "tie_word_embeddings", default=False)),
        gated_mlp=False,
        qkv_bias=True,
        o_bias=True,
        mlp_bias=True,
        norms_per_layer=1,
        norm_bias=True,
        lm_head_bias=True,
    )


# Defaults of the transformers config classes for fields a config.json may leave out.
_TIED_BY_DEFAULT = {"gemma", "gemma2", "gemma3_text", "gemma3", "cohere", "starcoder2"}


def _decoder_layout(
    config: Mapping[str, Any], model_type: str, hidden: int, layers: int, heads: int, vocab: int
) -> ModelLayout:
    head_dim = config_value(config, "head_dim", default=hidden // heads)
    kv_heads = config_value(config, "num_key_value_heads", default=heads)
    attention_bias = bool(config_value(config, "attention_bias", default=False))
    tied = bool(config_value(config, "tie_word_embeddings", default=model_type in _TIED_BY_DEFAULT))
    norms, qk_norm = 2, 0
    qkv_bias = attention_bias
    if model_type == "qwen2" or model_type == "qwen2_moe":
        qkv_bias = True  # Qwen2 always has q/k/v biases (no o bias)
    if model_type in ("gemma2", "gemma3_text", "gemma3"):
        norms = 4  # extra pre/post feed-forward norms
    if model_type in ("qwen3", "qwen3_moe", "gemma3_text", "gemma3"):
        qk_norm = 2 * head_dim  # per-head RMSNorm on queries and keys
    experts, expert_inter, shared_inter = _moe_sizes(config)
    return ModelLayout(
        hidden=hidden,
        layers=layers,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate=config_value(config, "intermediate_size", default=4 * hidden),
        vocab=vocab,
        tied=tied,
        qkv_bias=qkv_bias,
        o_bias=attention_bias,
        mlp_bias=bool(config_value(config, "mlp_bias", default=False)),
        norms_per_layer=norms,
        qk_norm=qk_norm,
        experts=experts,
        expert_intermediate=expert_inter,
        shared_expert_intermediate=shared_inter,
        moe_layers=_moe_layer_count(config, layers) if experts else 0,
    )


def _moe_sizes(config: Mapping[str, Any]) -> tuple[int, int, int]:
    """(experts, expert intermediate size, shared-expert intermediate size); zeros when dense."""
    experts = int(
        config_value(config, "num_local_experts", "num_experts", "n_routed_experts", default=0)
    )
    if experts <= 0:
        return 0, 0, 0
    inter = config_value(config, "moe_intermediate_size", "intermediate_size")
    shared = int(config_value(config, "shared_expert_intermediate_size", default=0))
    return experts, int(inter), shared


def _moe_layer_count(config: Mapping[str, Any], layers: int) -> int:
    step = int(config_value(config, "decoder_sparse_step", default=1)) or 1
    dense = set(config.get("mlp_only_layers") or [])
    return sum(1 for i in range(layers) if i not in dense and (i + 1) % step == 0)


def layout_parameters(lay: ModelLayout) -> ParamCount:
    """Parameters of a layout by role, a tied lm_head counted once."""
    h, i = lay.hidden, lay.intermediate
    q_dim, kv_dim = lay.heads * lay.head_dim, lay.kv_heads * lay.head_dim
    attn_linear = h * q_dim + 2 * h * kv_dim + q_dim * h
    attn_bias = (q_dim + 2 * kv_dim if lay.qkv_bias else 0) + (h if lay.o_bias else 0)
    dense_linear, dense_bias = _mlp(h, i, lay.gated_mlp, lay.mlp_bias)
    moe_linear = 0
    if lay.experts:
        moe_linear = lay.experts * 3 * h * lay.expert_intermediate + h * lay.experts  # + router
        if lay.shared_expert_intermediate:
            moe_linear += 3 * h * lay.shared_expert_intermediate + h  # + its sigmoid gate
    dense_layers = lay.layers - lay.moe_layers
    norm_size = h * (2 if lay.norm_bias else 1)
    linear = lay.layers * attn_linear + dense_layers * dense_linear + lay.moe_layers * moe_linear
    other = (
        lay.layers * (attn_bias + lay.norms_per_layer * norm_size + lay.qk_norm)
        + dense_layers * dense_bias
        + norm_size  # final norm
        + (lay.vocab if lay.lm_head_bias else 0)
    )
    embedding = lay.vocab * h * (1 if lay.tied else 2) + lay.positions * h
    return ParamCount(linear=linear, embedding=embedding, other=other)


def _mlp(h: int, i: int, gated: bool, bias: bool) -> tuple[int, int]:
    if gated:
        return 3 * h * i, (2 * i + h if bias else 0)
    return 2 * h * i, (i + h if bias else 0)
