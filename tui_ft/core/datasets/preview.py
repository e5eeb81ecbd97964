"""The wizard's dataset preview, fetched from a helper process: the UI must not load a
tokenizer (that means transformers), so it runs `tui-ft data inspect --json` and reads the
report back as data. A preview in flight is killed when the person asks for another.

Also the small views of that report the Dataset step draws (histogram bars with the cut).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tui_ft.core.children.env import child_env
from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError, from_cli_output

EXAMPLES_PER_CALL = 20  # rendered per process: stepping through them needs no new process
POLL_S = 0.1  # how often a waiting preview checks whether it was called off


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
        )

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "tui_ft.cli", "data", "inspect", self.dataset]
        cmd += ["--model", self.model, "--max-length", str(self.max_length)]
        cmd += ["--format", self.fmt, "--json"]
        cmd += ["--example", str(self.first_example), "--examples", str(self.count)]
        for name, column in self.columns.items():
            cmd += ["--column", f"{name}={column}"]
        if self.system_prompt is not None:
            cmd += ["--system-prompt", self.system_prompt]
        return cmd


class PreviewCancelled(Exception):
    """Another preview was asked for; this one's process was killed."""


def run_preview(request: PreviewRequest, cancelled: Callable[[], bool]) -> dict[str, Any]:
    """The inspect report for `request`. Raises UserError with the command's own sentence and
    hint when it fails, PreviewCancelled when `cancelled()` turns true meanwhile."""
    process = subprocess.Popen(
        request.command(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        env=child_env([request.model], [request.dataset]),
    )
    while True:
        try:
            out, err = process.communicate(timeout=POLL_S)
            break
        except subprocess.TimeoutExpired:
            if cancelled():
                process.kill()
                process.communicate()
                raise PreviewCancelled from None
    # Exit 1 with a report means "the data has bad rows": the report lists them.
    if out.strip():
        try:
            report = json.loads(out)
        except ValueError:
            report = None
        if isinstance(report, dict):
            return report
    raise _failure(err, process.returncode)


def _failure(stderr: str, code: int) -> UserError:
    """The command's `error: …` / `hint: …` lines as a UserError."""
    said = from_cli_output(stderr)
    if said is not None:
        return said
    tail = stderr.strip().splitlines()[-1:] or [f"exit status {code}"]
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
