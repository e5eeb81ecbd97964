"""The built-in rewards, each a factory taking its run.yaml argument and returning a function of
TRL's signature: `(prompts, completions, **row_fields) -> list[float]`, one score per completion.

A completion is text, or (conversational data) a list of messages whose last assistant turn is
the answer. The row's other fields arrive as keyword arguments, one value per completion."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

RewardFunction = Callable[..., list[float]]

ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class RewardError(ValueError):
    """A reward cannot score these completions (the row lacks the field it reads); the message
    is a sentence."""


def completion_text(completion: Any) -> str:
    """The text a completion says: itself, or the last assistant turn of a message list."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence):
        said = [m.get("content") or "" for m in completion if isinstance(m, dict)]
        answers = [
            m.get("content") or ""
            for m in completion
            if isinstance(m, dict) and m.get("role") == "assistant"
        ]
        return (answers or said or [""])[-1]
    return str(completion)


def prompt_text(prompt: Any) -> str:
    """What a prompt asks: itself, or the last user turn of a message list (an earlier
    assistant turn is a worked example, not the question)."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence):
        turns = [m for m in prompt if isinstance(m, dict)]
        users = [m for m in turns if m.get("role") == "user"] or turns
        return str(users[-1].get("content") or "") if users else ""
    return str(prompt)


def regex(pattern: str) -> RewardFunction:
    """1.0 where the completion matches `pattern` (anywhere, `.` matching newlines too)."""
    compiled = re.compile(pattern, re.DOTALL)

    def reward(prompts: Any, completions: Sequence[Any], **_: Any) -> list[float]:
        return [1.0 if compiled.search(completion_text(c)) else 0.0 for c in completions]

    return reward


def answer_of(text: str) -> str:
    """The text inside the last <answer>…</answer>, or the whole text when there is none."""
    found = ANSWER.findall(text)
    return found[-1] if found else text


def normalized(text: str) -> str | float:
    """What an answer means for comparing: a number as a number (commas and a trailing period
    dropped), else its words, lower-cased, single-spaced."""
    words = " ".join(text.split()).casefold()
    bare = words.replace(",", "").rstrip(".").strip()
    if _NUMBER.match(bare):
        return float(bare)
    return words


def same_answer(said: str, expected: Any) -> bool:
    ours, theirs = normalized(answer_of(said)), normalized(str(expected))
    if isinstance(ours, float) and isinstance(theirs, float):
        return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-9)
    return ours == theirs


def exact_match(field: str) -> RewardFunction:
    """1.0 where the completion's answer equals the row's `field`."""

    def reward(prompts: Any, completions: Sequence[Any], **row: Any) -> list[float]:
        if field not in row:
            fields = ", ".join(f"`{k}`" for k in sorted(row) if not k.startswith("_")) or "none"
            raise RewardError(
                f"exact_match reads the field `{field}`, which the rows do not have "
                f"(they have {fields})."
            )
        expected = row[field]
        return [
            1.0 if same_answer(completion_text(c), e) else 0.0
            for c, e in zip(completions, expected, strict=True)
        ]

    return reward


def length(target: float, tolerance: float) -> RewardFunction:
    """1.0 within `tolerance` of `target` tokens, falling linearly to 0 at twice the tolerance
    (at `target` itself when the tolerance is 0). Counted in the completion's tokens when TRL
    passes them (it does), else in words."""

    def score(size: int) -> float:
        off = abs(size - target)
        if off <= tolerance:
            return 1.0
        fall = max(tolerance, 1.0)
        return max(0.0, 1.0 - (off - tolerance) / fall)

    def reward(
        prompts: Any, completions: Sequence[Any], completion_ids: Any = None, **_: Any
    ) -> list[float]:
        if completion_ids is not None:
            return [score(len(ids)) for ids in completion_ids]
        return [score(len(completion_text(c).split())) for c in completions]

    return reward


def json_valid(_: Any = True) -> RewardFunction:
    """1.0 where the completion's answer (inside <answer>…</answer>, or all of it) is JSON."""

    def reward(prompts: Any, completions: Sequence[Any], **_: Any) -> list[float]:
        return [_parses(answer_of(completion_text(c)).strip()) for c in completions]

    return reward


def _parses(text: str) -> float:
    try:
        json.loads(text)
    except ValueError:
        return 0.0
    return 1.0
