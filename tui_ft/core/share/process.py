"""A push as the app runs it: `python -m tui_ft.cli push RUN --repo ... --json` in a child process
(through the app's child runner), online whatever the run's models are. Its progress lines come
on stderr, its summary (the files, the URL) as JSON on stdout, its refusal as `error:`/`hint:`
lines. Pure Python: the Export screen's push dialog drives it from a thread worker."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_ft.core.children.runner import ChildCommand, Runner, from_cli_output


@dataclass(frozen=True)
class PushRequest:
    run: Path  # the run's folder
    repo: str
    what: str
    private: bool = False
    dry_run: bool = True
    quant: str | None = None  # which GGUF export; None: the newest that passed its check

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "tui_ft.cli", "push", str(self.run)]
        argv += ["--repo", self.repo, "--what", self.what, "--json"]
        if self.quant:
            argv += ["--quant", self.quant]
        if self.private:
            argv.append("--private")
        if self.dry_run:
            argv.append("--dry-run")
        return argv

    def command(self) -> ChildCommand:
        return ChildCommand(self.argv(), online=not self.dry_run)


@dataclass(frozen=True)
class PushOutcome:
    summary: dict[str, Any] | None  # the command's JSON: files, sizes, url, commit_url
    error: str = ""  # its error and hint, or why it said nothing
    cancelled: bool = False


def run_push(request: PushRequest, runner: Runner) -> PushOutcome:
    """Start the push and wait for it (from a worker thread)."""
    child = runner.start(request)
    for _ in child.lines():  # the upload's progress; the summary says what came of it
        pass
    result = child.collect()
    if result.cancelled:
        return PushOutcome(None, cancelled=True)
    summary = result.report()
    if result.returncode == 0 and summary is not None:
        return PushOutcome(summary)
    said = from_cli_output(result.stderr)
    if said is not None:
        return PushOutcome(None, f"{said.message}\n{said.hint}".strip())
    last = result.last_line() or f"the push ended with exit code {result.returncode}."
    return PushOutcome(None, last)
