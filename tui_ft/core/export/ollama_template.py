"""A model's chat template as an Ollama TEMPLATE (a Go text/template), and the Modelfile around it.

Jinja and Go templates do not map onto each other statement by statement, so the Jinja template
is not translated: it is rendered on a few conversations whose contents are markers, and the text
around each marker gives what opens and closes each role's turn, what opens the assistant's
answer, and any system prompt the template writes when none is given. A Go template is rebuilt
from those pieces and rendered on the same conversations (by `ollama_render`, which follows the
Go template's logic); equal to the Jinja renderings on every one means the template is exact.
Anything else is kept as a best effort, flagged with a sentence saying so.

Pure Python: the renderer is passed in (the engine renders with the tokenizer).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

Message = dict[str, str]
# (messages, add_generation_prompt) -> text; raises ValueError when the template refuses them.
Render = Callable[[list[Message], bool], str]

_SYSTEM, _USER1, _ANSWER1, _USER2 = (
    "Zq7SystemMark",
    "Zq7UserMark",
    "Zq7AnswerMark",
    "Zq7UserMarkTwo",
)
ROLES = ("system", "user", "assistant")


class _Mismatch(ValueError):
    """The renderings do not fit the turn-by-turn shape this module rebuilds."""


@dataclass(frozen=True)
class ChatFormat:
    lead: str  # text before everything, usually the BOS token written by the template itself
    default_system: str  # the system turn the template writes when the conversation has none
    prefix: dict[str, str]  # role -> text before its content
    suffix: dict[str, str]  # role -> text after its content
    generation: str  # what opens the assistant's answer
    style: str  # "chatml" | "llama3" | "other"
    exact: bool
    note: str | None = None  # why the template is a best effort


def chat_format(render: Render, bos_text: str | None = None) -> ChatFormat:
    """The turn pieces of the chat template behind `render`, checked against its renderings."""
    try:
        fmt = _pieces(render, bos_text)
    except _Mismatch as err:
        return _fallback(f"its turns could not be told apart ({err})")
    except ValueError as err:
        return _fallback(f"it refused a plain user/assistant conversation ({err})")
    if not fmt.exact:
        return fmt
    for conversation in _CHECKS:
        try:
            expected = render(conversation, True)
        except ValueError as err:
            return _best_effort(fmt, f"it refused a conversation with a system prompt ({err})")
        if ollama_render(fmt, conversation) != expected:
            return _best_effort(fmt, _difference(conversation))
    return fmt


_CHECKS: list[list[Message]] = [
    [{"role": "user", "content": _USER1}],
    [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": _USER1}],
    [
        {"role": "user", "content": _USER1},
        {"role": "assistant", "content": _ANSWER1},
        {"role": "user", "content": _USER2},
    ],
    [
        {"role": "system", "content": _SYSTEM},
        {"role": "user", "content": _USER1},
        {"role": "assistant", "content": _ANSWER1},
        {"role": "user", "content": _USER2},
    ],
]


def ollama_render(fmt: ChatFormat, messages: Sequence[Message], lead: bool = True) -> str:
    """What the TEMPLATE of `go_template(fmt)` renders for `messages` in Ollama (which passes
    the system messages both in .Messages and, joined, as .System)."""
    text = fmt.lead if lead else ""
    if not any(m["role"] == "system" for m in messages):
        text += fmt.default_system
    for message in messages:
        role = message["role"]
        if role in fmt.prefix:
            text += fmt.prefix[role] + message["content"] + fmt.suffix[role]
    return text + fmt.generation


def go_template(fmt: ChatFormat, lead: bool = True) -> str:
    """The Ollama TEMPLATE. `lead=False` leaves out the leading BOS text, for tokenizers that add
    BOS themselves (llama.cpp then adds it too; writing it again would double it)."""
    parts = [_literal(fmt.lead)] if lead and fmt.lead else []
    if fmt.default_system:
        parts.append("{{ if not .System }}" + _literal(fmt.default_system) + "{{ end }}")
    branches = [
        f'if eq .Role "{role}" }}}}'
        + _literal(fmt.prefix[role])
        + "{{ .Content }}"
        + _literal(fmt.suffix[role])
        for role in ROLES
        if role in fmt.prefix
    ]
    parts.append("{{ range .Messages }}{{ " + "{{ else ".join(branches) + "{{ end }}{{ end }}")
    parts.append(_literal(fmt.generation))
    return "".join(parts)


def turn_opener(fmt: ChatFormat, special_tokens: Sequence[str]) -> str | None:
    """The special token that opens a user turn (<|im_start|>, <|start_header_id|>): a model
    that forgets to close its answer and starts a new turn must be stopped there."""
    opening = fmt.prefix.get("user", "").lstrip()
    starts = [token for token in special_tokens if token and opening.startswith(token)]
    return max(starts, key=len) if starts else None


def modelfile(
    *,
    gguf_file: str,
    template: str,
    stops: Sequence[str],
    system: str | None,
    header: Sequence[str] = (),
) -> str:
    for what, text in (("chat template", template), ("system prompt", system or "")):
        if '"""' in text:
            raise ValueError(f'the {what} contains """, which a Modelfile cannot quote')
    lines = [f"# {line}" for line in header]
    lines += [f"FROM ./{gguf_file}", f'TEMPLATE """{template}"""']
    if system:
        lines.append(f'SYSTEM """{system}"""')
    lines += [f"PARAMETER stop {json.dumps(stop, ensure_ascii=False)}" for stop in stops]
    return "\n".join(lines) + "\n"


def ollama_model_name(run_name: str) -> str:
    """Ollama model names: lowercase letters, digits, '.', '_' and '-'."""
    name = re.sub(r"[^a-z0-9._-]+", "-", run_name.lower()).strip("-._")
    return name or "tui-ft-model"


def create_command(name: str, modelfile_path: Path) -> str:
    return f"ollama create {name} -f {shlex.quote(str(modelfile_path))}"


# --- deriving the pieces -------------------------------------------------------------------------


def _pieces(render: Render, bos_text: str | None) -> ChatFormat:
    user = [{"role": "user", "content": _USER1}]
    answered = [*user, {"role": "assistant", "content": _ANSWER1}]
    again = [*answered, {"role": "user", "content": _USER2}]
    one, one_open = render(user, False), render(user, True)
    two, three = render(answered, False), render(again, False)

    generation = _after_prefix(one_open, one, "the generation prompt")
    before_user, user_suffix = _around(one, _USER1)
    between = _between(two, _USER1, _ANSWER1)
    assistant_prefix = _after_prefix(between, user_suffix, "the assistant's opening")
    assistant_suffix = _around(two, _ANSWER1)[1]
    user_prefix = _after_prefix(
        _between(three, _ANSWER1, _USER2), assistant_suffix, "the user's opening"
    )
    if _around(three, _USER2)[1] != user_suffix:
        raise _Mismatch("the second user turn closes differently from the first")
    head = _before_suffix(before_user, user_prefix, "the text before the first user turn")
    # A BOS that also opens every turn (SmolLM2's <|im_start|>) belongs to the turns.
    opens_turns = bool(bos_text) and user_prefix.startswith(bos_text or "")
    lead = bos_text if bos_text and head.startswith(bos_text) and not opens_turns else ""
    prefix = {"user": user_prefix, "assistant": assistant_prefix}
    suffix = {"user": user_suffix, "assistant": assistant_suffix}
    system = _system_pieces(render, lead, user_prefix)
    if system is not None:
        prefix["system"], suffix["system"] = system
    style = (
        "chatml"
        if "<|im_start|>" in user_prefix
        else "llama3"
        if "<|start_header_id|>" in user_prefix
        else "other"
    )
    fmt = ChatFormat(lead, head[len(lead) :], prefix, suffix, generation, style, exact=True)
    if system is None:
        return _best_effort(fmt, "it does not write a system prompt as a turn of its own")
    return fmt


def _system_pieces(render: Render, lead: str, user_prefix: str) -> tuple[str, str] | None:
    try:
        text = render(
            [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": _USER1}], False
        )
        head = _around(text, _SYSTEM)[0]
        closing = _before_suffix(_between(text, _SYSTEM, _USER1), user_prefix, "")
    except ValueError:  # _Mismatch included: no separate system turn
        return None
    if not head.startswith(lead):
        return None
    return head[len(lead) :], closing


def _around(text: str, mark: str) -> tuple[str, str]:
    if text.count(mark) != 1:
        raise _Mismatch(f"a message's text appears {text.count(mark)} times in the rendering")
    before, _, after = text.partition(mark)
    return before, after


def _between(text: str, first: str, second: str) -> str:
    after_first = _around(text, first)[1]
    return _around(after_first, second)[0]


def _after_prefix(text: str, prefix: str, what: str) -> str:
    if not text.startswith(prefix):
        raise _Mismatch(f"{what} does not follow the earlier turns")
    return text[len(prefix) :]


def _before_suffix(text: str, suffix: str, what: str) -> str:
    if not text.endswith(suffix):
        raise _Mismatch(f"{what} does not end where the next turn starts")
    return text[: len(text) - len(suffix)]


def _difference(conversation: list[Message]) -> str:
    roles = ", ".join(m["role"] for m in conversation)
    return f"rebuilt turn by turn, it renders the conversation ({roles}) differently"


def _best_effort(fmt: ChatFormat, reason: str) -> ChatFormat:
    # Without a turn of its own, a system prompt becomes a user turn: the model sees it, if not
    # where it was trained to.
    prefix = {"system": fmt.prefix["user"], **fmt.prefix}
    suffix = {"system": fmt.suffix["user"], **fmt.suffix}
    return ChatFormat(
        fmt.lead,
        fmt.default_system,
        prefix,
        suffix,
        fmt.generation,
        fmt.style,
        exact=False,
        note=_note(reason),
    )


def _fallback(reason: str) -> ChatFormat:
    """Nothing could be derived: plain role headers, which at least keep turns apart."""
    prefix = {role: f"{role}: " for role in ROLES}
    suffix = dict.fromkeys(ROLES, "\n")
    return ChatFormat(
        "", "", prefix, suffix, "assistant: ", "other", exact=False, note=_note(reason)
    )


def _note(reason: str) -> str:
    return (
        f"the chat template could not be rebuilt exactly as an Ollama template: {reason}. The "
        "Modelfile's TEMPLATE is a best effort; try a conversation in Ollama before relying on it."
    )


def _literal(text: str) -> str:
    """Template text as is, unless it holds a quote (which could end the Modelfile's triple
    quotes) or opens a Go action; then as a quoted Go string (JSON's escapes are valid in Go)."""
    if "{{" in text or '"' in text:
        return "{{ " + json.dumps(text) + " }}"
    return text
