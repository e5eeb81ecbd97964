"""Dataset formats: telling them apart by their rows' fields, and turning rows into examples.

Every conversation format becomes a tuple of `Message`s (system/user/assistant); the `text`
format (continued pre-training) keeps one string. Preference formats keep the prompt's turns in
`messages` and the answers apart: `chosen` and `rejected` (pairs), or one `chosen` answer with
its `label` (KTO's unpaired rows: true for a desirable answer). A row that does not fit raises `RowError`
with a fragment that reads after its place, as in "data.jsonl line 7: missing `output`".
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from tui_ft.core.datasets.files import parse_json

FORMATS = (
    "alpaca",
    "sharegpt",
    "messages",
    "prompt_completion",
    "text",
    "preference",
    "unpaired_preference",
    "prompt_only",
)
# The fields a `columns` mapping may name: every field some format reads.
FIELDS = (
    "messages",
    "conversations",
    "instruction",
    "input",
    "output",
    "system",
    "history",
    "prompt",
    "completion",
    "text",
    "chosen",
    "rejected",
    "label",
)
# OpenAI's roles, plus ShareGPT's names for them.
ROLES = {
    "system": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "model": "assistant",
}


@dataclass(frozen=True)
class Message:
    role: str  # system | user | assistant
    content: str


@dataclass(frozen=True)
class Example:
    """One training example: `messages` for conversation formats, `text` for the text format;
    for preference formats `messages` is the prompt (ending with a user turn) and the answers
    are `chosen`/`rejected`, or `chosen` with `label` for unpaired rows."""

    row: int  # 1-based line (JSON lines, text) or row (JSON array, CSV, Parquet) in its file
    where: str  # e.g. "data.jsonl line 7"
    messages: tuple[Message, ...] = ()
    text: str | None = None
    chosen: tuple[Message, ...] = ()
    rejected: tuple[Message, ...] = ()
    label: bool | None = None
    # prompt_only rows (GRPO): the row's other fields, which reward functions read (`answer`).
    fields: Mapping[str, object] = dataclasses.field(default_factory=dict)


class RowError(ValueError):
    """A row that does not fit its format; the message follows the row's place and a colon."""


@dataclass(frozen=True)
class _Signature:
    format: str
    fields: tuple[str, ...]
    has: str  # what the rows have, for the reason sentence
    name: str  # what that makes them


# In order of preference when rows fit several (a `messages` row often carries `text` too).
_SIGNATURES = (
    _Signature("preference", ("chosen", "rejected"), "`chosen` and `rejected`", "preference pairs"),
    _Signature(
        "unpaired_preference",
        ("prompt", "completion", "label"),
        "`prompt`, `completion` and `label`",
        "unpaired preferences (KTO)",
    ),
    _Signature("messages", ("messages",), "a `messages` list", "OpenAI messages (role/content)"),
    _Signature("sharegpt", ("conversations",), "a `conversations` list", "ShareGPT (from/value)"),
    _Signature("alpaca", ("instruction", "output"), "`instruction` and `output`", "Alpaca"),
    _Signature(
        "prompt_completion",
        ("prompt", "completion"),
        "`prompt` and `completion`",
        "prompt/completion",
    ),
    _Signature("text", ("text",), "`text`", "plain text (continued pre-training)"),
)
# Only when no row fits another format: a prompt/completion file with a row missing its
# completion is that file with a bad row, not prompts.
_PROMPTS = _Signature("prompt_only", ("prompt",), "`prompt` without an answer", "prompts (GRPO)")


def detect_format(rows: Sequence[object], prefer: Collection[str] = ()) -> tuple[str, str] | None:
    """The format most rows fit and a sentence saying why; None when no row fits any.

    Formats reading a field in `prefer` (the fields a columns mapping named) win over the
    rest: mapping `question` to `prompt` means prompt/completion even if rows hold `text`.
    """
    # Rows of one file share a few shapes: count the shapes, then test each signature on them.
    shapes = Counter(_shape(row) for row in rows)
    counts = {
        sig: sum(n for keys, n in shapes.items() if keys >= {*sig.fields}) for sig in _SIGNATURES
    }

    def rank(sig: _Signature) -> tuple[bool, bool, int]:
        return counts[sig] > 0, not set(prefer).isdisjoint(sig.fields), counts[sig]

    best = max(_SIGNATURES, key=rank)
    if counts[best] == 0:
        prompts = sum(n for keys, n in shapes.items() if "prompt" in keys)
        if not prompts:
            return None
        best, counts[_PROMPTS] = _PROMPTS, prompts
    share = (
        "every row has" if counts[best] == len(rows) else f"{counts[best]} of {len(rows)} rows have"
    )
    return best.format, f"{share} {best.has} → {best.name}"


def _shape(row: object) -> frozenset[str]:
    """The fields a row fills (null counts as absent: Parquet fills missing columns with it)."""
    if not isinstance(row, dict):
        return frozenset()
    return frozenset(key for key, value in row.items() if value is not None)


def to_example(value: object, fmt: str, row: int, where: str) -> Example:
    """The example in `value` read as `fmt`; RowError when it does not fit."""
    if not isinstance(value, dict):  # dict, not Mapping: the abc check is slow on every row
        raise RowError(f"expected an object with fields, got {_kind(value)}")
    if fmt == "text":
        return Example(row, where, text=_text(value))
    if fmt == "preference":
        return _pair(value, row, where)
    if fmt == "unpaired_preference":
        prompt = _preference_prompt(value)
        label = _label(value)
        return Example(
            row, where, messages=prompt, chosen=_answer(value, "completion"), label=label
        )
    if fmt == "prompt_only":
        return _prompt_only(value, row, where)
    messages = _CONVERTERS[fmt](value)
    _check_conversation(messages)
    return Example(row, where, messages=messages)


def _prompt_only(row: Mapping[str, object], number: int, where: str) -> Example:
    """A prompt to sample completions for, with its other fields kept for the rewards."""
    _require(row, "prompt")
    prompt = (*_system(row), *_side(row, "prompt", "user"))
    if prompt[-1].role != "user" or not prompt[-1].content.strip():
        raise RowError("the prompt should end with a user turn that is not empty")
    extra = {k: v for k, v in row.items() if k not in ("prompt", "system")}
    return Example(number, where, messages=prompt, fields=extra)


def _kind(value: object) -> str:
    """A value's type in JSON's words, which is what people wrote."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list | tuple) else f"an object ({type(value).__name__})"


def _require(row: Mapping[str, object], *fields: str) -> None:
    missing = [f"`{f}`" for f in fields if row.get(f) is None]
    if missing:
        raise RowError(f"missing {' and '.join(missing)}")


def _string(row: Mapping[str, object], field: str) -> str:
    _require(row, field)
    return _as_text(row[field], f"`{field}`")


def _optional_string(row: Mapping[str, object], field: str) -> str:
    return "" if row.get(field) is None else _string(row, field)


def _as_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise RowError(f"{what} should be text, got {_kind(value)}")
    return value


def _as_list(row: Mapping[str, object], field: str) -> list[object]:
    value = row[field]
    if isinstance(value, str) and value.lstrip().startswith("["):
        value = _json_in_cell(value, field)  # CSV and some Parquet files hold lists as JSON text
    if not isinstance(value, list | tuple):
        raise RowError(f"`{field}` should be a list, got {_kind(value)}")
    return list(value)


def _json_in_cell(value: str, field: str) -> object:
    try:
        return parse_json(value)
    except json.JSONDecodeError as err:
        raise RowError(f"`{field}` is not valid JSON: {err.msg} at column {err.colno}") from None


def _system(row: Mapping[str, object]) -> tuple[Message, ...]:
    system = _optional_string(row, "system")
    return (Message("system", system),) if system.strip() else ()


def _text(row: Mapping[str, object]) -> str:
    text = _string(row, "text")
    if not text.strip():
        raise RowError("`text` is empty")
    return text


def _alpaca(row: Mapping[str, object]) -> tuple[Message, ...]:
    _require(row, "instruction", "output")
    parts = (_string(row, "instruction"), _optional_string(row, "input"))
    prompt = "\n\n".join(part for part in parts if part.strip())
    answer = _string(row, "output")
    return (*_system(row), *_history(row), Message("user", prompt), Message("assistant", answer))


def _history(row: Mapping[str, object]) -> tuple[Message, ...]:
    """Alpaca's `history`: earlier [user, assistant] exchanges, oldest first."""
    if row.get("history") is None:
        return ()
    turns: list[Message] = []
    for number, pair in enumerate(_as_list(row, "history"), start=1):
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            raise RowError(f"`history` item {number} should be a [user, assistant] pair")
        what = f"`history` item {number}"
        turns += (
            Message("user", _as_text(pair[0], what)),
            Message("assistant", _as_text(pair[1], what)),
        )
    return tuple(turns)


def _turns(row: Mapping[str, object], field: str) -> tuple[Message, ...]:
    _require(row, field)
    items = _as_list(row, field)
    if not items:
        raise RowError(f"`{field}` is empty")
    return tuple(_turn(item, number, field) for number, item in enumerate(items, start=1))


def _turn(item: object, number: int, field: str) -> Message:
    """One message: OpenAI's {role, content} or ShareGPT's {from, value}, in either format."""
    if not isinstance(item, dict):
        raise RowError(
            f"{_nth(number, field)} should be an object with role and content, got {_kind(item)}"
        )
    role_key, content_key = ("role", "content") if "role" in item else ("from", "value")
    if role_key not in item or content_key not in item:
        raise RowError(
            f"{_nth(number, field)} needs `role` and `content` (or ShareGPT's `from` and `value`)"
        )
    role = item[role_key]
    if not isinstance(role, str) or role.lower() not in ROLES:
        valid = ", ".join(ROLES)
        raise RowError(f"{_nth(number, field)} has the unknown role {role!r}; valid roles: {valid}")
    content = item[content_key]
    if content is None or isinstance(content, str):  # null: e.g. an assistant's tool call
        return Message(ROLES[role.lower()], content or "")
    raise RowError(f"{_nth(number, field)} should be text, got {_kind(content)}")


def _nth(number: int, field: str) -> str:
    """Built only for an error: formatting it for every good turn costs a third of the load."""
    return f"turn {number} of `{field}`"


def _prompt_completion(row: Mapping[str, object]) -> tuple[Message, ...]:
    _require(row, "prompt", "completion")
    return (*_system(row), *_side(row, "prompt", "user"), *_side(row, "completion", "assistant"))


def _side(row: Mapping[str, object], field: str, role: str) -> tuple[Message, ...]:
    """A prompt or completion: text, or (TRL's conversational variant) a list of messages."""
    if isinstance(_messages_in_cell(row[field]), list):
        return _turns(row, field)
    return (Message(role, _string(row, field)),)


def _pair(row: Mapping[str, object], number: int, where: str) -> Example:
    """A preference pair. Without a prompt field, answers given as whole conversations carry
    the prompt themselves (TRL's implicit prompt): the turns both begin with."""
    if not any(row.get(field) is not None for field in _PROMPT_FIELDS):
        row = _implicit_prompt(row)
    prompt = _preference_prompt(row)
    chosen, rejected = _answer(row, "chosen"), _answer(row, "rejected")
    _check_different(chosen, rejected)
    return Example(number, where, messages=prompt, chosen=chosen, rejected=rejected)


def _check_different(chosen: tuple[Message, ...], rejected: tuple[Message, ...]) -> None:
    def said(answer: tuple[Message, ...]) -> list[tuple[str, str]]:
        return [(m.role, m.content.strip()) for m in answer]

    if said(chosen) == said(rejected):
        raise RowError("`chosen` and `rejected` are the same answer, so there is nothing to prefer")


_PROMPT_FIELDS = ("prompt", "instruction", "conversations")


def _implicit_prompt(row: Mapping[str, object]) -> Mapping[str, object]:
    """`row` with the answers' shared leading turns (up to the last user turn) as its `prompt`
    and the rest as its answers; unchanged when the answers are not such conversations."""
    _require(row, "chosen", "rejected")
    if not all(isinstance(_messages_in_cell(row[f]), list) for f in ("chosen", "rejected")):
        return row
    chosen, rejected = _turns(row, "chosen"), _turns(row, "rejected")
    _check_different(chosen, rejected)
    shared = 0
    while shared < min(len(chosen), len(rejected)) and chosen[shared] == rejected[shared]:
        shared += 1
    users = [n for n in range(shared) if chosen[n].role == "user"]
    if not users:
        return row
    cut = users[-1] + 1
    as_dicts = [{"role": m.role, "content": m.content} for m in chosen[:cut]]
    return {
        **row,
        "prompt": as_dicts,
        "chosen": [{"role": m.role, "content": m.content} for m in chosen[cut:]],
        "rejected": [{"role": m.role, "content": m.content} for m in rejected[cut:]],
    }


def _preference_prompt(row: Mapping[str, object]) -> tuple[Message, ...]:
    """The turns before the answers: TRL's `prompt` (text or messages), LLaMA-Factory's
    alpaca-style `instruction`/`input` or its sharegpt `conversations`."""
    if row.get("prompt") is not None:
        turns = (*_system(row), *_side(row, "prompt", "user"))
    elif row.get("instruction") is not None:
        parts = (_string(row, "instruction"), _optional_string(row, "input"))
        prompt = "\n\n".join(part for part in parts if part.strip())
        turns = (*_system(row), *_history(row), Message("user", prompt))
    elif row.get("conversations") is not None:
        turns = (*_system(row), *_turns(row, "conversations"))
    else:
        raise RowError(
            "missing the prompt (`prompt`, `instruction` or `conversations`, or answers as "
            "message lists that begin with the same user turn)"
        )
    if not turns or turns[-1].role != "user" or not turns[-1].content.strip():
        raise RowError("the prompt should end with a user turn that is not empty")
    return turns


def _answer(row: Mapping[str, object], field: str) -> tuple[Message, ...]:
    """One answer: text, a list of messages (TRL's conversational variant) or one ShareGPT
    message; it must end with an assistant turn that says something."""
    _require(row, field)
    value = _messages_in_cell(row[field])
    if isinstance(value, dict):
        answer: tuple[Message, ...] = (_turn(value, 1, field),)
    else:
        answer = _side(row, field, "assistant")
    if answer[-1].role != "assistant":
        raise RowError(f"`{field}` should end with an assistant turn, not {answer[-1].role}")
    if not answer[-1].content.strip():
        raise RowError(f"`{field}` is empty")
    return answer


def _messages_in_cell(value: object) -> object:
    """A message or a list of messages written as JSON text (CSV cells hold them so); other
    text stays text, even when it happens to be JSON (a prompt or an answer may be)."""
    if not (isinstance(value, str) and value.lstrip()[:1] in ("[", "{")):
        return value
    try:
        parsed = parse_json(value)
    except json.JSONDecodeError:
        return value
    items = parsed if isinstance(parsed, list) else [parsed]
    return parsed if items and all(map(_is_message, items)) else value


def _is_message(item: object) -> bool:
    keys = ({"role", "content"}, {"from", "value"})
    return isinstance(item, dict) and any(pair <= item.keys() for pair in keys)


def _label(row: Mapping[str, object]) -> bool:
    _require(row, "label")
    value = row["label"]
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"  # CSV cells
    if not isinstance(value, bool):
        raise RowError(f"`label` should be true or false, got {_kind(value)}")
    return value


def dataset_problem(fmt: str, examples: Sequence[Example]) -> str | None:
    """What spoils the whole dataset though every row is good, as a sentence; None if nothing.
    KTO learns from the contrast of desirable and undesirable answers: it needs both labels."""
    if fmt != "unpaired_preference" or not examples:
        return None
    labels = {example.label for example in examples}
    if len(labels) > 1:
        return None
    value = "true" if labels.pop() else "false"
    return (
        f"every row's `label` is {value}: unpaired preference (KTO) data needs both desirable "
        "(true) and undesirable (false) answers"
    )


def _check_conversation(messages: tuple[Message, ...]) -> None:
    answers = [n for n, message in enumerate(messages, start=1) if message.role == "assistant"]
    if not answers:
        roles = ", ".join(m.role for m in messages)
        raise RowError(f"has no assistant turn (its roles: {roles}), so nothing to learn from")
    for number in answers:
        if not messages[number - 1].content.strip():
            raise RowError(f"the assistant turn (turn {number} of {len(messages)}) is empty")


_CONVERTERS: dict[str, Callable[[Mapping[str, object]], tuple[Message, ...]]] = {
    "alpaca": _alpaca,
    "sharegpt": lambda row: _turns(row, "conversations"),
    "messages": lambda row: _turns(row, "messages"),
    "prompt_completion": _prompt_completion,
}
