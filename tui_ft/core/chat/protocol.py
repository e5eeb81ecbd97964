"""The chat process's language: JSON lines on stdin (requests) and stdout (events).

Shared by the worker (tui_ft.engine.chat.worker) and its clients (tui_ft.core.chat.client),
so both sides parse and spell every field the same way. Pure Python.

Requests, one JSON object per line, each with `op` and (except `shutdown`) an `id`: load,
generate, cancel, unload, shutdown. Events, one JSON object per line, each with `event`: ready,
loaded, unloaded, started, token (a text delta), done (one per side), error. Every field of
each, and what it means: the types in tui_ft.core.chat.wire.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from tui_ft.core.chat.wire import ChatMessage, ChatOption, ErrorEvent, SamplingDict
from tui_ft.core.errors import UserError

SIDES = ("base", "tuned")
ROLES = ("system", "user", "assistant")
DEVICES_HELP = "auto, cpu or cuda:N"
# full fine-tunes: both models on the device, one at a time on it, or the base on the CPU.
PLACEMENTS = ("auto", "together", "sequential", "base-cpu")
FINISH_REASONS = ("eos", "length", "cancelled")
# `error.kind`: what went wrong, so a UI can pick its next step without parsing sentences.
ERROR_KINDS = (
    "oom",  # out of memory while loading or generating
    "no_room",  # the estimate says it will not fit beside what is already there: not loaded
    "missing",  # no such run, model or trained output
    "load",  # the files are there but would not load
    "not_loaded",  # generate before load
    "bad_request",  # a request the worker cannot read
    "internal",  # a bug: the message names the exception
    "crashed",  # (client side) the process died; restart it
)

MAX_NEW_TOKENS_LIMIT = 32_768
EVAL_MAX_NEW_TOKENS = 128  # a quick eval's answers: long enough to judge, short enough to be quick


class ChatError(UserError):
    """A problem with a kind from ERROR_KINDS; `options` lists what the user can pick instead
    (a device, a placement), which a UI can offer as buttons."""

    def __init__(
        self,
        kind: str,
        message: str,
        hint: str = "",
        options: list[ChatOption] | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.kind = kind
        self.options = options or []

    def event(self, request_id: str | None) -> ErrorEvent:
        return error_event(request_id, self.kind, self.message, self.hint, options=self.options)


@dataclass(frozen=True)
class SamplingSettings:
    """The same on both sides. `greedy` overrides temperature and top_p; `seed` None: the worker
    picks one and reports it in `started`, so an answer can be reproduced."""

    temperature: float = 0.7
    top_p: float = 0.9
    max_new_tokens: int = 256
    repetition_penalty: float = 1.0
    greedy: bool = False
    seed: int | None = None
    system_prompt: str | None = None  # None: the run's own (the one it was trained with)

    def to_dict(self) -> SamplingDict:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
            "repetition_penalty": self.repetition_penalty,
            "greedy": self.greedy,
            "seed": self.seed,
            "system_prompt": self.system_prompt,
        }

    @classmethod
    def from_dict(cls, data: Any) -> SamplingSettings:
        """Validated: a wrong value is a UserError naming the setting."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise UserError("`settings` must be an object.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"unknown sampling setting {unknown[0]!r}.", f"Known: {sorted(known)}.")
        settings = cls(**{key: data[key] for key in data if key in known})
        problems = settings.problems()
        if problems:
            raise UserError(problems[0])
        return settings

    def problems(self) -> list[str]:
        p: list[str] = []
        if not _number(self.temperature) or self.temperature < 0:
            p.append(f"temperature must be a number of at least 0 (it is {self.temperature!r}).")
        if not _number(self.top_p) or not 0 < self.top_p <= 1:
            p.append(f"top_p must be above 0 and at most 1 (it is {self.top_p!r}).")
        if not _whole(self.max_new_tokens) or not 1 <= self.max_new_tokens <= MAX_NEW_TOKENS_LIMIT:
            p.append(
                f"max_new_tokens must be a whole number from 1 to {MAX_NEW_TOKENS_LIMIT} "
                f"(it is {self.max_new_tokens!r})."
            )
        if not _number(self.repetition_penalty) or self.repetition_penalty <= 0:
            p.append(f"repetition_penalty must be above 0 (it is {self.repetition_penalty!r}).")
        if not isinstance(self.greedy, bool):
            p.append(f"greedy must be true or false (it is {self.greedy!r}).")
        if self.seed is not None and (not _whole(self.seed) or self.seed < 0):
            p.append(f"seed must be a whole number of at least 0 (it is {self.seed!r}).")
        if self.system_prompt is not None and not isinstance(self.system_prompt, str):
            p.append("system_prompt must be text.")
        return p

    @property
    def samples(self) -> bool:
        """Whether tokens are drawn at random (else the most likely one is taken)."""
        return not self.greedy and self.temperature > 0


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def encode(message: Mapping[str, object]) -> bytes:
    """One line. ensure_ascii keeps a line a line whatever the model writes (U+2028 and the
    like would be split by some line readers)."""
    return (json.dumps(message, ensure_ascii=True, default=str) + "\n").encode("ascii")


def decode(line: bytes | str) -> dict[str, Any]:
    """A message from one line; UserError (bad_request) when it is not a JSON object."""
    try:
        value = json.loads(line)
    except ValueError as err:
        raise UserError(f"a request is not valid JSON ({err}).") from None
    if not isinstance(value, dict):
        raise UserError("a request must be a JSON object.")
    return value


def parse_sides(value: Any) -> list[str]:
    if value is None:
        return list(SIDES)
    sides = [value] if isinstance(value, str) else value
    if not isinstance(sides, list) or not sides or any(s not in SIDES for s in sides):
        raise UserError(f"`sides` must list one or both of {', '.join(SIDES)} (got {value!r}).")
    return [s for s in SIDES if s in sides]  # base first, each once


def parse_messages(value: Any, sides: list[str]) -> dict[str, list[ChatMessage]]:
    """Each side's conversation, checked: roles known, contents text, ending in a user turn."""
    if not isinstance(value, dict):
        raise UserError("`messages` must map each side to its list of messages.")
    out: dict[str, list[ChatMessage]] = {}
    for side in sides:
        turns = value.get(side)
        if not isinstance(turns, list) or not turns:
            raise UserError(f"`messages.{side}` must be a non-empty list of messages.")
        checked: list[ChatMessage] = []
        for turn in turns:
            if (
                not isinstance(turn, dict)
                or turn.get("role") not in ROLES
                or not isinstance(turn.get("content"), str)
            ):
                raise UserError(
                    f"each message of `messages.{side}` needs a role ({', '.join(ROLES)}) "
                    "and a text content."
                )
            checked.append({"role": turn["role"], "content": turn["content"]})
        if checked[-1]["role"] != "user":
            raise UserError(f"`messages.{side}` must end with the user's turn.")
        out[side] = checked
    return out


def error_event(
    request_id: str | None,
    kind: str,
    message: str,
    hint: str = "",
    *,
    fatal: bool = False,
    options: list[ChatOption] | None = None,
    pending: list[str] | None = None,
    exit_code: int | None = None,
) -> ErrorEvent:
    event: ErrorEvent = {
        "event": "error",
        "id": request_id,
        "kind": kind,
        "message": message,
        "hint": hint,
        "fatal": fatal,
    }
    if options:
        event["options"] = options
    if pending is not None:
        event["pending"] = pending
    if exit_code is not None:
        event["exit_code"] = exit_code
    return event
