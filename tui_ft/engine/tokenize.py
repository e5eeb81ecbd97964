"""Examples → token ids with a loss mask: only what the assistant says is trained.

TRL's `assistant_only_loss` needs `{% generation %}` markers that most chat templates lack
(docs/architecture.md), so the mask is ours: render the conversation turn by turn through the model's own
chat template, take the characters each assistant turn adds, and mark the tokens inside them.
The end-of-turn token closing each assistant turn is always trained, so the tuned model learns
to stop; plain text trains on every token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tui_ft.core.datasets.load import Example, Message

# Stated, never silent: used when a model has no chat template and the data are conversations.
DEFAULT_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
DEFAULT_TEMPLATE_NOTE = (
    "the model has no chat template, so the default ChatML template "
    "(<|im_start|>role ... <|im_end|>) is used; chat with the tuned model through the same one"
)


@dataclass(frozen=True)
class Tokenized:
    input_ids: list[int]
    completion_mask: list[int]  # 1 = the loss is computed on this token
    full_length: int  # before truncation

    @property
    def truncated(self) -> bool:
        return self.full_length > len(self.input_ids)

    @property
    def trained_tokens(self) -> int:
        return sum(self.completion_mask)


@dataclass(frozen=True)
class Segment:
    """A run of characters sharing one role in the rendered example, for display."""

    text: str
    trained: bool
    special: bool


def ensure_chat_template(tokenizer: Any) -> str | None:
    """Give a template-less tokenizer the default one; return the note to show the user."""
    if getattr(tokenizer, "chat_template", None):
        return None
    tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
    return DEFAULT_TEMPLATE_NOTE


def end_of_turn_ids(tokenizer: Any) -> set[int]:
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    for token in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>"):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id:
            ids.add(token_id)
    return ids


def with_system_prompt(messages: Sequence[Message], system_prompt: str | None) -> list[Message]:
    if system_prompt and not (messages and messages[0].role == "system"):
        return [Message("system", system_prompt), *messages]
    return list(messages)


def render(tokenizer: Any, messages: Sequence[Message], generation_prompt: bool = False) -> str:
    chat = [{"role": m.role, "content": m.content} for m in messages]
    return tokenizer.apply_chat_template(
        chat, tokenize=False, add_generation_prompt=generation_prompt
    )


def assistant_spans(
    tokenizer: Any, messages: Sequence[Message]
) -> tuple[str, list[tuple[int, int]]]:
    """The full rendering and the character spans of every assistant turn (with its closing)."""
    full = render(tokenizer, messages)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for i, message in enumerate(messages):
        if message.role != "assistant":
            continue
        before = render(tokenizer, messages[:i], generation_prompt=True)
        after = render(tokenizer, messages[: i + 1])
        if after.startswith(before) and full.startswith(after):
            span: tuple[int, int] | None = (len(before), len(after))
        else:
            # Templates that rewrite earlier turns (e.g. drop old reasoning) break the prefix
            # property; find each answer in order instead.
            span = _find_span(full, message.content, cursor, tokenizer.eos_token)
        if span:  # None: the template leaves this answer out, so there is nothing to train
            spans.append(span)
            cursor = span[1]
    return full, spans


def _find_span(full: str, content: str, cursor: int, eos: str | None) -> tuple[int, int] | None:
    start = full.find(content, cursor)
    if start < 0:
        return None
    end = start + len(content)
    if eos:
        tail = full[end:]
        stripped = tail.lstrip()
        if stripped.startswith(eos):
            end += len(tail) - len(stripped) + len(eos)
    return start, end


def tokenize_example(
    tokenizer: Any, example: Example, max_length: int, system_prompt: str | None = None
) -> Tokenized:
    if example.text is not None:
        ids: list[int] = tokenizer(example.text, add_special_tokens=True)["input_ids"]
        if tokenizer.eos_token_id is not None:
            ids = [*ids, tokenizer.eos_token_id]
        return _truncate(ids, [1] * len(ids), max_length)
    messages = with_system_prompt(example.messages, system_prompt)
    full, spans = assistant_spans(tokenizer, messages)
    encoded = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    mask = [int(any(s <= start < e for s, e in spans)) for start, _ in encoded["offset_mapping"]]
    ids, mask = _close_every_turn(ids, mask, end_of_turn_ids(tokenizer), tokenizer.eos_token_id)
    return _truncate(ids, mask, max_length)


def _close_every_turn(
    ids: list[int], mask: list[int], closers: set[int], eos_id: int | None
) -> tuple[list[int], list[int]]:
    """Make sure every trained run ends on a trained end-of-turn token (append EOS if not)."""
    out_ids: list[int] = []
    out_mask: list[int] = []
    for i, (token, trained) in enumerate(zip(ids, mask, strict=True)):
        out_ids.append(token)
        out_mask.append(trained)
        run_ends = trained and (i + 1 == len(ids) or not mask[i + 1])
        if run_ends and not _closes(ids, mask, i, closers) and eos_id is not None:
            out_ids.append(eos_id)
            out_mask.append(1)
    return out_ids, out_mask


def _closes(ids: list[int], mask: list[int], end: int, closers: set[int]) -> bool:
    """Does the trained run ending at `end` contain an end-of-turn token (maybe before a newline)?"""
    i = end
    while i >= 0 and mask[i]:
        if ids[i] in closers:
            return True
        i -= 1
    return False


def _truncate(ids: list[int], mask: list[int], max_length: int) -> Tokenized:
    return Tokenized(ids[:max_length], mask[:max_length], full_length=len(ids))


def segments(tokenizer: Any, tokenized: Tokenized) -> list[Segment]:
    """Runs of tokens sharing (trained, special), each decoded whole so that characters split
    across tokens come out intact."""
    special_ids = set(tokenizer.all_special_ids)
    runs: list[tuple[bool, bool, list[int]]] = []
    for token, trained in zip(tokenized.input_ids, tokenized.completion_mask, strict=True):
        key = (bool(trained), token in special_ids)
        if runs and runs[-1][:2] == key:
            runs[-1][2].append(token)
        else:
            runs.append((*key, [token]))
    return [
        Segment(tokenizer.decode(ids, skip_special_tokens=False), trained, special)
        for trained, special, ids in runs
    ]
