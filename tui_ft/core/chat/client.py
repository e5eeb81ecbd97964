"""The UI's (and the CLI's) handle on the chat process, safe to use from the UI process: it
imports nothing heavy, never blocks unless asked to, and turns a dead chat process into an
`error` event (kind `crashed`, `fatal` true) instead of an exception.

    client = ChatClient(on_event=callback)     # or no callback: read client.events (a Queue)
    client.start()                              # events: ready
    client.load(run="my-run", device="auto")    # events: loaded | error
    rid = client.generate(conversation.messages_for(prompt), settings=SamplingSettings())
                                                # events: started, token..., done per side
    client.cancel(rid)                          # done events with finish `cancelled`
    client.restart()                            # after a crash, or on demand
    client.close()

Events are the typed dicts of tui_ft.core.chat.wire. The callback runs on the client's
reader thread: a Textual app should only `post_message`/`call_from_thread` from it.

The blocking helpers (`start(wait=...)`, `load_and_wait`, `ask`) are for the CLI, the quick
eval and a UI worker thread: a request they make gets a private queue, so its events do not
reach the callback or `events`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Protocol

from tui_ft.core.chat.protocol import (
    SIDES,
    ChatError,
    SamplingSettings,
    decode,
    encode,
    error_event,
)
from tui_ft.core.chat.wire import (
    ChatMessage,
    DoneEvent,
    ErrorEvent,
    Event,
    GenerateRequest,
    LoadedEvent,
    LoadRequest,
    ReadyEvent,
    Request,
    as_event,
)
from tui_ft.core.children.env import child_env
from tui_ft.core.errors import UserError
from tui_ft.core.paths import cache_dir, disk_error, ensure_writable_dir

WORKER_MODULE = "tui_ft.engine.chat.worker"
LOG_TAIL_LINES = 5
MAX_STRAY_LINES = 20
CLOSE_WAIT_S = 5.0
LOG_KEEP_S = 7 * 86400  # chat logs older than a week are removed when a new one starts

log = logging.getLogger(__name__)
_LOG_FIX = "Point TUI_FT_CACHE at a folder you can write, or fix that folder's permissions."

Callback = Callable[[Event], None]


class ChatClientLike(Protocol):
    """What the UI uses of a ChatClient (tests pass a scripted fake)."""

    log_path: Path | None

    @property
    def alive(self) -> bool: ...

    def start(self, wait: float | None = None) -> ReadyEvent | None: ...

    def restart(self, wait: float | None = None) -> ReadyEvent | None: ...

    def close(self, timeout: float = ...) -> None: ...

    def load(
        self,
        run: str | None = None,
        *,
        model: str | None = None,
        device: str = "auto",
        placement: str = "auto",
        context: int | None = None,
        with_run: str | None = None,
    ) -> str: ...

    def generate(
        self,
        messages: dict[str, list[ChatMessage]],
        *,
        sides: list[str] | tuple[str, ...] | None = None,
        settings: SamplingSettings | None = None,
        mode: str | None = None,
        token_ids: bool = False,
    ) -> str: ...

    def cancel(self, request_id: str) -> None: ...

    def ask(
        self,
        messages: dict[str, list[ChatMessage]],
        *,
        sides: list[str] | tuple[str, ...] | None = None,
        settings: SamplingSettings | None = None,
        mode: str | None = None,
        token_ids: bool = False,
        timeout: float = ...,
        on_event: Callback | None = None,
    ) -> dict[str, DoneEvent]: ...


class ChatClient:
    def __init__(
        self,
        on_event: Callback | None = None,
        *,
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        models: Sequence[str] = (),
    ) -> None:
        """`command`: how to start the worker (default: this Python, `-m` the worker module).
        `log_path`: where the worker's stderr goes (default: a file in the cache folder);
        never the terminal, which belongs to the UI. `models`: those it will load; it is
        offline (HF_HUB_OFFLINE=1) unless one must come from the hub (see core.children.env)."""
        self.on_event = on_event
        self.events: queue.Queue[Event] = queue.Queue()
        self.command = command or [sys.executable, "-m", WORKER_MODULE]
        self.env = env
        self.models = tuple(models)
        self.log_path = log_path
        self.ready: ReadyEvent | None = None  # the worker's `ready` event, once it came
        self.loaded: LoadedEvent | None = None  # the last `loaded` event (None after unload/crash)
        # Lines on the worker's stdout that are not events (there should be none): kept, a
        # few, so that a library writing to stdout is noticed rather than silently dropped.
        self.stray_lines: list[bytes] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self._private: dict[str, queue.Queue[Event]] = {}
        self._private_lock = threading.Lock()
        self._closing = False
        self._ids = itertools.count(1)
        self._ready_flag = threading.Event()

    # --- the process ----------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, wait: float | None = None) -> ReadyEvent | None:
        """Start the worker. With `wait` (seconds), block until its `ready` event and return
        it; a worker that dies or stays silent raises ChatError."""
        if self.alive:
            return self.ready
        self._closing = False
        self.ready = self.loaded = None
        self._ready_flag.clear()
        log = self._open_log()
        env = child_env(self.models, base={**os.environ, **(self.env or {})})
        env["PYTHONUNBUFFERED"] = "1"
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
            )
        except OSError as err:
            raise ChatError(
                "crashed", f"cannot start the chat process: {err}.", "Check the installation."
            ) from None
        finally:
            log.close()
        self._process = process
        self._reader = threading.Thread(
            target=self._read, args=(process,), name="chat-client-reader", daemon=True
        )
        self._reader.start()
        if wait is None:
            return None
        if not self._ready_flag.wait(wait) or self.ready is None:
            message = (
                "the chat process did not start in time."
                if self.alive
                else "the chat process ended while starting."
            )
            raise ChatError("crashed", message, self._log_hint())
        return self.ready

    def restart(self, wait: float | None = None) -> ReadyEvent | None:
        self.close()
        return self.start(wait)

    def close(self, timeout: float = CLOSE_WAIT_S) -> None:
        """Ask the worker to exit, then make sure it did. Idempotent."""
        process = self._process
        if process is None:
            return
        self._closing = True
        if process.poll() is None:
            try:
                self._send({"op": "shutdown"})
                assert process.stdin is not None
                process.stdin.close()
            except (OSError, ChatError):
                pass  # already gone: nothing to ask
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout)
        self._process = None
        self.loaded = None

    # --- requests -------------------------------------------------------------------------

    def load(
        self,
        run: str | None = None,
        *,
        model: str | None = None,
        device: str = "auto",
        placement: str = "auto",
        context: int | None = None,
        with_run: str | None = None,
    ) -> str:
        """Load a run (base + its tuned model) or a model alone, in place of what was loaded;
        `with_run`: another run of the same base in the base's place. Answer: `loaded`, or
        `error` (then nothing is loaded; `options` may list devices or placements that fit)."""
        self.loaded = None  # a load replaces what was loaded, even when it fails
        request_id = self._new_id()
        self._send(_load_request(request_id, run, model, device, placement, context, with_run))
        return request_id

    def generate(
        self,
        messages: dict[str, list[ChatMessage]],
        *,
        sides: list[str] | tuple[str, ...] | None = None,
        settings: SamplingSettings | None = None,
        mode: str | None = None,
        token_ids: bool = False,
    ) -> str:
        """`messages`: each side's conversation ending in the user's turn (see
        Conversation.messages_for). Answer: `started`, `token`s, one `done` per side.
        `mode="sequential"`: one side after the other instead of one batch."""
        request_id = self._new_id()
        self._send(_generate_request(request_id, messages, sides, settings, mode, token_ids))
        return request_id

    def cancel(self, request_id: str) -> None:
        """Stop a generate request; its unfinished sides end with finish `cancelled`."""
        self._send({"op": "cancel", "id": request_id})

    def unload(self) -> str:
        self.loaded = None
        request_id = self._new_id()
        self._send({"op": "unload", "id": request_id})
        return request_id

    # --- blocking helpers -----------------------------------------------------------------

    def load_and_wait(
        self,
        run: str | None = None,
        *,
        model: str | None = None,
        device: str = "auto",
        placement: str = "auto",
        context: int | None = None,
        timeout: float = 600,
        with_run: str | None = None,
    ) -> LoadedEvent:
        """The `loaded` event; an `error` event raises ChatError."""
        self.loaded = None
        request_id = self._new_id()
        answers = self._private_request(
            _load_request(request_id, run, model, device, placement, context, with_run)
        )
        event = self._next(answers, request_id, timeout, "loading")
        if event["event"] == "error":
            raise _as_error(event)
        if event["event"] != "loaded":
            raise ChatError(
                "internal", f"the chat process answered a load with `{event['event']}`."
            )
        return event

    def ask(
        self,
        messages: dict[str, list[ChatMessage]],
        *,
        sides: list[str] | tuple[str, ...] | None = None,
        settings: SamplingSettings | None = None,
        mode: str | None = None,
        token_ids: bool = False,
        timeout: float = 600,
        on_event: Callback | None = None,
    ) -> dict[str, DoneEvent]:
        """Generate and wait: the `done` event of each side. `on_event` sees every event of
        the request on the way (tokens included); an `error` raises ChatError."""
        request_id = self._new_id()
        request = _generate_request(request_id, messages, sides, settings, mode, token_ids)
        wanted = set(request["sides"])
        answers = self._private_request(request)
        done: dict[str, DoneEvent] = {}
        deadline = time.monotonic() + timeout
        try:
            while wanted - done.keys():
                event = self._next(answers, request_id, deadline - time.monotonic(), "answering")
                if on_event is not None:
                    on_event(event)
                if event["event"] == "error":
                    raise _as_error(event)
                if event["event"] == "done":
                    done[event["side"]] = event
        except BaseException:
            if self.alive:
                self.cancel(request_id)
            raise
        finally:
            with self._private_lock:
                self._private.pop(request_id, None)
        return {side: done[side] for side in SIDES if side in done}

    # --- plumbing -------------------------------------------------------------------------

    def _new_id(self) -> str:
        return f"r{next(self._ids)}"

    def _private_request(self, request: LoadRequest | GenerateRequest) -> queue.Queue[Event]:
        """Send `request`; its events go to the queue returned, not to the callback."""
        answers: queue.Queue[Event] = queue.Queue()
        with self._private_lock:
            self._private[request["id"]] = answers
        try:
            self._send(request)
        except ChatError:
            with self._private_lock:
                self._private.pop(request["id"], None)
            raise
        return answers

    def _next(
        self, answers: queue.Queue[Event], request_id: str, timeout: float, doing: str
    ) -> Event:
        try:
            return answers.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise ChatError(
                "internal",
                f"the chat process took too long {doing} (request {request_id}).",
                "Try fewer max new tokens, or a smaller model.",
            ) from None

    def _send(self, message: Request) -> None:
        process = self._process
        if process is None or process.poll() is not None or process.stdin is None:
            raise ChatError(
                "crashed", "the chat process is not running.", "Start it again (restart)."
            )
        try:
            with self._write_lock:
                process.stdin.write(encode(message))
                process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            # It died between the check and the write; the reader reports the death.
            raise ChatError(
                "crashed", "the chat process is not running.", "Start it again (restart)."
            ) from None

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            try:
                event = as_event(decode(line))
            except UserError:
                event = None
            if event is None:
                if len(self.stray_lines) < MAX_STRAY_LINES:
                    self.stray_lines.append(line)
                continue
            self._deliver(event)
        code = process.wait()
        if not self._closing:
            self.loaded = None
            with self._private_lock:
                pending = sorted(self._private)
            self._deliver(
                error_event(
                    None,
                    "crashed",
                    f"the chat process ended unexpectedly ({_exit_text(code)}).",
                    f"Restart it to go on. {self._log_hint()}".strip(),
                    fatal=True,
                    pending=pending,
                    exit_code=code,
                ),
                everyone=True,
            )
        self._ready_flag.set()  # a start(wait=...) still waiting learns of the death at once

    def _deliver(self, event: Event, everyone: bool = False) -> None:
        if event["event"] == "ready":
            self.ready = event
            self._ready_flag.set()
        elif event["event"] == "loaded":
            self.loaded = event
        with self._private_lock:
            private = self._private.get(str(event.get("id")))
            targets = list(self._private.values()) if everyone else []
        if private is not None and not everyone:
            private.put(event)
            return
        for answers in targets:
            answers.put(event)
        if self.on_event is None:
            self.events.put(event)
            return
        try:
            self.on_event(event)
        except Exception:  # a UI bug must not stop the reader (and with it crash detection)
            log.exception("the chat event callback failed on %s", event.get("event"))

    def _open_log(self) -> IO[bytes]:
        folder = cache_dir() / "logs" if self.log_path is None else self.log_path.parent
        try:
            ensure_writable_dir(folder, "the chat's log folder", _LOG_FIX)
            if self.log_path is not None:
                return self.log_path.open("ab")
            _remove_old_logs(folder)
            fd, name = tempfile.mkstemp(prefix="chat-", suffix=".log", dir=folder)
        except UserError as err:
            raise ChatError("crashed", err.message, err.hint) from None
        except OSError as err:
            failed = disk_error(err, folder, "the chat's log", _LOG_FIX)
            raise ChatError("crashed", failed.message, failed.hint) from None
        self.log_path = Path(name)
        return os.fdopen(fd, "ab")

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        if self.log_path is None:
            return []
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - 8192))
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip()][-lines:]

    def _log_hint(self) -> str:
        tail = self.log_tail(1)
        where = f"Its log: {self.log_path}." if self.log_path else ""
        last = f" Last line: {tail[-1][:200]}" if tail else ""
        return f"{where}{last}"


def _load_request(
    request_id: str,
    run: str | None,
    model: str | None,
    device: str,
    placement: str,
    context: int | None,
    with_run: str | None = None,
) -> LoadRequest:
    request: LoadRequest = {
        "op": "load",
        "id": request_id,
        "device": device,
        "placement": placement,
    }
    if run is not None:
        request["run"] = run
    if model is not None:
        request["model"] = model
    if context is not None:
        request["context"] = context
    if with_run is not None:
        request["with_run"] = with_run
    return request


def _generate_request(
    request_id: str,
    messages: dict[str, list[ChatMessage]],
    sides: list[str] | tuple[str, ...] | None,
    settings: SamplingSettings | None,
    mode: str | None,
    token_ids: bool = False,
) -> GenerateRequest:
    chosen = [s for s in SIDES if s in (sides or messages.keys())]
    request: GenerateRequest = {
        "op": "generate",
        "id": request_id,
        "sides": chosen,
        "messages": {side: messages[side] for side in chosen},
        "settings": (settings or SamplingSettings()).to_dict(),
    }
    if mode is not None:
        request["mode"] = mode
    if token_ids:
        request["token_ids"] = True
    return request


def _remove_old_logs(folder: Path) -> None:
    cutoff = time.time() - LOG_KEEP_S
    for old in folder.glob("chat-*.log"):
        with contextlib.suppress(OSError):  # another client may be removing it too
            if old.stat().st_mtime < cutoff:
                old.unlink()


def _as_error(event: ErrorEvent) -> ChatError:
    return ChatError(
        event.get("kind") or "internal",
        event.get("message") or "the chat process reported an error.",
        event.get("hint") or "",
        options=event.get("options"),
    )


def _exit_text(code: int) -> str:
    if code < 0:
        names = {9: "killed (SIGKILL), perhaps by the out-of-memory killer", 15: "terminated"}
        return names.get(-code, f"signal {-code}")
    return f"exit code {code}"
