"""The chat process: `python -m tui_ft.engine.chat.worker`, a child of the UI (or the CLI).

JSON lines in on stdin, JSON lines out on stdout (the protocol: tui_ft.core.chat.protocol).
stdout carries nothing else: before any library is imported, file descriptor 1 is pointed at
stderr and the protocol keeps a private copy of the real stdout, so a stray print or a C
library's warning can never corrupt an event.

A reader thread takes requests off stdin: `cancel` sets the request's flag at once (generation
checks it after every token), everything else queues for the main thread, which loads models
and generates one request at a time. Any failure inside a request becomes an `error` event and
the process carries on; only a broken CUDA context or a closed stdout ends it (exit 3 after an
error event, or 1). End of stdin means the parent is gone: cancel and exit.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from tui_ft.core.chat.protocol import (
    SIDES,
    ChatError,
    SamplingSettings,
    decode,
    encode,
    error_event,
    parse_messages,
    parse_sides,
)
from tui_ft.core.chat.wire import Event, ReadyEvent
from tui_ft.core.errors import UserError

FATAL_EXIT = 3
log = logging.getLogger("tui_ft.engine.chat.worker")  # to stderr: the chat log
Emit = Callable[[Event], None]
# A request as decoded, not yet trusted: any program may write to the worker, and `handle`
# validates each field it reads (protocol.parse_*), so it stays a plain dict until then.
RawRequest = dict[str, Any]


class EventWriter:
    """Whole lines, one writer at a time (the reader thread reports bad requests too)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def emit(self, event: Event) -> None:
        line = encode(event)
        with self.lock:
            self.stream.write(line)
            self.stream.flush()


class Worker:
    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.requests: queue.Queue[RawRequest] = queue.Queue()
        self.flags: dict[str, threading.Event] = {}
        self.flags_lock = threading.Lock()
        self.chat: Any = None  # LoadedChat

    # --- the reader thread ----------------------------------------------------------------

    def read(self, stdin: IO[bytes]) -> None:
        for line in stdin:
            if not line.strip():
                continue
            try:
                request = decode(line)
            except UserError as err:
                self.emit(error_event(None, "bad_request", err.message))
                continue
            self.submit(request)
        self.submit({"op": "shutdown"})  # the parent closed our stdin: it is gone or done

    def submit(self, request: RawRequest) -> None:
        op = request.get("op")
        request_id = request.get("id")
        if op == "cancel":
            with self.flags_lock:
                flag = self.flags.get(str(request_id))
            if flag is not None:
                flag.set()
            return
        if op == "shutdown":
            with self.flags_lock:
                for flag in self.flags.values():
                    flag.set()
        elif op == "generate" and request_id is not None:
            with self.flags_lock:
                self.flags[str(request_id)] = threading.Event()
        self.requests.put(request)

    # --- the main thread ------------------------------------------------------------------

    def serve(self) -> int:
        while True:
            request = self.requests.get()
            op = request.get("op")
            if op == "shutdown":
                return 0
            if not self.handle(request):
                return FATAL_EXIT

    def handle(self, request: RawRequest) -> bool:
        """False when the process cannot go on (its CUDA context is broken)."""
        import torch

        op = request.get("op")
        request_id = request.get("id")
        request_id = None if request_id is None else str(request_id)
        try:
            if op == "load":
                self.load(request_id, request)
            elif op == "generate":
                self.generate(request_id, request)
            elif op == "unload":
                self.unload()
                self.emit({"event": "unloaded", "id": request_id})
            else:
                raise ChatError("bad_request", f"unknown request op {op!r}.")
        except ChatError as err:
            self.emit(err.event(request_id))
        except UserError as err:
            kind = "load" if op == "load" else "bad_request"
            self.emit(error_event(request_id, kind, err.message, err.hint))
        except (torch.OutOfMemoryError, MemoryError) as err:
            self._free_memory()
            self.emit(error_event(request_id, "oom", *_oom_sentences(op, err)))
        except Exception as err:  # a bug must not take the chat down: report it, carry on
            log.exception("request %s (%s) failed", request_id, op)
            fatal = _cuda_broken(err)
            self.emit(
                error_event(
                    request_id,
                    "internal",
                    f"unexpected {type(err).__name__}: {_first_line(err)}",
                    "Restart the chat process." if fatal else "See the chat log; it may be a bug.",
                    fatal=fatal,
                )
            )
            return not fatal
        finally:
            if request_id is not None:
                with self.flags_lock:
                    self.flags.pop(request_id, None)
        return True

    def load(self, request_id: str | None, request: RawRequest) -> None:
        from tui_ft.core.chat.memory import plan_placement
        from tui_ft.core.chat.target import chat_target
        from tui_ft.core.hardware.probe import probe
        from tui_ft.core.models.info import read_model_info
        from tui_ft.core.models.resolve import resolve_model
        from tui_ft.engine.chat.models import load_chat

        # A load replaces what was loaded: its memory is free for the check below, and after
        # a failed load nothing is loaded (never a half-loaded pair).
        self.unload()
        run, model, with_run = request.get("run"), request.get("model"), request.get("with_run")
        target = chat_target(
            run=None if run is None else str(run),
            model=None if model is None else str(model),
            with_run=None if with_run is None else str(with_run),
        )
        try:
            info = read_model_info(resolve_model(target.config.model))
        except UserError as err:
            raise ChatError("missing", err.message, err.hint) from None
        context = request.get("context")
        # NVML only: nothing here touches a GPU before the plan says the chat fits on it.
        plan = plan_placement(
            target,
            info,
            probe(),
            device=str(request.get("device") or "auto"),
            placement=str(request.get("placement") or "auto"),
            context=context if isinstance(context, int) and context > 0 else None,
            training_runs=_training_runs(),
        )
        self.chat = load_chat(target, plan)
        self.emit(self.chat.loaded_event(request_id or ""))

    def generate(self, request_id: str | None, request: RawRequest) -> None:
        from tui_ft.engine.chat.generate import Job, generate

        if request_id is None:
            raise ChatError("bad_request", "a generate request needs an `id`.")
        if self.chat is None:
            raise ChatError("not_loaded", "no model is loaded yet.", "Send a `load` request first.")
        sides = parse_sides(request.get("sides"))
        missing = [s for s in sides if s not in self.chat.target.sides]
        if missing:
            raise ChatError(
                "bad_request",
                f"this chat has no {missing[0]} side: {self.chat.target.label} was loaded alone.",
                "Load a run to compare base and tuned.",
            )
        with self.flags_lock:
            flag = self.flags.setdefault(request_id, threading.Event())
        job = Job(
            request_id=request_id,
            sides=sides,
            messages=parse_messages(request.get("messages"), sides),
            settings=SamplingSettings.from_dict(request.get("settings")),
            cancel=flag,
            token_ids=request.get("token_ids") is True,
        )
        mode = request.get("mode")
        if mode not in (None, "batch", "sequential"):
            raise ChatError("bad_request", f"`mode` must be batch or sequential (got {mode!r}).")
        generate(self.chat, job, self.emit, mode=mode)

    def unload(self) -> None:
        from tui_ft.engine.chat.models import unload

        chat, self.chat = self.chat, None
        unload(chat)

    def _free_memory(self) -> None:
        import torch

        gc.collect()
        if torch.cuda.is_available():
            with contextlib.suppress(RuntimeError):
                torch.cuda.empty_cache()


def _oom_sentences(op: Any, err: BaseException) -> tuple[str, str]:
    if op == "load":
        return (
            f"out of memory while loading the model: {_first_line(err)}",
            "Pick the CPU or another GPU; nothing else was changed.",
        )
    return (
        f"out of memory while answering: {_first_line(err)}",
        "Lower max new tokens, clear the conversation (shorter history), or load on the CPU.",
    )


def _cuda_broken(err: BaseException) -> bool:
    """An illegal memory access and its kind poison the CUDA context for good."""
    return isinstance(err, RuntimeError) and "CUDA error" in str(err)


def _training_runs() -> dict[int, str]:
    from tui_ft.core.runs.listing import list_runs

    return {s.status.pid: s.name for s in list_runs() if s.status.active and s.status.pid}


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _protocol_stream() -> IO[bytes]:
    """The real stdout for the protocol alone; fd 1 (and sys.stdout) now lead to stderr."""
    protocol = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol


def _ready_event() -> ReadyEvent:
    import peft
    import torch
    import transformers

    # Counting devices initializes the driver but creates no context (no GPU memory).
    cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return {
        "event": "ready",
        "pid": os.getpid(),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
        },
        "cuda_devices": cuda,
        "sides": list(SIDES),
    }


def main() -> int:
    protocol = _protocol_stream()
    # The parent owns the terminal: Ctrl-C there reaches us too, and it decides what ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    writer = EventWriter(protocol)
    try:
        from transformers.utils import logging

        logging.disable_progress_bar()
        writer.emit(_ready_event())
        worker = Worker(writer.emit)
        reader = threading.Thread(target=worker.read, args=(sys.stdin.buffer,), daemon=True)
        reader.start()
        return worker.serve()
    except BrokenPipeError:
        return 1  # nobody listens any more
    except Exception as err:  # startup itself failed: say so on the protocol, then exit
        log.exception("the chat process could not start")
        with contextlib.suppress(OSError):
            writer.emit(
                error_event(
                    None,
                    "internal",
                    f"the chat process could not start: {type(err).__name__}: {_first_line(err)}",
                    "Check the installation with `tui-ft doctor`.",
                    fatal=True,
                )
            )
        return 1


if __name__ == "__main__":
    sys.exit(main())
