"""Where a resumed trainer starts: the newest whole checkpoint (a damaged newer one is named in
train.log and skipped), and the records logged after it set aside, so that metrics.jsonl and
probes.jsonl stay one continuous history once the same steps are trained again."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from tui_ft.core.runs.layout import RunDir, checkpoint_step


def resume_point(run: RunDir) -> Path | None:
    """The checkpoint to resume from; None: from the beginning (there is none)."""
    checkpoint = run.last_good_checkpoint()
    for step, why in run.damaged_checkpoints().items():
        instead = checkpoint.name if checkpoint else "the beginning"
        print(
            f"tui-ft trainer: checkpoint-{step} is damaged ({why}); resuming from {instead}.",
            file=sys.stderr,
        )
    step = checkpoint_step(checkpoint) if checkpoint else 0
    for records in (run.metrics_path, run.probes_path):
        set_aside_after(records, step)
    return checkpoint


def set_aside_after(records: Path, step: int) -> None:
    """Keep the lines up to `step` (and none that does not parse: the torn last line of a
    killed writer); the whole file as it was is copied to `<name>.before-resume-<time>.jsonl`
    first, never deleted."""
    if not records.exists():
        return
    lines = records.read_text(encoding="utf-8", errors="replace").splitlines()
    kept = [line for line in lines if _step_of(line) <= step]
    stem = records.name.removesuffix(".jsonl")
    stamp = int(time.time())
    backup = records.with_name(f"{stem}.before-resume-{stamp}.jsonl")
    while backup.exists():  # two resumes within one second keep both
        stamp += 1
        backup = records.with_name(f"{stem}.before-resume-{stamp}.jsonl")
    shutil.copy2(records, backup)
    tmp = records.with_name(f".{records.name}.tmp")
    tmp.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    tmp.replace(records)


def _step_of(line: str) -> int:
    try:
        return int(json.loads(line).get("step", 0))
    except (ValueError, TypeError, AttributeError):
        return 1 << 62  # a half-written line from the crash: drop it
