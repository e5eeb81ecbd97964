"""An export as the app runs it: `python -m tui_ft.cli export RUN ... --json` in a child process,
so the UI never loads the model libraries. Its progress lines (stderr) are read as they come,
its check report (stdout, JSON) once it ends; cancelling kills it and removes the folder it was
writing, so a half-written export is never left looking like a finished one.

Pure Python (no Textual): the Export screen drives it from a thread worker, and tests hand the
screen a fake runner with the same two methods.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from tui_ft.core.children.env import child_env, run_refs
from tui_ft.core.export.formats import default_export_dir, partial_exports
from tui_ft.core.runs.layout import RunDir

TAIL_LINES = 20  # stderr kept to explain a failure that printed no "error:" line
MAX_LINE = 500  # a progress line longer than this is cut (a library dumping a tensor, say)


@dataclass(frozen=True)
class ExportRequest:
    run: Path  # the run's folder
    fmt: str  # merged, gguf or ollama
    quant: str | None = None  # None: the format takes none, or the command's default
    out: Path | None = None  # None: the run's export/FORMAT

    @property
    def target(self) -> Path:
        return self.out if self.out is not None else default_export_dir(self.run, self.fmt)

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "tui_ft.cli", "export", str(self.run)]
        argv += ["--format", self.fmt, "--json"]
        if self.quant:
            argv += ["--quant", self.quant]
        if self.out is not None:
            argv += ["--out", str(self.out)]
        return argv


@dataclass(frozen=True)
class ExportOutcome:
    report: dict[str, Any] | None  # the check report, once the export got that far
    error: str = ""  # why there is no report (or why it failed), in the command's words
    cancelled: bool = False

    @property
    def passed(self) -> bool:
        return self.report is not None and bool(self.report.get("passed"))


class ExportProcess(Protocol):
    def lines(self) -> Iterator[str]:
        """Progress lines as they come, until the process ends."""

    def finish(self) -> ExportOutcome:
        """Once lines() is exhausted: what came of it."""

    def cancel(self) -> None:
        """From any thread: stop the export; lines() then ends and finish() says cancelled."""


class ExportRunner(Protocol):
    def start(self, request: ExportRequest) -> ExportProcess: ...


class SubprocessRunner:
    """The real runner: one `tui-ft export` child process per request."""

    def start(self, request: ExportRequest) -> ExportProcess:
        return SubprocessExport(request)


class SubprocessExport:
    def __init__(self, request: ExportRequest) -> None:
        self.request = request
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._cancelled = threading.Event()
        # The report goes to a file, not a pipe: nobody reads stdout while stderr streams, and a
        # report larger than a pipe's buffer would otherwise block the child forever.
        self._stdout: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finish)
        models, _ = run_refs(RunDir(request.run).config_path)  # an export reads no dataset
        env = {**child_env(models), "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
        self.process = subprocess.Popen(
            request.argv(),
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=subprocess.PIPE,
            env=env,
            # Its own process group: cancelling kills whatever it started too, and a Ctrl+C
            # meant for the terminal never reaches it.
            start_new_session=True,
        )

    def lines(self) -> Iterator[str]:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            # A progress bar redraws itself with carriage returns: its latest state is the line.
            text = raw.decode("utf-8", "replace").rstrip("\r\n").rsplit("\r", 1)[-1].rstrip()
            if text:
                line = text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"
                self.tail.append(line)
                yield line

    def cancel(self) -> None:
        self._cancelled.set()
        if self.process.returncode is not None:
            return  # reaped already: its pid may belong to someone else by now
        with contextlib.suppress(ProcessLookupError):  # it ended by itself a moment ago
            os.killpg(self.process.pid, signal.SIGKILL)

    def finish(self) -> ExportOutcome:
        returncode = self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()
        self._stdout.seek(0)
        stdout = self._stdout.read().decode("utf-8", "replace")
        self._stdout.close()
        if self._cancelled.is_set():
            remove_partial(self.request.target, self.process.pid)
            return ExportOutcome(None, cancelled=True)
        report = _report(stdout)
        if report is not None and returncode == 0:
            return ExportOutcome(report)
        return ExportOutcome(report, error_text(list(self.tail), returncode))


def remove_partial(target: Path, pid: int) -> None:
    """The hidden folder a killed export was writing: never renamed into place, so never taken
    for an export; removed now rather than by the next export, since it holds a model's worth of
    disk."""
    for folder in partial_exports(target, pid):
        shutil.rmtree(folder, ignore_errors=True)


def _report(stdout: str) -> dict[str, Any] | None:
    try:
        report = json.loads(stdout)
    except ValueError:
        return None
    return report if isinstance(report, dict) else None


def error_text(tail: list[str], returncode: int) -> str:
    """The command's own `error:` and `hint:` lines; else its last lines; else its exit code."""
    said = [line for line in tail if line.startswith(("error:", "hint:"))]
    if said:
        return "\n".join(said)
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else ""
        return f"the export process was killed ({name or -returncode}), perhaps for memory."
    last = tail[-3:]
    return "\n".join(last) if last else f"the export process ended with exit code {returncode}."
