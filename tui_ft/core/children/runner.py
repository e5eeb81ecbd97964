"""One way to run a `tui-ft … --json` child: the dataset preview, the pre-flight check and the
export each hand a request to a `Runner`, which starts the command in a session of its own (so
cancelling kills whatever it started too, and a Ctrl+C meant for the terminal never reaches it),
streams its stderr lines or collects its output, cancels it by killing its process group, and
reads the end back: its stdout, its `error:`/`hint:` sentences as a UserError, how it exited.

The app holds one runner (injected through `make_app`, which adds the chat worker's client to
it): tests hand it a fake that answers requests without a process, or a real runner that starts
a stand-in script instead.

Pure Python (no Textual): the screens call it from thread workers; `cancel` is safe from any
thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from tui_ft.core.children.env import child_env
from tui_ft.core.errors import UserError

POLL_S = 0.1  # how often a child being collected checks whether it was called off
TAIL_LINES = 200  # streamed stderr lines kept for the end (the command's error comes last)
MAX_LINE = 500  # a streamed line longer than this is cut (a library dumping a tensor, say)


@dataclass(frozen=True)
class ChildCommand:
    """What to start: the argv, and the models and datasets it works with (its environment is
    offline unless one of them must come from the hub, see core.children.env)."""

    argv: list[str]
    models: Sequence[str | None] = ()
    datasets: Sequence[str | None] = ()
    env: Mapping[str, str] = field(default_factory=dict)  # set on top, for this child alone
    online: bool = False  # it needs the hub whatever its models are (an upload)

    def environment(self) -> dict[str, str]:
        env = child_env(self.models, self.datasets, download=self.online)
        # Its lines as they are written, in one encoding whatever the locale says.
        env.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
        env.update(self.env)
        return env


class ChildRequest(Protocol):
    """A request a feature hands the runner (a fake runner reads the request itself)."""

    def command(self) -> ChildCommand: ...


@dataclass(frozen=True)
class ChildResult:
    stdout: str
    stderr: str  # all of it when collected; its last TAIL_LINES lines when streamed
    returncode: int  # negative: killed by that signal
    cancelled: bool = False  # cancel() was called (or the collector's `cancelled()` turned true)

    def report(self) -> dict[str, Any] | None:
        """Stdout as the JSON object a `--json` command prints; None when it printed none."""
        try:
            report = json.loads(self.stdout)
        except ValueError:
            return None
        return report if isinstance(report, dict) else None

    def error(self) -> UserError | None:
        """The UserError the command printed on stderr; None when it printed none."""
        return from_cli_output(self.stderr)

    def last_line(self) -> str:
        lines = self.stderr.rstrip().splitlines()
        return next((line.strip() for line in reversed(lines) if line.strip()), "")


class Child(Protocol):
    pid: int

    def lines(self) -> Iterator[str]:
        """Its stderr lines as they come, until it ends (a progress bar's latest state)."""

    def collect(self, cancelled: Callable[[], bool] | None = None) -> ChildResult:
        """Wait for it to end (killing it once `cancelled()` turns true) and read its output;
        after lines(), or instead of it."""

    def cancel(self) -> None:
        """From any thread, at any time: kill it and whatever it started."""


class Runner(Protocol):
    def start(self, request: ChildRequest) -> Child: ...


class ChildRunner:
    """The real runner: a process per request."""

    def start(self, request: ChildRequest) -> Child:
        return ChildProcess(request.command())


class ChildProcess:
    def __init__(self, command: ChildCommand) -> None:
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._streamed = False
        self._cancelled = threading.Event()
        # Stdout goes to a file, not a pipe: nobody reads it while stderr streams, and a report
        # larger than a pipe's buffer would otherwise block the child forever.
        self._stdout: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in collect)
        try:
            self.process = subprocess.Popen(
                command.argv,
                stdin=subprocess.DEVNULL,
                stdout=self._stdout,
                stderr=subprocess.PIPE,
                env=command.environment(),
                start_new_session=True,
            )
        except BaseException:
            self._stdout.close()
            raise
        self.pid = self.process.pid

    def lines(self) -> Iterator[str]:
        assert self.process.stderr is not None
        self._streamed = True
        for raw in self.process.stderr:
            # A progress bar redraws itself with carriage returns: its latest state is the line.
            text = raw.decode("utf-8", "replace").rstrip("\r\n").rsplit("\r", 1)[-1].rstrip()
            if text:
                line = text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"
                self._tail.append(line)
                yield line

    def collect(self, cancelled: Callable[[], bool] | None = None) -> ChildResult:
        try:
            if self._streamed:
                for _ in self.lines():
                    pass  # what is left of stderr, so that the child never blocks on it
                stderr = "\n".join(self._tail)
                self.process.wait()
            else:
                stderr = self._communicate(cancelled).decode("utf-8", "replace")
        finally:
            if self.process.poll() is None:  # this thread was interrupted: leave no orphan
                self._kill()
        if self.process.stderr is not None:
            self.process.stderr.close()
        self._stdout.seek(0)
        stdout = self._stdout.read().decode("utf-8", "replace")
        self._stdout.close()
        return ChildResult(stdout, stderr, self.process.returncode, self._cancelled.is_set())

    def _communicate(self, cancelled: Callable[[], bool] | None) -> bytes:
        while True:
            try:
                return self.process.communicate(timeout=POLL_S)[1] or b""
            except subprocess.TimeoutExpired:
                if cancelled is not None and cancelled():
                    self.cancel()

    def cancel(self) -> None:
        self._cancelled.set()
        if self.process.returncode is not None:
            return  # reaped already: its pid may belong to someone else by now
        self._kill()

    def _kill(self) -> None:
        # Nothing a cancelled child was doing is worth keeping: SIGKILL, so one busy in a long
        # kernel ends now.
        with contextlib.suppress(ProcessLookupError):  # it ended by itself a moment ago
            os.killpg(self.process.pid, signal.SIGKILL)


def signal_name(returncode: int) -> str:
    """The signal that killed a child with this (negative) exit status, by name when known."""
    try:
        return signal.Signals(-returncode).name
    except ValueError:  # a real-time signal, or none that this system knows
        return str(-returncode)


def from_cli_output(stderr: str) -> UserError | None:
    """The UserError a tui-ft child process printed (tui_ft.cli writes `error: …` then
    `hint: …`), read back from its stderr; None when it printed none. The last error counts;
    lines after it continue its message until `hint:`, then continue the hint."""
    lines = stderr.rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    if not starts:
        return None
    message: list[str] = []
    hint: list[str] = []
    for line in lines[starts[-1] :]:
        if line.startswith("hint: "):
            hint.append(line.removeprefix("hint: "))
        elif hint:
            hint.append(line)
        else:
            message.append(line.removeprefix("error: "))
    return UserError("\n".join(message), "\n".join(hint))
