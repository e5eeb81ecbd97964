"""The chat process's events, carried from the client's reader thread into the screen.

A fast model sends hundreds of token events a second per side. Posting one Textual message per
token would queue work faster than the panes repaint; instead the reader thread appends to a
list and posts one `ChatEvents` message only when none is waiting, so whatever arrives while the
screen is busy is handled in one go (back-pressure without dropping anything).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual.message import Message

from tui_ft.core.chat.wire import Event, TokenEvent


class ChatEvents(Message):
    """Events are waiting: the handler takes them all with `ChatLink.take()`."""


class ChatLink:
    """The client's callback. `post` is the screen's `post_message` (safe from any thread)."""

    def __init__(self, post: Callable[[Message], object]) -> None:
        self._post = post
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._posted = False

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._pending.append(event)
            if self._posted:
                return  # the message already on its way will take this one too
            self._posted = True
        self._post(ChatEvents())

    def take(self) -> list[Event]:
        with self._lock:
            events, self._pending = self._pending, []
            self._posted = False
        return events


def merge_tokens(events: list[Event]) -> list[Event]:
    """Token events of the same request and side as one (their texts joined, the last token
    count kept), so each pane gets one Markdown append per batch instead of dozens. The two
    sides' tokens arrive interleaved; each side's order is kept, and nothing moves across a
    non-token event (a `done` or an `error` closes the run of tokens before it)."""
    merged: list[Event] = []
    # (id, side) -> its token event so far, and where it sits in merged
    open_runs: dict[tuple[str, str], tuple[int, TokenEvent]] = {}
    for event in events:
        if event["event"] != "token":
            merged.append(event)
            open_runs.clear()
            continue
        key = (event["id"], event["side"])
        if key not in open_runs:
            open_runs[key] = (len(merged), event)
            merged.append(event)
            continue
        index, last = open_runs[key]
        joined: TokenEvent = {
            **last,
            "text": last["text"] + event["text"],
            "tokens": event.get("tokens", last["tokens"]),
        }
        open_runs[key] = (index, joined)
        merged[index] = joined
    return merged
