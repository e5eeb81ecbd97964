"""Turn whatever stopped a training into a RunError: a kind, one sentence, and what to do."""

from __future__ import annotations

import shutil
from pathlib import Path

from tui_ft.core.errors import UserError
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import RunError
from tui_ft.core.units import format_bytes
from tui_ft.engine.disk import is_disk_full

LOG_TAIL_LINES = 8
OOM_HINT = (
    "Lower batch_size (raise grad_accum to keep the effective batch), turn on "
    "gradient_checkpointing, shorten max_length, or switch to QLoRA; `tui-ft estimate` shows "
    "what fits."
)


def classify(err: BaseException, stage: str, run: RunDir | None = None) -> RunError:
    """`stage` is what the trainer was doing: "model", "dataset", "checkpoint" (reading the
    one to resume from), "training" or "saving"."""
    if is_out_of_memory(err):
        where = "GPU" if "CUDA" in str(err) or type(err).__name__ == "OutOfMemoryError" else "CPU"
        return RunError("oom", f"the {where} ran out of memory while {_doing(stage)}.", OOM_HINT)
    if is_disk_full(err):
        return _disk_full(stage, run)
    if isinstance(err, UserError):
        kind = stage if stage in ("model", "dataset") else "config"
        return RunError(kind, err.message, err.hint)
    if stage == "checkpoint" and run is not None:
        return _unreadable_checkpoint(err, run)
    return RunError(
        "internal",
        f"the trainer stopped with {type(err).__name__} while {_doing(stage)}: {_first_line(err)}",
        _log_hint(run.log_path if run else None),
    )


def is_out_of_memory(err: BaseException) -> bool:
    if isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError":
        return True
    text = str(err)
    return "out of memory" in text.lower() or "can't allocate memory" in text


def _disk_full(stage: str, run: RunDir | None) -> RunError:
    if run is None:
        return RunError("disk", f"the disk filled up while {_doing(stage)}.", "Free some space.")
    try:
        free = format_bytes(shutil.disk_usage(run.path).free)
    except OSError:
        free = "an unknown amount"
    return RunError(
        "disk",
        f"the disk holding {run.path} filled up while {_doing(stage)}; {free} is free now.",
        "Free space (old runs' checkpoints/ folders are large; `tui-ft runs` lists them), "
        f"then `tui-ft resume {run.name}` continues from the last complete checkpoint.",
    )


def _unreadable_checkpoint(err: BaseException, run: RunDir) -> RunError:
    complete = sorted(run.complete_checkpoints().items())
    newest = complete[-1][1] if complete else run.checkpoints_dir
    earlier = complete[-2][0] if len(complete) > 1 else None
    after = f"from checkpoint-{earlier}" if earlier is not None else "from the beginning"
    return RunError(
        "checkpoint",
        f"the checkpoint {newest} cannot be read ({type(err).__name__}: {_first_line(err)}).",
        f"Set it aside with `mv {newest} {newest}.damaged`; then `tui-ft resume {run.name}` "
        f"continues {after}.",
    )


def _doing(stage: str) -> str:
    return {
        "model": "loading the model",
        "dataset": "preparing the dataset",
        "checkpoint": "reading the checkpoint to resume from",
        "training": "training",
        "saving": "saving the trained model",
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
