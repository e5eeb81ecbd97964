"""One A/B conversation as the user sees it: the prompts asked and each side's answers.

Each side keeps its own history of its own answers, so a multi-turn chat compares two models
that each heard themselves, not one model continuing the other's words. `messages_for(prompt)`
gives the `messages` of a generate request; `record(...)` adds a finished turn. Pure Python.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from tui_ft.core.chat.checks import answer_flags
from tui_ft.core.chat.protocol import SIDES
from tui_ft.core.chat.wire import ChatMessage, DoneEvent


@dataclass(frozen=True)
class Answer:
    text: str
    finish: str  # eos | length | cancelled
    new_tokens: int = 0
    seconds: float = 0.0
    tokens_per_s: float | None = None
    flags: tuple[str, ...] = ()

    @classmethod
    def from_done(cls, event: DoneEvent) -> Answer:
        """From a worker's `done` event."""
        text = event.get("text") or ""
        finish = event.get("finish") or "eos"
        flags = event.get("flags")
        return cls(
            text=text,
            finish=finish,
            new_tokens=int(event.get("new_tokens") or 0),
            seconds=float(event.get("seconds") or 0.0),
            tokens_per_s=event.get("tokens_per_s"),
            flags=tuple(flags) if isinstance(flags, list) else tuple(answer_flags(text, finish)),
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["flags"] = list(self.flags)
        return out


@dataclass(frozen=True)
class Turn:
    prompt: str
    answers: dict[str, Answer]
    settings: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


class Conversation:
    def __init__(self, sides: tuple[str, ...] = SIDES) -> None:
        self.sides = tuple(s for s in SIDES if s in sides)
        self.turns: list[Turn] = []
        self._history: dict[str, list[ChatMessage]] = {side: [] for side in self.sides}

    def messages_for(self, prompt: str) -> dict[str, list[ChatMessage]]:
        """Each side's own history followed by the new user turn."""
        turn: ChatMessage = {"role": "user", "content": prompt}
        return {side: [*self._history[side], turn] for side in self.sides}

    def record(
        self, prompt: str, answers: dict[str, Answer], settings: dict[str, Any] | None = None
    ) -> Turn:
        """Add a finished turn. A cancelled turn stays in the transcript but out of the history
        both sides hear next: half a sentence would colour the next answer, and both sides
        must keep hearing the same questions."""
        turn = Turn(prompt, dict(answers), dict(settings or {}))
        self.turns.append(turn)
        if any(a.finish == "cancelled" for a in answers.values()):
            return turn
        for side in self.sides:
            answer = answers.get(side)
            if answer is None:
                continue
            self._history[side] += [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": answer.text.strip()},
            ]
        return turn

    def history(self, side: str) -> list[ChatMessage]:
        return list(self._history[side])

    def clear(self) -> None:
        self.turns.clear()
        for side in self.sides:
            self._history[side] = []
