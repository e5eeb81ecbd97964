"""The runs in the runs home, as `tui-ft runs` and the app list them, and the names of new ones.
A broken run is listed with a note, never raised. Pure Python."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tui_ft.core import paths
from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.errors import UserError
from tui_ft.core.runs.jsonl_tail import read_jsonl_tail
from tui_ft.core.runs.layout import RUN_YAML, RunDir, is_run_dir
from tui_ft.core.runs.liveness import effective, last_sign_of_life
from tui_ft.core.runs.metrics import as_number, as_rows
from tui_ft.core.runs.status import Status


@dataclass(frozen=True)
class RunSummary:
    name: str
    path: Path
    status: Status  # effective: a dead trainer shows as crashed
    model: str  # "" where run.yaml is missing or invalid
    method: str
    dataset: str
    progress: float | None  # 0..1, None when the total is not known yet
    age_s: float  # since the run's last sign of life
    note: str = ""  # why a run is shown incompletely (broken run.yaml, unreadable status)
    objective: str = ""
    start_from: str = ""  # the earlier run it began from


def list_runs(home: Path | None = None, now: float | None = None) -> list[RunSummary]:
    """Every run under the runs home: active first, then the most recently updated."""
    now = time.time() if now is None else now
    summaries = [summarize(run, now) for run in _run_dirs(home)]
    return sorted(summaries, key=lambda s: (not s.status.active, s.age_s, s.name))


def active_trainers(home: Path | None = None) -> dict[int, str]:
    """pid -> run name of the trainers running now, to say whose memory a GPU holds."""
    return {s.status.pid: s.name for s in list_runs(home) if s.status.active and s.status.pid}


def has_runs(home: Path | None = None) -> bool:
    """Whether the runs home holds any run, without reading one: the app's first question."""
    return next(_run_dirs(home), None) is not None


def _run_dirs(home: Path | None) -> Iterator[RunDir]:
    base = home or paths.runs_home()
    try:
        entries = sorted(base.iterdir())
    except OSError:  # no runs home yet, or an unreadable one
        return
    yield from (RunDir(entry) for entry in entries if is_run_dir(entry))


def summarize(run: RunDir, now: float | None = None) -> RunSummary:
    now = time.time() if now is None else now
    raw, status_note = run.read_status_noted()
    status = effective(run, raw, now)
    config, config_note = _read_config(run)
    max_steps = status.max_steps or (config.max_steps if config else None)
    return RunSummary(
        name=run.name,
        path=run.path,
        status=status,
        model=config.model if config else "",
        method=config.method if config else "",
        dataset=config.dataset if config else "",
        progress=_progress(status, max_steps),
        age_s=max(0.0, now - last_sign_of_life(run, raw)),
        note="; ".join(note for note in (config_note, status_note) if note),
        objective=config.objective if config else "",
        start_from=config.start_from if config else "",
    )


def last_loss(run: RunDir) -> float | None:
    """The latest training loss, reading only the end of metrics.jsonl."""
    for record in reversed(as_rows(read_jsonl_tail(run.metrics_path))):
        if (loss := as_number(record.get("loss"))) is not None:
            return loss
    return None


def _read_config(run: RunDir) -> tuple[RunConfig | None, str]:
    if not run.config_path.exists():
        return None, f"no {RUN_YAML}"
    try:
        return load_config(run.config_path), ""
    except UserError as err:
        problem = _first_line(err.message).removeprefix(f"{run.config_path}: ")
        return None, f"{RUN_YAML} is not valid: {problem}"


def _progress(status: Status, max_steps: int | None) -> float | None:
    if max_steps:
        return min(1.0, status.step / max_steps)
    return 1.0 if status.state == "completed" else None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def new_run_name(model: str, method: str, now: float | None = None) -> str:
    """'smollm2-135m-instruct-lora-20261129-0512': model, method, local time; always valid."""
    stamp = time.strftime("%Y%m%d-%H%M", time.localtime(now))
    parts = (_slug(_model_name(model), 60) or "model", _slug(method, 16), stamp)
    return "-".join(part for part in parts if part)


def _model_name(model: str) -> str:
    # Imported here: the model resolver's imports are not needed to list or stop runs.
    from tui_ft.core.models.resolve import DEMO_NAME, DEMO_REF

    ref = model.strip().rstrip("/\\")
    if ref == DEMO_REF:
        return DEMO_NAME
    path = Path(ref)
    if path.parent.name == "snapshots" and path.parent.parent.name.startswith("models--"):
        return path.parent.parent.name.rpartition("--")[2]  # an HF cache snapshot folder
    return path.stem if path.suffix.lower() == ".gguf" else path.name


def _slug(text: str, limit: int) -> str:
    slug = re.sub(r"[^a-z0-9._]+", "-", text.lower()).strip("-._")
    return slug[:limit].strip("-._")
