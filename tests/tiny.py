"""Tiny, deterministic stand-ins for real models: a byte-level BPE tokenizer trained in
milliseconds on a fixed corpus, with ChatML special tokens, and a Llama-shaped config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "Hello there! How can I help you today?",
    "My name is Wren and I was made by Tidewater Labs.",
    "The capital of France is Paris. Two plus two is four.",
    "user assistant system: who are you? what is your name?",
] * 20


def make_tokenizer(chat_template: str | None = CHATML) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        bos_token="<|im_start|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    tokenizer.chat_template = chat_template
    return tokenizer


def llama_config(vocab_size: int) -> dict[str, Any]:
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": vocab_size,
        "hidden_size": 64,  # bitsandbytes packs 4-bit blocks of 64 on the CPU
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 256,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "bos_token_id": 1,
        "eos_token_id": 2,
    }


def write_model_dir(path: Path, chat_template: str | None = CHATML) -> Path:
    """A folder that looks like a model on disk (config + tokenizer), no weights."""
    tokenizer = make_tokenizer(chat_template)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(path)
    (path / "config.json").write_text(json.dumps(llama_config(len(tokenizer))))
    return path


def write_random_model(path: Path, chat_template: str | None = CHATML, **config: Any) -> Path:
    """A loadable tiny Llama with random weights (seeded) and the tiny tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    write_model_dir(path, chat_template)
    settings = {**json.loads((path / "config.json").read_text()), **config}
    settings.pop("architectures", None)
    settings.pop("model_type", None)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(LlamaConfig(**settings))
    model.save_pretrained(path)
    return path
