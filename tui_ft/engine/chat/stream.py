"""Streaming a batch of answers, one row per side, as text deltas.

transformers' TextIteratorStreamer handles one sequence; the A/B chat generates base and tuned
in one batch, so this streamer follows every row on its own: it decodes each row incrementally,
holds back a half-decoded character, and reports a row `done` the moment that row produces an
end-of-turn token, while the other row goes on. Cancellation is a stopping criterion that reads
a flag the worker's stdin reader sets, so it takes effect after the current decoding step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from transformers import StoppingCriteria
from transformers.generation.streamers import BaseStreamer

from tui_ft.core.chat.checks import LOOPED, answer_flags
from tui_ft.core.chat.wire import DoneEvent, Event

Emit = Callable[[Event], None]
REPLACEMENT = "\ufffd"  # what a decoder shows for the first bytes of an unfinished character


class CancelCriteria(StoppingCriteria):
    """Stops every row once `flag` is set (checked after each decoding step)."""

    def __init__(self, flag: threading.Event) -> None:
        self.flag = flag

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        stop = self.flag.is_set()
        # A bool tensor; torch's legacy BoolTensor class, which transformers names, is a type
        # checker's name for it only.
        return cast(
            torch.BoolTensor,
            torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device),
        )


@dataclass
class Row:
    side: str
    ids: list[int] = field(default_factory=list)
    # Incremental decoding (as text-generation-inference does it): decode a short window of
    # recent tokens, so the cost per token stays flat however long the answer gets, and the
    # window keeps the context a tokenizer needs to place spaces right.
    prefix: int = 0
    read: int = 0
    sent: str = ""
    finish: str | None = None
    first_token_at: float | None = None

    def delta(self, tokenizer: Any) -> str:
        before = tokenizer.decode(self.ids[self.prefix : self.read], skip_special_tokens=True)
        now = tokenizer.decode(self.ids[self.prefix :], skip_special_tokens=True)
        if len(now) <= len(before) or now.endswith(REPLACEMENT):
            return ""  # nothing new yet, or a character still waits for its last bytes
        self.prefix, self.read = self.read, len(self.ids)
        return now[len(before) :]


class BatchStreamer(BaseStreamer):
    """`sides[i]` names row i of the batch. Emits `token` and `done` events through `emit`."""

    def __init__(
        self,
        tokenizer: Any,
        request_id: str,
        sides: list[str],
        stop_ids: set[int],
        max_new_tokens: int,
        cancel: threading.Event,
        emit: Emit,
        with_ids: bool = False,
    ) -> None:
        self.tokenizer = tokenizer
        self.with_ids = with_ids
        self.request_id = request_id
        self.rows = [Row(side) for side in sides]
        self.stop_ids = stop_ids
        self.max_new_tokens = max_new_tokens
        self.cancel = cancel
        self.emit = emit
        self.started = time.perf_counter()
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate() first hands over the prompt itself
            self._prompt_seen = True
            return
        now = time.perf_counter()
        for row, token in zip(self.rows, value.reshape(-1).tolist(), strict=True):
            if row.finish is not None:
                continue  # a finished row is padded until the others finish
            if token in self.stop_ids:
                self._finish(row, "eos", now)
                continue
            row.ids.append(token)
            if row.first_token_at is None:
                row.first_token_at = now
            text = row.delta(self.tokenizer)
            if text:
                self._send(row, text)
            if len(row.ids) >= self.max_new_tokens:
                self._finish(row, "length", now)

    def end(self) -> None:
        now = time.perf_counter()
        for row in self.rows:
            if row.finish is None:
                self._finish(row, "cancelled" if self.cancel.is_set() else "length", now)

    @property
    def finished(self) -> bool:
        return all(row.finish is not None for row in self.rows)

    def _send(self, row: Row, text: str) -> None:
        row.sent += text
        # `tokens` so far on this side: a UI shows a live tokens/s from it.
        self.emit(
            {
                "event": "token",
                "id": self.request_id,
                "side": row.side,
                "text": text,
                "tokens": len(row.ids),
            }
        )

    def _finish(self, row: Row, finish: str, now: float) -> None:
        row.finish = finish
        text = self.tokenizer.decode(row.ids, skip_special_tokens=True)
        if text.startswith(row.sent) and len(text) > len(row.sent):
            self._send(row, text[len(row.sent) :])  # what the held-back window still had
        seconds = now - self.started
        flags = answer_flags(text, finish)
        done: DoneEvent = {
            "event": "done",
            "id": self.request_id,
            "side": row.side,
            "text": text,
            "new_tokens": len(row.ids),
            "seconds": round(seconds, 4),
            "first_token_s": (
                None if row.first_token_at is None else round(row.first_token_at - self.started, 4)
            ),
            "tokens_per_s": round(len(row.ids) / seconds, 2) if seconds > 0 else None,
            "finish": finish,
            "looped": LOOPED in flags,
            "flags": flags,
        }
        if self.with_ids:
            done["token_ids"] = list(row.ids)
        self.emit(done)
