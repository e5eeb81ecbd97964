"""Evaluations in the run directory: `evals/<YYYYmmdd-HHMMSS>/`, one folder per evaluation,
holding `result.json` (our table) and `harness/` (lm-eval's own output, per side). A folder is
written under a hidden name and renamed into place when complete, so a listed evaluation is
always whole; the quick eval's files (`evals/<stamp>.md`, `.jsonl`) sit beside them."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from tui_ft.core.errors import UserError
from tui_ft.core.evals.report import EvalReport, TaskScore
from tui_ft.core.paths import disk_error, ensure_writable_dir

EVALS = "evals"
RESULT = "result.json"
HARNESS = "harness"
_FIX = "Free some space or fix the run folder's permissions, then evaluate again."


def evals_dir(run_path: Path) -> Path:
    return run_path / EVALS


def start_folder(run_path: Path) -> Path:
    """A fresh hidden folder to write an evaluation into (finish_folder names it)."""
    parent = ensure_writable_dir(evals_dir(run_path), "the run's evals folder", _FIX)
    folder = parent / f".partial-{os.getpid()}-{time.time_ns()}"
    folder.mkdir()
    return folder


def finish_folder(partial: Path, report: EvalReport) -> Path:
    """Write result.json into the partial folder and rename it to its timestamp."""
    try:
        (partial / RESULT).write_text(
            json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in range(1, 1000):
            final = partial.parent / (stamp if n == 1 else f"{stamp}-{n}")
            if not final.exists() and not final.with_suffix(".md").exists():
                partial.rename(final)
                return final
    except OSError as err:
        raise disk_error(err, partial, "the evaluation's result", _FIX) from None
    raise UserError(f"no free folder name for {stamp} in {partial.parent}.", _FIX)


def discard_folder(partial: Path) -> None:
    shutil.rmtree(partial, ignore_errors=True)


def read_report(folder: Path) -> EvalReport:
    path = folder / RESULT
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(
            f"{path} cannot be read.", "Run the evaluation again; it writes a new folder."
        ) from None
    return EvalReport.from_dict(data, str(path))


def list_evals(run_path: Path) -> list[tuple[Path, EvalReport]]:
    """The run's complete evaluations, newest first; unreadable ones are left out."""
    folder = evals_dir(run_path)
    if not folder.is_dir():
        return []
    found = []
    for child in sorted(folder.iterdir(), key=lambda p: p.name, reverse=True):
        if child.name.startswith(".") or not (child / RESULT).is_file():
            continue
        try:
            found.append((child, read_report(child)))
        except UserError:
            continue
    return found


def standing_scores(run_path: Path) -> list[TaskScore] | None:
    """Each task's score from the newest evaluation that scored it, tasks in name order; None
    when the run was never evaluated. A later evaluation of other tasks (a task file, say) does
    not hide what an earlier one found: the forgetting alarm is judged on these."""
    newest: dict[str, TaskScore] = {}
    found = list_evals(run_path)
    for _, report in found:  # newest first: the first score of a task stands
        for score in report.tasks:
            newest.setdefault(score.task, score)
    return [newest[task] for task in sorted(newest)] if found else None
