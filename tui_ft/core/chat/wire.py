"""The chat protocol's requests and events as types: what the client (tui_ft.core.chat.client)
writes and the worker (tui_ft.engine.chat.worker) reads, and back. Both sides build and read
these, so mypy checks every field on each side of the process boundary. How they travel (JSON
lines) and how the worker validates a request: tui_ft.core.chat.protocol. Pure Python.

Optional keys sit in a `total=False` subclass: `NotRequired` needs Python 3.11.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, cast


class ChatMessage(TypedDict):
    role: str  # one of protocol.ROLES
    content: str


class SamplingDict(TypedDict):
    """protocol.SamplingSettings on the wire."""

    temperature: float
    top_p: float
    max_new_tokens: int
    repetition_penalty: float
    greedy: bool
    seed: int | None
    system_prompt: str | None


# --- requests: client -> worker ---------------------------------------------------------------


class _LoadRequest(TypedDict):
    op: Literal["load"]
    id: str
    device: str  # auto | cpu | cuda:N
    placement: str  # one of protocol.PLACEMENTS


class LoadRequest(_LoadRequest, total=False):
    """Replaces what was loaded; after an error nothing is. A run, or a model alone."""

    run: str
    model: str
    context: int
    with_run: str  # another run of the same base in the `base` side's place (core.chat.target)


class _GenerateRequest(TypedDict):
    op: Literal["generate"]
    id: str
    sides: list[str]
    # Each side's own history (its own earlier answers), ending in the new user turn.
    messages: dict[str, list[ChatMessage]]
    settings: SamplingDict


class GenerateRequest(_GenerateRequest, total=False):
    mode: str  # batch | sequential
    token_ids: bool  # true: `done` lists the answer's token ids


class CancelRequest(TypedDict):
    """Stops the generate request `id`, queued or running."""

    op: Literal["cancel"]
    id: str


class UnloadRequest(TypedDict):
    op: Literal["unload"]
    id: str


class ShutdownRequest(TypedDict):
    op: Literal["shutdown"]


Request = LoadRequest | GenerateRequest | CancelRequest | UnloadRequest | ShutdownRequest


# --- events: worker -> client -----------------------------------------------------------------


class ReadyEvent(TypedDict):
    """The worker is up and reads requests."""

    event: Literal["ready"]
    pid: int
    versions: dict[str, str]  # torch, transformers, peft
    cuda_devices: int
    sides: list[str]


class LoadedMemory(TypedDict):
    weights_bytes: int
    device_allocated_bytes: int | None  # None on the CPU
    rss_bytes: int


class LoadEstimate(TypedDict):
    """What the placement plan (core.chat.memory.Plan) expected before loading."""

    needed_bytes: int
    free_bytes: int | None  # None: unknown (no NVML reading)
    where: str
    verdict: str


class _LoadedEvent(TypedDict):
    event: Literal["loaded"]
    id: str
    run: str | None  # None: a model alone
    run_path: str | None
    model: str
    method: str | None  # None for a base model alone
    kind: str  # adapter | two-models | base-only
    sides: list[str]
    tuned_path: str | None
    device: str
    placement: str
    dtype: str
    memory: LoadedMemory
    estimate: LoadEstimate
    system_prompt: str | None
    note: str
    seconds: float


class LoadedEvent(_LoadedEvent, total=False):
    # What each side holds, in words ("base" or a run's name): with `with_run` the `base` side
    # is that other run (its name in `with_run`), and the two keep their wire names.
    labels: dict[str, str]
    with_run: str | None


class UnloadedEvent(TypedDict):
    event: Literal["unloaded"]
    id: str | None


class StartedEvent(TypedDict):
    event: Literal["started"]
    id: str
    sides: list[str]
    prompt_tokens: dict[str, int]  # by side
    seed: int  # the one used: an answer can be reproduced


class TokenEvent(TypedDict):
    """A text delta (the deltas of a side concatenate to its `done.text`)."""

    event: Literal["token"]
    id: str
    side: str
    text: str
    tokens: int  # the side's token count so far


class _DoneEvent(TypedDict):
    event: Literal["done"]
    id: str
    side: str
    text: str
    new_tokens: int
    seconds: float
    first_token_s: float | None
    tokens_per_s: float | None
    finish: str  # one of protocol.FINISH_REASONS
    looped: bool
    flags: list[str]  # core.chat.checks.answer_flags


class DoneEvent(_DoneEvent, total=False):
    token_ids: list[int]  # when the request asked for them


class ChatOption(TypedDict):
    """Something the user can pick instead (a device, a placement), offered as a button."""

    device: str
    placement: str
    label: str


class _ErrorEvent(TypedDict):
    event: Literal["error"]
    id: str | None  # None: not about one request (a bad line, a crash)
    kind: str  # one of protocol.ERROR_KINDS
    message: str
    hint: str
    fatal: bool  # the process cannot go on: restart it


class ErrorEvent(_ErrorEvent, total=False):
    options: list[ChatOption]
    # Added by the client to its `crashed` error: the requests that will get no answer.
    pending: list[str]
    exit_code: int


Event = (
    ReadyEvent | LoadedEvent | UnloadedEvent | StartedEvent | TokenEvent | DoneEvent | ErrorEvent
)


# Each event's type by its `event`.
EVENT_TYPES: dict[str, type] = {
    "ready": ReadyEvent,
    "loaded": LoadedEvent,
    "unloaded": UnloadedEvent,
    "started": StartedEvent,
    "token": TokenEvent,
    "done": DoneEvent,
    "error": ErrorEvent,
}


def as_event(message: dict[str, Any]) -> Event | None:
    """A decoded line from the worker as an event, None when it names no known `event`. Its
    other fields are taken at their word: the worker is this package's own module, started
    from the same installation, so it speaks this version of the protocol."""
    return cast(Event, message) if message.get("event") in EVENT_TYPES else None
