"""An evaluation as the app runs it: `python -m tui_ft.cli eval RUN --tasks … --json` in a child
process (through the app's child runner), so the UI never loads the model libraries. Its
progress lines (stderr) are read as they come and turned into each task's state; cancelling
kills it, and the evaluation's half-written folder (hidden) is removed.

Pure Python (no Textual): the Evaluate screen drives it from a thread worker.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tui_ft.core.children.env import OFFLINE_VAR, run_refs
from tui_ft.core.children.runner import ChildCommand, Runner, signal_name
from tui_ft.core.evals.report import EvalReport
from tui_ft.core.evals.store import discard_folder, evals_dir, read_report
from tui_ft.core.evals.tasks import parse_tasks
from tui_ft.core.runs.layout import RunDir

TAIL_LINES = 20
# What `tui-ft eval` says on stderr (tui_ft/engine/eval/run.py, tui_ft/commands/eval.py).
_STARTED = re.compile(r"^(base|tuned): (\S+) …$")
_SCORED = re.compile(r"^(base|tuned): (\S+) (\S+) (-?[0-9.]+|nan) \((.*)\)$")
_SAVED = re.compile(r"^saved in (.+)$")


@dataclass(frozen=True)
class EvalRequest:
    run: Path  # the run's folder
    tasks: str  # as --tasks takes them: T[,T…]
    limit: int | None = None
    device: str = "auto"
    chat_template: bool = True

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "tui_ft.cli", "eval", str(self.run), "--tasks", self.tasks]
        argv += ["--device", self.device, "--json"]
        if self.limit is not None:
            argv += ["--limit", str(self.limit)]
        if not self.chat_template:
            argv.append("--no-chat-template")
        return argv

    def command(self) -> ChildCommand:
        models, datasets = run_refs(RunDir(self.run).config_path)  # the held-out split's data
        env: dict[str, str] = {}
        if any(spec.file is None for spec in parse_tasks(self.tasks)):
            # An lm-eval task by name may need its data from the hub: the child is offline
            # only if the person said so.
            env[OFFLINE_VAR] = os.environ.get(OFFLINE_VAR, "0")
        return ChildCommand(self.argv(), models=models, datasets=datasets, env=env)


@dataclass(frozen=True)
class Progress:
    """One progress line, read: a task starting or scored on one side, or the folder saved."""

    side: str = ""
    task: str = ""
    metric: str = ""  # once scored: "acc"
    value: str = ""  # "0.412"
    detail: str = ""  # "80 questions, 12 s"
    saved: Path | None = None


def read_progress(line: str) -> Progress | None:
    if match := _STARTED.match(line):
        return Progress(match[1], match[2])
    if match := _SCORED.match(line):
        return Progress(match[1], match[2], match[3], match[4], match[5])
    if match := _SAVED.match(line):
        return Progress(saved=Path(match[1]))
    return None


@dataclass(frozen=True)
class EvalOutcome:
    report: EvalReport | None
    folder: Path | None = None
    error: str = ""  # why there is no report, in the command's words
    cancelled: bool = False


class EvalProcess:
    """One evaluation. `lines` and `finish` from the worker thread; `cancel` from any thread."""

    def __init__(self, request: EvalRequest, runner: Runner) -> None:
        self.request = request
        self.child = runner.start(request)
        self.saved: Path | None = None

    def lines(self) -> Iterator[str]:
        for line in self.child.lines():
            progress = read_progress(line)
            if progress is not None and progress.saved is not None:
                self.saved = progress.saved
            yield line

    def cancel(self) -> None:
        self.child.cancel()

    def finish(self) -> EvalOutcome:
        result = self.child.collect()
        if result.cancelled:
            for partial in evals_dir(self.request.run).glob(f".partial-{self.child.pid}-*"):
                discard_folder(partial)
            return EvalOutcome(None, cancelled=True)
        if result.returncode == 0 and self.saved is not None:
            return EvalOutcome(read_report(self.saved), self.saved)
        tail = result.stderr.splitlines()[-TAIL_LINES:]
        said = [line for line in tail if line.startswith(("error:", "hint:"))]
        if said:
            return EvalOutcome(None, error="\n".join(said))
        if result.returncode < 0:
            killed = signal_name(result.returncode)
            return EvalOutcome(
                None, error=f"the evaluation was killed ({killed}), perhaps for memory."
            )
        last = "\n".join(tail[-3:]) or f"the evaluation ended with exit code {result.returncode}."
        return EvalOutcome(None, error=last)
