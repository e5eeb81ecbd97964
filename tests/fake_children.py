"""Runners for the app's children in tests (`make_app(runner=...)`, or a core function's `runner`
argument): a scripted one that answers each request without a process, and a real one that runs
a stand-in script in place of the `tui-ft … --json` command."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from tui_ft.core.children.runner import ChildProcess, ChildRequest, ChildResult, ChildRunner


class FakeChild:
    """A child that writes `stderr` lines and `stdout`, then ends with `returncode`. With
    `hold`, it keeps running after its lines until released or cancelled."""

    pid = 0  # no process: nothing on disk is named after it

    def __init__(
        self,
        stdout: str = "",
        stderr: Sequence[str] = (),
        returncode: int = 0,
        hold: bool = False,
    ) -> None:
        self.stdout = stdout
        self.stderr = list(stderr)
        self.returncode = returncode
        self.hold = hold
        self.release = threading.Event()
        self.cancelled = threading.Event()

    def lines(self) -> Iterator[str]:
        yield from self.stderr
        if self.hold:
            self.release.wait(timeout=30)

    def collect(self, cancelled: Callable[[], bool] | None = None) -> ChildResult:
        while self.hold and not self.release.wait(timeout=0.05):
            if cancelled is not None and cancelled():
                self.cancel()
        if self.cancelled.is_set():
            return ChildResult("", "", -9, cancelled=True)
        return ChildResult(self.stdout, "\n".join(self.stderr), self.returncode)

    def cancel(self) -> None:
        self.cancelled.set()
        self.release.set()


class FakeRunner:
    """Answers each request with `answer(request)`; the chat worker's clients come from
    `chats` (tests/ui/fake_chat.py's FakeChats). Records every request."""

    def __init__(
        self,
        answer: Callable[[Any], FakeChild] | None = None,
        chats: Callable[[Callable[[dict[str, Any]], None]], Any] | None = None,
    ) -> None:
        self.answer = answer
        self.chats = chats
        self.requests: list[Any] = []
        self.children: list[FakeChild] = []

    def start(self, request: ChildRequest) -> FakeChild:
        assert self.answer is not None, f"this test did not expect {request!r}"
        self.requests.append(request)
        self.children.append(self.answer(request))
        return self.children[-1]

    def chat(self, on_event: Callable[[dict[str, Any]], None], models: Sequence[str]) -> Any:
        assert self.chats is not None, "this test did not expect a chat"
        return self.chats(on_event)

    @property
    def child(self) -> FakeChild:
        return self.children[-1]


class StandIn(ChildRunner):
    """The real runner, running Python `code` in place of each command (or the code that
    `code(request)` writes, say for the config file a pre-flight request checks)."""

    def __init__(self, code: str | Callable[[Any], str]) -> None:
        self.code = code
        self.requests: list[Any] = []
        self.children: list[ChildProcess] = []

    def start(self, request: ChildRequest) -> ChildProcess:
        self.requests.append(request)
        command = request.command()
        code = self.code if isinstance(self.code, str) else self.code(request)
        self.children.append(ChildProcess(replace(command, argv=[sys.executable, "-c", code])))
        return self.children[-1]
