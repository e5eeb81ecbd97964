"""Turn whatever stopped a training into a RunError: a kind, one sentence, and what to do."""

from __future__ import annotations

import errno
from pathlib import Path

from tui_ft.core.errors import UserError
from tui_ft.core.rundir import RunError

LOG_TAIL_LINES = 8
OOM_HINT = (
    "Lower batch_size (raise grad_accum to keep the effective batch), turn on "
    "gradient_checkpointing, shorten max_length, or switch to QLoRA; `tui-ft estimate` shows "
    "what fits."
)


def classify(err: BaseException, stage: str, log_path: Path | None = None) -> RunError:
    """`stage` is what the trainer was doing: "model", "dataset", "training" or "saving"."""
    if is_out_of_memory(err):
        where = "GPU" if "CUDA" in str(err) or type(err).__name__ == "OutOfMemoryError" else "CPU"
        return RunError("oom", f"the {where} ran out of memory while {_doing(stage)}.", OOM_HINT)
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return RunError(
            "disk",
            f"the disk is full ({err.filename or 'while writing'}).",
            "Free some space (old checkpoints under the runs home are large), then "
            "`tui-ft resume` the run.",
        )
    if isinstance(err, UserError):
        kind = stage if stage in ("model", "dataset") else "config"
        return RunError(kind, err.message, err.hint)
    return RunError(
        "internal",
        f"the trainer stopped with {type(err).__name__} while {_doing(stage)}: {_first_line(err)}",
        _log_hint(log_path),
    )


def is_out_of_memory(err: BaseException) -> bool:
    if isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError":
        return True
    text = str(err)
    return "out of memory" in text.lower() or "can't allocate memory" in text


def _doing(stage: str) -> str:
    return {
        "model": "loading the model",
        "dataset": "preparing the dataset",
        "training": "training",
        "saving": "saving",
    }.get(stage, stage)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else "(no message)"


def _log_hint(log_path: Path | None) -> str:
    if log_path is None or not log_path.exists():
        return "Re-run with the same config; if it happens again, report it with train.log."
    lines = log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    tail = "\n".join(f"  {line[:200]}" for line in lines)
    return f"The last lines of {log_path}:\n{tail}"
