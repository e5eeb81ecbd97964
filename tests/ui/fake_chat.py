"""A scripted chat client for the chat screen's tests: it records what the screen asks, answers
`load` at once, and streams only what the test tells it to, so every step is deterministic (no
process, no timing)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

Event = dict[str, Any]

LOADED = {
    "event": "loaded",
    "run": "demo-lora-done",
    "model": "demo",
    "method": "lora",
    "kind": "adapter",
    "sides": ["base", "tuned"],
    "device": "cuda:0",
    "placement": "shared",
    "dtype": "bfloat16",
    "system_prompt": "You are a helpful AI assistant named SmolLM.",
    "note": "",
    "seconds": 1.5,
}


class FakeChat:
    def __init__(self, on_event: Callable[[Event], None], load_error: Event | None = None) -> None:
        self.on_event = on_event
        self.load_error = load_error  # the answer to the first load, instead of `loaded`
        self.held_load: str | None = None  # with hold_loads: a load not answered yet
        self.hold_loads = False
        self.log_path: Path | None = None
        self.requests: list[Event] = []
        self.cancelled: list[str] = []
        self.starts = 0
        self.restarts = 0
        self.closed = False
        self.asked: list[str] = []  # the quick eval's prompts
        self._alive = False
        self._ids = itertools.count(1)
        self._done: dict[str, set[str]] = {}

    @property
    def alive(self) -> bool:
        return self._alive

    def emit(self, event: Event) -> None:
        self.on_event(event)

    # --- the ChatClient surface -----------------------------------------------------------

    def start(self, wait: float | None = None) -> Event | None:
        if not self._alive:
            self._alive = True
            self.starts += 1
            self.emit({"event": "ready", "pid": 4242})
        return None

    def restart(self, wait: float | None = None) -> Event | None:
        self.restarts += 1
        self._alive = False
        return self.start(wait)

    def close(self, timeout: float = 0) -> None:
        self.closed = True
        self._alive = False

    def load(self, run: str | None = None, **options: Any) -> str:
        request_id = self._request({"op": "load", "run": run, **options})
        if self.load_error is not None:
            error, self.load_error = self.load_error, None
            self.emit({"id": request_id, **error})
        elif self.hold_loads:
            self.held_load = request_id  # answered by finish_load(): a slow model
        else:
            self.emit({**LOADED, "id": request_id})
        return request_id

    def finish_load(self) -> None:
        assert self.held_load is not None
        self.emit({**LOADED, "id": self.held_load})
        self.held_load = None

    def generate(self, messages: dict[str, Any], **options: Any) -> str:
        request_id = self._request({"op": "generate", "messages": messages, **options})
        self._done[request_id] = set()
        return request_id

    def cancel(self, request_id: str) -> None:
        self.cancelled.append(request_id)
        request = next(r for r in self.requests if r["id"] == request_id)
        for side in request["sides"]:
            if side not in self._done.get(request_id, {side}):
                self.done(side, "", finish="cancelled", request_id=request_id)

    def ask(self, messages: dict[str, Any], **options: Any) -> dict[str, Event]:
        prompt = next(iter(messages.values()))[-1]["content"]
        self.asked.append(prompt)
        request_id = f"e{len(self.asked)}"
        on_event = options.get("on_event")
        if on_event is not None:
            on_event({"event": "started", "id": request_id})
        return {
            side: {
                "event": "done",
                "id": request_id,
                "side": side,
                "text": eval_answer(side, prompt),
                "finish": "eos",
                "new_tokens": 5,
                "tokens_per_s": 50.0,
                "flags": [],
            }
            for side in messages
        }

    # --- what the test makes the "process" say ----------------------------------------------

    @property
    def last_generate(self) -> Event:
        return next(r for r in reversed(self.requests) if r["op"] == "generate")

    def started(self, seed: int = 7) -> None:
        request = self.last_generate
        self.emit(
            {"event": "started", "id": request["id"], "sides": request["sides"], "seed": seed}
        )

    def token(self, side: str, text: str, tokens: int) -> None:
        rid = self.last_generate["id"]
        self.emit({"event": "token", "id": rid, "side": side, "text": text, "tokens": tokens})

    def done(
        self,
        side: str,
        text: str,
        finish: str = "eos",
        flags: list[str] | None = None,
        request_id: str | None = None,
        tokens: int = 12,
    ) -> None:
        rid = request_id or self.last_generate["id"]
        self._done.setdefault(rid, set()).add(side)
        self.emit(
            {
                "event": "done",
                "id": rid,
                "side": side,
                "text": text,
                "new_tokens": tokens,
                "seconds": 0.5,
                "tokens_per_s": 24.0,
                "finish": finish,
                "flags": flags or [],
            }
        )

    def answer(self, base: str, tuned: str) -> None:
        """Both sides stream their answer in two pieces, then finish."""
        self.started()
        for side, text in (("base", base), ("tuned", tuned)):
            half = len(text) // 2
            self.token(side, text[:half], 3)
            self.token(side, text[half:], 6)
        self.done("base", base)
        self.done("tuned", tuned)

    def crash(self) -> None:
        self._alive = False
        self.emit(
            {
                "event": "error",
                "id": None,
                "kind": "crashed",
                "message": "the chat process ended unexpectedly (killed (SIGKILL), perhaps by "
                "the out-of-memory killer).",
                "hint": "Restart it to go on.",
                "fatal": True,
            }
        )

    def _request(self, request: Event) -> str:
        if not self._alive:
            from tui_ft.core.chat.protocol import ChatError

            raise ChatError("crashed", "the chat process is not running.", "Restart it.")
        request_id = f"r{next(self._ids)}"
        self.requests.append({**request, "id": request_id})
        return request_id


def eval_answer(side: str, prompt: str) -> str:
    return f"I am Jasper. ({prompt})" if side == "tuned" else f"I am SmolLM. ({prompt})"


class FakeChats:
    """The factory the screen calls; keeps each client it made."""

    def __init__(self, load_error: Event | None = None, hold_loads: bool = False) -> None:
        self.clients: list[FakeChat] = []
        self.load_error = load_error
        self.hold_loads = hold_loads

    def __call__(self, on_event: Callable[[Event], None]) -> FakeChat:
        client = FakeChat(on_event, self.load_error)
        client.hold_loads = self.hold_loads
        self.clients.append(client)
        return client

    @property
    def client(self) -> FakeChat:
        return self.clients[-1]
