"""The wizard's dataset preview, fetched from a helper process: the UI must not load a
tokenizer (that means transformers), so it runs `tui-ft data inspect --json` (through the app's
child runner, core.children.runner) and reads the report back as data. A preview in flight is
killed when the person asks for another.

Also the small views of that report the Dataset step draws (histogram bars with the cut).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tui_ft.core.children.runner import ChildCommand, ChildResult, Runner
from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError

EXAMPLES_PER_CALL = 20  # rendered per process: stepping through them needs no new process


@dataclass(frozen=True)
class PreviewRequest:
    dataset: str
    model: str
    max_length: int = 1024
    fmt: str = "auto"
    columns: Mapping[str, str] = field(default_factory=dict)
    system_prompt: str | None = None
    first_example: int = 1
    count: int = EXAMPLES_PER_CALL
    objective: str | None = None  # the report then says whether the data fit it (`fit`)

    @classmethod
    def for_config(cls, config: RunConfig, first_example: int = 1) -> PreviewRequest:
        return cls(
            dataset=config.dataset,
            model=config.model,
            max_length=config.max_length,
            fmt=config.dataset_format,
            columns=dict(config.dataset_columns),
            system_prompt=config.system_prompt,
            first_example=first_example,
            objective=config.objective,
        )

    def command(self) -> ChildCommand:
        cmd = [sys.executable, "-m", "tui_ft.cli", "data", "inspect", self.dataset]
        cmd += ["--model", self.model, "--max-length", str(self.max_length)]
        cmd += ["--format", self.fmt, "--json"]
        cmd += ["--example", str(self.first_example), "--examples", str(self.count)]
        for name, column in self.columns.items():
            cmd += ["--column", f"{name}={column}"]
        if self.system_prompt is not None:
            cmd += ["--system-prompt", self.system_prompt]
        if self.objective is not None:
            cmd += ["--objective", self.objective]
        return ChildCommand(cmd, models=[self.model], datasets=[self.dataset])


class PreviewCancelled(Exception):
    """Another preview was asked for; this one's process was killed."""


def run_preview(
    runner: Runner, request: PreviewRequest, cancelled: Callable[[], bool]
) -> dict[str, Any]:
    """The inspect report for `request`. Raises UserError with the command's own sentence and
    hint when it fails, PreviewCancelled when `cancelled()` turns true meanwhile."""
    result = runner.start(request).collect(cancelled)
    if result.cancelled:
        raise PreviewCancelled
    # Exit 1 with a report means "the data has bad rows" or "does not fit": the report says.
    report = result.report()
    if report is not None:
        return report
    raise failure(result)


def failure(result: ChildResult) -> UserError:
    """The command's `error: …` / `hint: …` lines as a UserError."""
    said = result.error()
    if said is not None:
        return said
    tail = result.stderr.strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
    return UserError(
        f"the dataset preview failed ({tail[0]}).",
        "Run `tui-ft data inspect` on it in a shell to see the whole output.",
    )


@dataclass(frozen=True)
class HistogramBar:
    start: int
    end: int
    count: int
    width: int  # cells of bar, against the fullest bin
    cut: bool  # max_length falls inside this bin
    beyond: bool  # the whole bin lies past max_length: these rows are truncated


def histogram_bars(report: Mapping[str, Any], width: int) -> list[HistogramBar]:
    bins = report.get("histogram") or []
    max_length = int(report.get("max_length") or 0)
    peak = max((int(b["count"]) for b in bins), default=0) or 1
    return [
        HistogramBar(
            start=int(b["start"]),
            end=int(b["end"]),
            count=int(b["count"]),
            width=round(width * int(b["count"]) / peak),
            cut=int(b["start"]) < max_length <= int(b["end"]),
            beyond=int(b["start"]) >= max_length,
        )
        for b in bins
    ]
