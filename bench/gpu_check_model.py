"""Random-weight models and a synthetic chat dataset for bench/gpu_check.py, written to disk so
the trainer loads them the way it loads a user's model folder and data file (no hub, no
network, nothing to carry to an offline GPU machine).

The tokenizer is word-level (one token per word, ChatML special tokens): a row of n words is
n tokens, so the batch shapes the throughput rows measure are the ones asked for. Its few
thousand words sit at the bottom of the model's vocabulary; the embedding and the LM head keep
the model's full size, and so does the compute.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
LETTERS = "abcdefghijklmnop"
SPACE = "\u0120"  # how byte-level BPE writes a leading space ("Ġ")
# What ChatML adds to a turn here: <|im_start|>, the role and newline as bytes, <|im_end|>,
# a newline, and the first word (no space before it, so three byte tokens).
TURN_OVERHEAD = 12


def words(vocab_size: int) -> list[str]:
    """Three-letter words over as many letters (up to 16) as the vocabulary has room for,
    next to the 256 byte tokens and the prefixes each word's merges pass through."""
    room = vocab_size - 256 - len(SPECIAL)
    size = max(k for k in range(2, len(LETTERS) + 1) if k + k**2 + k**3 <= room)
    letters = LETTERS[:size]
    return [a + b + c for a in letters for b in letters for c in letters]


def make_tokenizer(vocab_size: int) -> Any:
    """Byte-level BPE (what Qwen2's own tokenizer class rebuilds from tokenizer.json, so it
    loads as saved) whose merges make each space-led word exactly one token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    # The special tokens first, so their ids (0, 1, 2) match the model config's.
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {token: i for i, token in enumerate([*SPECIAL, *alphabet])}
    merges = []
    for word in words(vocab_size):
        for end in range(1, len(word) + 1):
            token = SPACE + word[:end]
            if token not in vocab:
                vocab[token] = len(vocab)
                merges.append((SPACE + word[: end - 1], word[end - 1]))
    backend = Tokenizer(models.BPE(vocab, merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL})
    tokenizer.chat_template = CHATML
    return tokenizer


def write_model(folder: Path, config: dict[str, Any], *, seed: int = 0) -> Path:
    """A model folder (config, bf16 random weights, tokenizer), written once per folder. The
    weights are drawn on the GPU when there is one: a 1.5B model's init takes seconds there and
    half a minute on the CPU."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    if (folder / "config.json").is_file():
        return folder
    settings = dict(config)
    model_type = settings.pop("model_type")
    settings.pop("architectures", None)
    settings |= {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}
    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(
            AutoConfig.for_model(model_type, **settings), dtype=torch.bfloat16
        )
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    make_tokenizer(config["vocab_size"]).save_pretrained(folder)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return folder


def write_dataset(
    path: Path, vocab_size: int, *, rows: int, min_tokens: int, max_tokens: int, seed: int = 0
) -> Path:
    """`rows` one-turn conversations (messages format) whose rendered length is spread evenly
    between min_tokens and max_tokens, a third prompt and two thirds answer, so padded and
    padding-free batches differ as they do on real chat data."""
    rng = random.Random(seed)
    vocab = words(vocab_size)
    with path.open("w", encoding="utf-8") as out:
        for _ in range(rows):
            total = rng.randint(min_tokens, max_tokens) - 2 * TURN_OVERHEAD
            prompt = max(1, total // 3)
            answer = max(1, total - prompt)
            messages = [
                {"role": "user", "content": " ".join(rng.choices(vocab, k=prompt))},
                {"role": "assistant", "content": " ".join(rng.choices(vocab, k=answer))},
            ]
            out.write(json.dumps({"messages": messages}) + "\n")
    return path
