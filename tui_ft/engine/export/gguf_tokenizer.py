"""The tokenizer half of a GGUF file: vocabulary, merges, token types, special token ids (BOS,
EOS, PAD, the end-of-turn token), whether BOS/EOS are added, and the chat template.

A GGUF has no tokenizer.json: llama.cpp rebuilds the tokenizer from these keys, so anything lost
here (the end-of-turn token, the template) is what makes a model ramble on in Ollama. Two kinds
of BPE vocabulary are written, the two llama.cpp knows for these families:
- "gpt2": byte-level BPE (Llama 3, Qwen2, SmolLM2, Mistral's Tekken);
- "llama": SentencePiece-style BPE with byte fallback (Llama 2, Mistral 7B), whose merge order
  llama.cpp reads from the token scores.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from gguf import TokenType

from tui_ft.core.errors import UserError
from tui_ft.engine.tokenize import end_of_turn_ids

_BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>")
# The names llama.cpp gives the byte-level splitting rules that transformers' GGUF reader can
# rebuild; among equivalent names, the one llama.cpp's own converter writes.
_PREFERRED_PRE = ("llama-bpe", "qwen2", "tekken", "gpt-4o")


@dataclass
class GGUFVocab:
    model: str  # "gpt2" | "llama"
    pre: str
    tokens: list[str]
    token_types: list[TokenType]
    scores: list[float] | None
    merges: list[str]
    special_ids: dict[str, int]  # bos, eos, unk, pad, eot
    add_bos: bool
    add_eos: bool
    add_space_prefix: bool | None
    chat_template: str | list[dict[str, str]] | None
    notes: list[str] = field(default_factory=list)


def gguf_vocab(tokenizer: Any, vocab_size: int, source_pre: str | None = None) -> GGUFVocab:
    """What the GGUF says about `tokenizer`, padded to the model's `vocab_size` (embedding rows
    without a token are written as unused placeholders, as llama.cpp's converter does).

    `source_pre` is the splitting rule named by the GGUF the base model came from, if any: a
    model converted from GGUF no longer says in its tokenizer.json which rule it was trained with.
    """
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    bpe = spec.get("model") or {}
    if bpe.get("type") != "BPE":
        raise UserError(
            f"this model's tokenizer is a {bpe.get('type', 'unknown')} tokenizer; GGUF export "
            "writes BPE tokenizers (byte-level as in Llama 3, Qwen2 and SmolLM2, or "
            "SentencePiece-style as in Llama 2 and Mistral).",
            "Export it as --format merged and convert that folder with llama.cpp's converter.",
        )
    sentencepiece = bool(bpe.get("byte_fallback"))
    merges = _merges(bpe.get("merges") or [])
    tokens, types = _tokens(tokenizer, vocab_size, sentencepiece)
    notes: list[str] = []
    pre: str | None
    if sentencepiece:
        model, pre, scores = "llama", "default", _merge_scores(tokens, merges)
    else:
        model, scores = "gpt2", None
        pre = source_pre or _pre_name(spec.get("pre_tokenizer"))
        if pre is None:
            pre = "default"
            notes.append(
                "the tokenizer splits text with a rule llama.cpp has no name for; the GGUF says "
                "'default', so llama.cpp may cut numbers and punctuation differently"
            )
    add_bos, add_eos = adds_special_tokens(tokenizer)
    return GGUFVocab(
        model=model,
        pre=pre,
        tokens=tokens,
        token_types=types,
        scores=scores,
        merges=merges,
        special_ids=special_token_ids(tokenizer),
        add_bos=add_bos,
        add_eos=add_eos,
        add_space_prefix=_space_prefix(spec) if sentencepiece else None,
        chat_template=_chat_template(tokenizer),
        notes=notes,
    )


def add_vocab(writer: Any, vocab: GGUFVocab) -> None:
    writer.add_tokenizer_model(vocab.model)
    writer.add_tokenizer_pre(vocab.pre)
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.token_types)
    if vocab.scores is not None:
        writer.add_token_scores(vocab.scores)
    if vocab.merges:
        writer.add_token_merges(vocab.merges)
    for kind, token_id in vocab.special_ids.items():
        getattr(writer, f"add_{kind}_token_id")(token_id)
    writer.add_add_bos_token(vocab.add_bos)
    writer.add_add_eos_token(vocab.add_eos)
    if vocab.add_space_prefix is not None:
        writer.add_add_space_prefix(vocab.add_space_prefix)
    if vocab.chat_template:
        writer.add_chat_template(vocab.chat_template)


def special_token_ids(tokenizer: Any) -> dict[str, int]:
    ids = {
        kind: token_id
        for kind in ("bos", "eos", "unk", "pad")
        if isinstance(token_id := getattr(tokenizer, f"{kind}_token_id", None), int)
    }
    eot = end_of_turn_id(tokenizer)
    if eot is not None:
        ids["eot"] = eot
    return ids


def end_of_turn_id(tokenizer: Any) -> int | None:
    """The token that closes an assistant turn in the chat template. Where the tokenizer's EOS
    is something else (Llama 3 base: <|end_of_text|> vs <|eot_id|>), llama.cpp must be told, or
    generation runs past the end of the answer."""
    candidates = end_of_turn_ids(tokenizer) - {tokenizer.eos_token_id}
    if tokenizer.chat_template:
        named = [
            t
            for t in candidates
            if tokenizer.convert_ids_to_tokens(t) in str(tokenizer.chat_template)
        ]
        candidates = set(named) or candidates
    if candidates:
        return min(candidates)
    return tokenizer.eos_token_id if isinstance(tokenizer.eos_token_id, int) else None


# --- pieces --------------------------------------------------------------------------------------


def _tokens(
    tokenizer: Any, vocab_size: int, sentencepiece: bool
) -> tuple[list[str], list[TokenType]]:
    by_id = {token_id: token for token, token_id in tokenizer.get_vocab().items()}
    if by_id and max(by_id) >= vocab_size:
        raise UserError(
            f"the tokenizer has token ids up to {max(by_id)}, but the model has only "
            f"{vocab_size} embedding rows: the two do not belong together.",
            "Check that the run's output/ holds the tokenizer it was trained with.",
        )
    added = tokenizer.added_tokens_decoder
    tokens: list[str] = []
    types: list[TokenType] = []
    for token_id in range(vocab_size):
        token = by_id.get(token_id)
        if token is None:
            tokens.append(f"[PAD{token_id}]")
            types.append(TokenType.UNUSED)
        elif token_id in added:
            if added[token_id].special or _looks_special(token):
                types.append(TokenType.CONTROL)
            else:
                # llama.cpp matches user-defined tokens in raw text, where "▁" is a space.
                token = token.replace("\u2581", " ") if sentencepiece else token
                types.append(TokenType.USER_DEFINED)
            tokens.append(token)
        else:
            tokens.append(token)
            if sentencepiece and _BYTE_TOKEN.fullmatch(token):
                types.append(TokenType.BYTE)
            elif token_id == tokenizer.unk_token_id:
                types.append(TokenType.UNKNOWN)
            else:
                types.append(TokenType.NORMAL)
    return tokens, types


def _looks_special(token: str) -> bool:
    # Some models mark their turn tokens as not special; llama.cpp's converter treats these
    # spellings as control tokens all the same.
    return (token.startswith("<|") and token.endswith("|>")) or token in ("<pad>", "<mask>")


def _merges(raw: list[Any]) -> list[str]:
    """ "a b" lines, as llama.cpp reads them; a space inside a pair (possible since tokenizers
    stores pairs as lists) is shifted to U+0120+ as gguf's own SpecialVocab does."""
    if raw and isinstance(raw[0], str):
        return list(raw)
    return [" ".join(part.replace(" ", chr(ord(" ") + 256)) for part in pair) for pair in raw]


def _merge_scores(tokens: list[str], merges: list[str]) -> list[float]:
    """llama.cpp's SentencePiece tokenizer merges the pair whose result scores highest, so a
    token made by an earlier merge must score higher; tokens no merge makes score lowest."""
    rank: dict[str, int] = {}
    for i, merge in enumerate(merges):
        rank.setdefault(merge.replace(" ", ""), i)
    lowest = -float(len(merges) + 1)
    return [-float(rank[t]) if t in rank else lowest for t in tokens]


def _pre_name(pre_tokenizer: dict[str, Any] | None) -> str | None:
    """llama.cpp's name for how a byte-level tokenizer cuts text into words before merging."""
    if not pre_tokenizer:
        return None
    steps = pre_tokenizer.get("pretokenizers") or [pre_tokenizer]
    kinds = [step.get("type") for step in steps]
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True):
        return "gpt-2"
    if kinds == ["Digits", "ByteLevel"] and steps[0].get("individual_digits"):
        return "smollm"
    if kinds == ["Split", "ByteLevel"] and not steps[1].get("use_regex", True):
        pattern = (steps[0].get("pattern") or {}).get("Regex")
        return _split_names().get(pattern) if pattern else None
    return None


def _split_names() -> dict[str, str]:
    """regex -> llama.cpp name, from the table transformers' GGUF reader rebuilds tokenizers
    with: naming a rule it knows is what makes the read-back tokenizer split text the same."""
    try:
        from transformers.integrations.gguf.gguf_tokenizer_mapping import (
            GGUF_PRE_TOKENIZER_SPLITS,
        )
    except ImportError:  # an older transformers: such tokenizers get the "default" note instead
        return {}
    names: dict[str, str] = {}
    for name, regex in GGUF_PRE_TOKENIZER_SPLITS.items():
        if regex not in names or name in _PREFERRED_PRE:
            names[regex] = name
    return names


def _space_prefix(spec: dict[str, Any]) -> bool:
    """Whether the SentencePiece tokenizer puts "▁" before the first word (Llama 2: yes)."""
    for part in (spec.get("pre_tokenizer"), spec.get("normalizer")):
        steps = (part or {}).get("pretokenizers") or (part or {}).get("normalizers") or [part]
        for step in steps:
            if not step:
                continue
            if step.get("type") == "Metaspace":
                return step.get("prepend_scheme", "always") != "never"
            if step.get("type") == "Prepend" and step.get("prepend") == "\u2581":
                return True
    return False


def adds_special_tokens(tokenizer: Any) -> tuple[bool, bool]:
    """Read off what encoding actually does rather than config flags, which many tokenizers
    leave unset or contradict in their post-processor."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    add_bos = bos is not None and len(full) > len(plain) and full[0] == bos
    add_eos = eos is not None and len(full) > len(plain) and full[-1] == eos
    return add_bos, add_eos


def _chat_template(tokenizer: Any) -> str | list[dict[str, str]] | None:
    template = tokenizer.chat_template
    if isinstance(template, dict):  # several named templates: GGUF keeps them all
        return [{"name": name, "template": text} for name, text in template.items()]
    return template or None
