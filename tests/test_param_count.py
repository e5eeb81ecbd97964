"""Parameter counts read from config.json must match what transformers builds.

Each config below carries the published dimensions of a real model (written out, no hub); the
reference is the model transformers instantiates from it on the meta device (no memory used).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tui_ft.core.models.param_count import ParamCount, count_parameters

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

LLAMA_3_8B = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "attention_bias": False,
    "bos_token_id": 128000,
    "eos_token_id": 128001,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "max_position_embeddings": 8192,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "rms_norm_eps": 1e-05,
    "rope_theta": 500000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "vocab_size": 128256,
}
QWEN2_7B = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "bos_token_id": 151643,
    "eos_token_id": 151643,
    "hidden_act": "silu",
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "max_position_embeddings": 131072,
    "max_window_layers": 28,
    "num_attention_heads": 28,
    "num_hidden_layers": 28,
    "num_key_value_heads": 4,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "sliding_window": 131072,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "use_sliding_window": False,
    "vocab_size": 152064,
}
MISTRAL_7B = {
    "architectures": ["MistralForCausalLM"],
    "model_type": "mistral",
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "max_position_embeddings": 32768,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "rms_norm_eps": 1e-05,
    "rope_theta": 10000.0,
    "sliding_window": 4096,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "vocab_size": 32000,
}
# Gemma's quirks: head_dim (256) is not hidden/heads (2048/8), one KV head, tied embeddings
# left to the class default, GeGLU activation.
GEMMA_2B = {
    "architectures": ["GemmaForCausalLM"],
    "model_type": "gemma",
    "bos_token_id": 2,
    "eos_token_id": 1,
    "pad_token_id": 0,
    "head_dim": 256,
    "hidden_act": "gelu",
    "hidden_size": 2048,
    "intermediate_size": 16384,
    "max_position_embeddings": 8192,
    "num_attention_heads": 8,
    "num_hidden_layers": 18,
    "num_key_value_heads": 1,
    "rms_norm_eps": 1e-06,
    "rope_theta": 10000.0,
    "torch_dtype": "bfloat16",
    "vocab_size": 256000,
}
# Phi-3 fuses q/k/v into qkv_proj and gate/up into gate_up_proj.
PHI_3_MINI = {
    "architectures": ["Phi3ForCausalLM"],
    "model_type": "phi3",
    "bos_token_id": 1,
    "eos_token_id": 32000,
    "pad_token_id": 32000,
    "hidden_act": "silu",
    "hidden_size": 3072,
    "intermediate_size": 8192,
    "max_position_embeddings": 4096,
    "original_max_position_embeddings": 4096,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 32,
    "rms_norm_eps": 1e-05,
    "rope_theta": 10000.0,
    "sliding_window": 2047,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "vocab_size": 32064,
}
# GPT-2 names things differently (n_embd, n_layer, ...), uses Conv1D, biases, LayerNorms and
# learned position embeddings, and leaves tying to the class default.
GPT2 = {
    "architectures": ["GPT2LMHeadModel"],
    "model_type": "gpt2",
    "activation_function": "gelu_new",
    "bos_token_id": 50256,
    "eos_token_id": 50256,
    "n_ctx": 1024,
    "n_embd": 768,
    "n_head": 12,
    "n_layer": 12,
    "n_positions": 1024,
    "vocab_size": 50257,
}

REALISTIC = {
    "llama-3-8b": (LLAMA_3_8B, 8_030_261_248),
    "qwen2-7b": (QWEN2_7B, 7_615_616_512),
    "mistral-7b": (MISTRAL_7B, 7_241_732_096),
    "gemma-2b": (GEMMA_2B, 2_506_172_416),
    "phi-3-mini": (PHI_3_MINI, 3_821_079_552),
    "gpt2": (GPT2, 124_439_808),
}

# Variants with their own quirks, kept small: q/k norms, extra feed-forward norms, mixtures of
# experts (router, shared expert, sparse steps), phi-2's biases and untied biased lm_head.
_SMALL = {
    "hidden_size": 64,
    "intermediate_size": 96,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 101,
    "pad_token_id": 0,
    "bos_token_id": 1,
    "eos_token_id": 2,
}
VARIANTS: dict[str, dict[str, Any]] = {
    "qwen3": {"model_type": "qwen3", "head_dim": 32, "tie_word_embeddings": True},
    "gemma2": {"model_type": "gemma2", "head_dim": 32},
    "gemma3_text": {"model_type": "gemma3_text", "head_dim": 32},
    "llama-biases": {"model_type": "llama", "attention_bias": True, "mlp_bias": True},
    "mixtral": {"model_type": "mixtral", "num_local_experts": 4, "num_experts_per_tok": 2},
    "qwen2_moe": {
        "model_type": "qwen2_moe",
        "num_experts": 4,
        "moe_intermediate_size": 48,
        "shared_expert_intermediate_size": 80,
        "decoder_sparse_step": 2,
    },
    "qwen3_moe": {
        "model_type": "qwen3_moe",
        "num_experts": 4,
        "moe_intermediate_size": 48,
        "mlp_only_layers": [0],
        "head_dim": 16,
    },
    "phi-2": {"model_type": "phi", "tie_word_embeddings": False},
}


def _instantiate(config: dict[str, Any]) -> Any:
    cfg = transformers.AutoConfig.for_model(**copy.deepcopy(config))
    with torch.device("meta"):
        return transformers.AutoModelForCausalLM.from_config(cfg)


def _split(model: Any) -> ParamCount:
    """The reference split: matrices in the decoder blocks are `linear`, matrices outside them
    (embeddings, lm_head) `embedding`, vectors (norms, biases) `other`."""
    linear = embedding = other = 0
    for name, param in model.named_parameters():  # shared (tied) tensors are listed once
        in_block = ".layers." in name or ".h." in name
        if param.dim() < 2:
            other += param.numel()
        elif in_block:
            linear += param.numel()
        else:
            embedding += param.numel()
    return ParamCount(linear=linear, embedding=embedding, other=other)


@pytest.mark.parametrize("name", list(REALISTIC))
def test_realistic_configs_match_transformers(name: str) -> None:
    config, published = REALISTIC[name]
    ours = count_parameters(config)
    model = _instantiate(config)
    reference = model.num_parameters()
    assert reference == published  # guards the fixture itself against typos
    assert abs(ours.total - reference) <= 0.01 * reference
    assert ours.total == reference
    assert ours == _split(model)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_architecture_variants_match_transformers(name: str) -> None:
    config = {**_SMALL, **VARIANTS[name]}
    model = _instantiate(config)
    assert count_parameters(config) == _split(model)
    assert count_parameters(config).total == model.num_parameters()


def test_split_is_sensible_for_a_7b_model() -> None:
    count = count_parameters(MISTRAL_7B)
    assert count.linear / count.total > 0.9  # LoRA's targets are nearly all of a 7B model
    assert count.embedding == 2 * 32000 * 4096  # untied: input embedding + lm_head
    assert count.other == 32 * 2 * 4096 + 4096  # two RMSNorms per block + the final one


def test_tied_embeddings_are_counted_once() -> None:
    tied = count_parameters({**LLAMA_3_8B, "tie_word_embeddings": True})
    untied = count_parameters(LLAMA_3_8B)
    assert untied.total - tied.total == 128256 * 4096


def test_gemma_ties_by_default_and_gpt2_counts_positions() -> None:
    assert count_parameters(GEMMA_2B).embedding == 256000 * 2048
    assert count_parameters(GPT2).embedding == (50257 + 1024) * 768


def test_multimodal_config_counts_its_text_model() -> None:
    wrapped = {
        "architectures": ["LlavaForConditionalGeneration"],
        "model_type": "llava",
        "text_config": MISTRAL_7B,
        "vision_config": {"hidden_size": 1024},
    }
    assert count_parameters(wrapped) == count_parameters(MISTRAL_7B)


def test_unknown_llama_like_architecture_falls_back() -> None:
    config = {**LLAMA_3_8B, "model_type": "some_new_llama", "architectures": ["NewForCausalLM"]}
    assert count_parameters(config).total == 8_030_261_248


def test_config_without_dimensions_is_a_sentence() -> None:
    from tui_ft.core.errors import UserError

    with pytest.raises(UserError, match="no hidden_size"):
        count_parameters({"model_type": "bert", "vocab_size": 30522})
