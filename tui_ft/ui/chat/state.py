"""The chat screen's words and bookkeeping, apart from its widgets: the turn in flight, the
status line, and the sentences for errors and for a prompt sent too early. No widgets here."""

from __future__ import annotations

from dataclasses import dataclass, field

from tui_ft.core.chat.conversation import Answer
from tui_ft.core.chat.protocol import SamplingSettings
from tui_ft.core.chat.wire import ErrorEvent, LoadedEvent
from tui_ft.ui.chat.prepare import Choice, Decision, request_placement


@dataclass
class PendingTurn:
    """A prompt sent, its sides' answers arriving."""

    request_id: str
    prompt: str
    sides: tuple[str, ...]
    answers: dict[str, Answer] = field(default_factory=dict)
    seed: int | None = None

    @property
    def complete(self) -> bool:
        return set(self.sides) <= set(self.answers)


def status_line(settings: SamplingSettings, loaded: LoadedEvent | None) -> str:
    """Where the models are and what the sampling is, in one line."""
    s = settings
    sampling = "greedy" if s.greedy else f"temp {s.temperature:g} · top-p {s.top_p:g}"
    parts = [sampling, f"max {s.max_new_tokens} tokens"]
    if s.repetition_penalty != 1.0:
        parts.append(f"rep. penalty {s.repetition_penalty:g}")
    if s.system_prompt:
        parts.append("own system prompt")
    if loaded is not None:
        where = f"{loaded.get('method') or 'model'} on {loaded.get('device')}"
        if loaded.get("placement") not in (None, "shared", "together", "base-only"):
            where += f" ({loaded['placement']})"
        parts.insert(0, where)
    return " · ".join(parts)


def error_text(message: str, hint: str) -> str:
    message = message[:1].upper() + message[1:]
    return f"{message} {hint}".strip()


def not_ready_text(phase: str) -> str:
    return {
        "answering": "Both sides are still answering: wait, or press Esc to stop them. "
        "Your prompt stays in the box.",
        "failed": "The chat is not running: Ctrl+R restarts it. Your prompt stays in the box.",
    }.get(phase, "The models are not loaded yet. Your prompt stays in the box.")


def decision_from(event: ErrorEvent, text: str) -> Decision:
    """The chat process's own no-room answer (memory changed since the plan) as a question."""
    options = tuple(
        Choice(
            str(o.get("device")), request_placement(str(o.get("placement"))), str(o.get("label"))
        )
        for o in event.get("options") or ()
        if isinstance(o, dict)
    )
    return Decision(None, question=text, hint="", options=options, can_wait=True)
