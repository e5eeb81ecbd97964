"""An export as the app runs it: `python -m tui_ft.cli export RUN ... --json` in a child process
(through the app's child runner, core.children.runner), so the UI never loads the model
libraries. Its progress lines (stderr) are read as they come, its check report (stdout, JSON)
once it ends; cancelling kills it and removes the folder it was writing, so a half-written
export is never left looking like a finished one.

Pure Python (no Textual): the Export screen drives it from a thread worker.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_ft.core.children.env import run_refs
from tui_ft.core.children.runner import ChildCommand, Runner, signal_name
from tui_ft.core.export.formats import default_export_dir, partial_exports
from tui_ft.core.runs.layout import RunDir

TAIL_LINES = 20  # stderr kept to explain a failure that printed no "error:" line


@dataclass(frozen=True)
class ExportRequest:
    run: Path  # the run's folder
    fmt: str  # merged, gguf or ollama
    quant: str | None = None  # None: the format takes none, or the command's default
    out: Path | None = None  # None: the run's export/FORMAT (export/FORMAT-QUANT for a GGUF)
    dtype: str | None = None  # a merged export's dtype; None: the run's own
    imatrix: bool = False  # guide a k-quant with an importance matrix

    @property
    def target(self) -> Path:
        if self.out is not None:
            return self.out
        return default_export_dir(self.run, self.fmt, self.quant)

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "tui_ft.cli", "export", str(self.run)]
        argv += ["--format", self.fmt, "--json"]
        if self.quant:
            argv += ["--quant", self.quant]
        if self.out is not None:
            argv += ["--out", str(self.out)]
        if self.dtype:
            argv += ["--dtype", self.dtype]
        if self.imatrix:
            argv.append("--imatrix")
        return argv

    def command(self) -> ChildCommand:
        models, _ = run_refs(RunDir(self.run).config_path)  # an export reads no dataset
        return ChildCommand(self.argv(), models=models)


@dataclass(frozen=True)
class ExportOutcome:
    report: dict[str, Any] | None  # the check report, once the export got that far
    error: str = ""  # why there is no report (or why it failed), in the command's words
    cancelled: bool = False

    @property
    def passed(self) -> bool:
        return self.report is not None and bool(self.report.get("passed"))


class ExportProcess:
    """One export. `lines` and `finish` from the worker thread; `cancel` from any thread."""

    def __init__(self, request: ExportRequest, runner: Runner) -> None:
        self.request = request
        self.child = runner.start(request)

    def lines(self) -> Iterator[str]:
        """Progress lines as they come, until the process ends."""
        return self.child.lines()

    def cancel(self) -> None:
        """Stop the export; lines() then ends and finish() says cancelled."""
        self.child.cancel()

    def finish(self) -> ExportOutcome:
        """Once lines() is exhausted: what came of it."""
        result = self.child.collect()
        if result.cancelled:
            remove_partial(self.request.target, self.child.pid)
            return ExportOutcome(None, cancelled=True)
        report = result.report()
        if report is not None and result.returncode == 0:
            return ExportOutcome(report)
        tail = result.stderr.splitlines()[-TAIL_LINES:]
        return ExportOutcome(report, error_text(tail, result.returncode))


def remove_partial(target: Path, pid: int) -> None:
    """The hidden folder a killed export was writing: never renamed into place, so never taken
    for an export; removed now rather than by the next export, since it holds a model's worth of
    disk."""
    for folder in partial_exports(target, pid):
        shutil.rmtree(folder, ignore_errors=True)


def error_text(tail: list[str], returncode: int) -> str:
    """The command's own `error:` and `hint:` lines; else its last lines; else its exit code."""
    said = [line for line in tail if line.startswith(("error:", "hint:"))]
    if said:
        return "\n".join(said)
    if returncode < 0:
        return f"the export process was killed ({signal_name(returncode)}), perhaps for memory."
    last = tail[-3:]
    return "\n".join(last) if last else f"the export process ended with exit code {returncode}."
