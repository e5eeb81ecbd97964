"""The run directory: the contract between a trainer process and everyone who watches it
(the UI, `tui-ft runs`, `stop`, `resume`, the chat). See docs/run-directory.md.

The trainer writes; readers only read, and never trust a state blindly: an active state whose
heartbeat went stale and whose process is gone is reported as `crashed` (`effective_status`),
without rewriting anything on disk.

Pure Python: the UI lists and watches runs with this.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import math
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tui_ft.core import paths
from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.errors import UserError
from tui_ft.core.runs import checkpoints as checkpoint_check
from tui_ft.core.runs.checkpoints import COMPLETE_MARKER
from tui_ft.core.runs.jsonl_tail import read_jsonl_tail

STATES = (
    "queued",
    "loading",
    "training",
    "evaluating",
    "saving",
    "completed",
    "stopped",
    "failed",
    "crashed",
)
ACTIVE_STATES = frozenset({"queued", "loading", "training", "evaluating", "saving"})
ERROR_KINDS = (
    "oom",
    "dataset",
    "model",
    "disk",
    "config",
    "checkpoint",
    "interrupted",
    "internal",
)

HEARTBEAT_INTERVAL_S = 5.0  # the trainer refreshes `updated` at least this often
HEARTBEAT_STALE_S = 60.0  # silent this long, with its process gone: crashed
# Another machine's pid cannot be checked, and clocks drift: only a long silence counts there.
OTHER_HOST_STALE_S = 600.0
# A process created this long after the last heartbeat cannot have written it: a reused pid.
PID_REUSE_SLACK_S = 2.0

RUN_YAML = "run.yaml"
STATUS_JSON = "status.json"
METRICS_JSONL = "metrics.jsonl"
PROBES_JSONL = "probes.jsonl"
LEDGER_JSON = "ledger.json"
TRAIN_LOG = "train.log"
CHECKPOINTS = "checkpoints"
OUTPUT = "output"
_CHECKPOINT = re.compile(r"checkpoint-(\d+)")
RUN_NAME_MAX = 100  # as paths.run_dir allows


@dataclass(frozen=True)
class RunError:
    kind: str  # one of ERROR_KINDS
    message: str  # one sentence
    hint: str = ""  # what to do next

    @classmethod
    def from_value(cls, value: Any) -> RunError | None:
        if isinstance(value, dict) and value.get("message"):
            return cls(
                kind=str(value.get("kind") or "internal"),
                message=str(value["message"]),
                hint=str(value.get("hint") or ""),
            )
        if isinstance(value, str) and value:
            return cls("internal", value)
        return None


@dataclass(frozen=True)
class Status:
    state: str
    pid: int | None = None
    host: str = ""
    started: float = 0.0
    updated: float = 0.0  # the heartbeat (time.time() of the writer)
    step: int = 0
    max_steps: int | None = None
    epoch: float = 0.0
    eta_s: float | None = None
    error: RunError | None = None
    # estimate_bytes, then peak_reserved_bytes and peak_allocated_bytes, or peak_rss_bytes
    memory: dict[str, Any] = field(default_factory=dict)
    # Keys this version does not know, kept so that they survive a read-modify-write.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def to_dict(self) -> dict[str, Any]:
        known = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del known["extra"]
        known["error"] = dataclasses.asdict(self.error) if self.error else None
        known["memory"] = dict(self.memory)
        return {**self.extra, **known}

    @classmethod
    def from_dict(cls, data: Any) -> Status:
        """Tolerant: a missing or mistyped field takes its default."""
        data = data if isinstance(data, dict) else {}
        state = data.get("state")
        return cls(
            state=state if isinstance(state, str) and state else "queued",
            pid=_positive_int(data.get("pid")),
            host=str(data.get("host") or ""),
            started=_number(data.get("started")) or 0.0,
            updated=_number(data.get("updated")) or 0.0,
            step=int(_number(data.get("step")) or 0),
            max_steps=_positive_int(data.get("max_steps")),
            epoch=_number(data.get("epoch")) or 0.0,
            eta_s=_number(data.get("eta_s")),
            error=RunError.from_value(data.get("error")),
            memory=dict(data["memory"]) if isinstance(data.get("memory"), dict) else {},
            extra={k: v for k, v in data.items() if k not in _STATUS_FIELDS},
        )


_STATUS_FIELDS = frozenset(f.name for f in dataclasses.fields(Status))


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


class RunDir:
    """One run's directory, existing or about to be created. Paths follow docs/run-directory.md exactly."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config_path(self) -> Path:
        return self.path / RUN_YAML

    @property
    def status_path(self) -> Path:
        return self.path / STATUS_JSON

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_JSONL

    @property
    def probes_path(self) -> Path:
        return self.path / PROBES_JSONL

    @property
    def ledger_path(self) -> Path:
        return self.path / LEDGER_JSON

    @property
    def log_path(self) -> Path:
        return self.path / TRAIN_LOG

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def output_dir(self) -> Path:
        return self.path / OUTPUT

    # --- finding and making runs -----------------------------------------------------------

    @classmethod
    def create(cls, name: str, home: Path | None = None) -> RunDir:
        """A new, empty run directory. A taken name gets -2, -3 ...: two launches in the same
        minute never share a directory (mkdir is the lock)."""
        base = home or paths.runs_home()
        paths.run_dir(name, base)  # refuse a bad name before touching the disk
        paths.ensure_writable_dir(base, "the runs home", paths.RUNS_HOME_FIX)
        for candidate in _numbered(name):
            path = paths.run_dir(candidate, base)
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return cls(path)
        raise UserError(f"every variant of the run name {name!r} is taken in {base}.")

    @classmethod
    def open(cls, name_or_path: str, home: Path | None = None) -> RunDir:
        """A run by name (in the runs home), or by the path of its folder or of its run.yaml."""
        base = home or paths.runs_home()
        text = str(name_or_path).strip()
        if _looks_like_path(text):
            return cls._open_path(Path(text).expanduser(), base)
        path = paths.run_dir(text, base)
        if _is_run_dir(path):
            return cls(path)
        if _is_run_dir(Path(text)):  # a run folder in the current directory
            return cls(Path(text).resolve())
        raise _not_found(f"there is no run named {text!r} in {base}.", text, base)

    @classmethod
    def _open_path(cls, path: Path, base: Path) -> RunDir:
        folder = path.parent if path.is_file() else path
        if _is_run_dir(folder):
            return cls(folder.resolve())
        if folder.is_dir():
            raise UserError(
                f"{folder} is not a run directory: it has neither {RUN_YAML} nor {STATUS_JSON}.",
                "Give a run name from `tui-ft runs`, or the folder that holds its run.yaml.",
            )
        raise _not_found(f"there is no run at {path}.", path.name, base)

    # --- status ------------------------------------------------------------------------------

    def write_status(self, status: Status) -> None:
        """Atomic: readers see the old file or the new one, never half of one."""
        _write_json_atomic(self.status_path, status.to_dict())

    def read_status(self) -> Status:
        """As written; a run with no (readable) status.json yet is `queued`."""
        return self._read_status_noted()[0]

    def effective_status(self, now: float | None = None) -> Status:
        """The status a person should see: an active run whose trainer is gone is `crashed`."""
        return self._effective(self.read_status(), time.time() if now is None else now)

    def _read_status_noted(self) -> tuple[Status, str]:
        try:
            raw = self.status_path.read_bytes()
        except FileNotFoundError:
            return self._status_without_file("")
        except OSError as err:
            return self._status_without_file(f"cannot read {STATUS_JSON}: {err.strerror or err}")
        try:
            data = json.loads(raw)
        except ValueError:  # half-written by a non-atomic writer, or damaged
            return self._status_without_file(f"{STATUS_JSON} is not valid JSON")
        if not isinstance(data, dict):
            return self._status_without_file(f"{STATUS_JSON} does not hold an object")
        return Status.from_dict(data), ""

    def _status_without_file(self, problem: str) -> tuple[Status, str]:
        """No readable status.json: what the other files prove. output/ exists only once the
        run completed (it is renamed into place whole); the ledger records how a trainer
        ended. Otherwise `queued`, which crash detection turns into `crashed` once quiet."""
        if self.output_dir.is_dir():
            records = read_jsonl_tail(self.metrics_path)
            step = max((int(n) for r in records if (n := _number(r.get("step")))), default=0)
            note = f"{problem}; its output/ is complete" if problem else ""
            return Status("completed", step=step, max_steps=step or None), note
        final = self.read_ledger().get("final_state") if problem else None
        if final == "stopped":
            return Status("stopped"), f"{problem}; its ledger says it was stopped"
        return Status("queued"), problem

    def _effective(self, status: Status, now: float) -> Status:
        if not status.active:
            return status
        heartbeat = self._last_sign_of_life(status)
        silent_for = now - heartbeat
        if is_this_host(status.host):
            if silent_for <= HEARTBEAT_STALE_S or _trainer_alive(status.pid, heartbeat):
                return status
        elif silent_for <= OTHER_HOST_STALE_S:
            return status
        return dataclasses.replace(
            status, state="crashed", error=self._interrupted(status, silent_for)
        )

    def _last_sign_of_life(self, status: Status) -> float:
        """The heartbeat; before the first one, when the run's files were last written."""
        if status.updated or status.started:
            return max(status.updated, status.started)
        for path in (self.status_path, self.config_path, self.path):
            with contextlib.suppress(OSError):
                return path.stat().st_mtime
        return 0.0

    def _interrupted(self, status: Status, silent_for: float) -> RunError:
        quiet = format_age(silent_for)
        if status.pid is None:
            message = f"the trainer never reported a process; the run has been quiet for {quiet}."
        elif is_this_host(status.host):
            message = (
                f"the trainer (process {status.pid}) ended without recording why; "
                f"its last heartbeat was {quiet} ago, at step {status.step}."
            )
        else:
            message = f"the trainer on {status.host} has not reported for {quiet}."
        hint = (
            f"`tui-ft resume {self.name}` continues from its last checkpoint; "
            f"{self.log_path} holds its last output."
        )
        return RunError("interrupted", message, hint)

    # --- append-only records -----------------------------------------------------------------

    def append_metrics(self, record: dict[str, Any]) -> None:
        _append_json_line(self.metrics_path, record)

    def append_probe(self, record: dict[str, Any]) -> None:
        _append_json_line(self.probes_path, record)

    # --- ledger ------------------------------------------------------------------------------

    def write_ledger(self, ledger: dict[str, Any]) -> None:
        _write_json_atomic(self.ledger_path, ledger)

    def read_ledger(self) -> dict[str, Any]:
        """{} while there is none (or it is unreadable): the ledger is informative, not vital."""
        try:
            data = json.loads(self.ledger_path.read_bytes())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def update_ledger(self, **fields: Any) -> None:
        """Read-modify-write: meant for one writer (the trainer's rank 0)."""
        self.write_ledger({**self.read_ledger(), **fields})

    # --- checkpoints -------------------------------------------------------------------------

    def last_good_checkpoint(self) -> Path | None:
        """The newest checkpoint-N whose save finished and whose files are all there."""
        complete = self.complete_checkpoints()
        return complete[max(complete)] if complete else None

    def complete_checkpoints(self) -> dict[int, Path]:
        """Every whole checkpoint-N, by step N."""
        return {
            step: path
            for step, path in self._checkpoints().items()
            if checkpoint_check.problem(path) is None
        }

    def damaged_checkpoints(self) -> dict[int, str]:
        """Checkpoints whose save finished but whose files changed since, newer than the last
        whole one, by step: what is wrong with each (a resume skips them)."""
        good = max(self.complete_checkpoints(), default=-1)
        found = {}
        for step, path in self._checkpoints().items():
            if step > good and (path / COMPLETE_MARKER).exists():
                found[step] = checkpoint_check.problem(path) or ""
        return {step: why for step, why in sorted(found.items()) if why}

    def _checkpoints(self) -> dict[int, Path]:
        try:
            entries = list(self.checkpoints_dir.iterdir())
        except OSError:
            return {}
        return {
            int(match[1]): entry
            for entry in entries
            if (match := _CHECKPOINT.fullmatch(entry.name)) and entry.is_dir()
        }


def checkpoint_step(checkpoint: Path) -> int:
    """N of a checkpoint-N folder."""
    match = _CHECKPOINT.fullmatch(checkpoint.name)
    if match is None:
        raise ValueError(f"{checkpoint} is not a checkpoint-N folder")
    return int(match[1])


# --- processes ---------------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine and is not a zombie (a killed child whose
    parent has not reaped it still answers os.kill, but will never write again)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user's process
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:  # ZombieProcess included
        return False
    except psutil.AccessDenied:
        return True


def is_this_host(host: str) -> bool:
    """A status without a host was written by a trainer on this machine (nothing else writes)."""
    return not host or host == socket.gethostname()


def _trainer_alive(pid: int | None, heartbeat: float) -> bool:
    return pid is not None and pid_alive(pid) and not _created_after(pid, heartbeat)


def _created_after(pid: int, moment: float) -> bool:
    """After a reboot the trainer's pid may belong to another program: one that started after
    the trainer's last heartbeat is not the trainer."""
    try:
        return psutil.Process(pid).create_time() > moment + PID_REUSE_SLACK_S
    except psutil.Error:
        return False


# --- the list of runs --------------------------------------------------------------------------


def list_runs(home: Path | None = None, now: float | None = None) -> list[RunSummary]:
    """Every run under the runs home: active first, then the most recently updated. A broken
    run is listed with a note, never raised."""
    now = time.time() if now is None else now
    summaries = [summarize(run, now) for run in _run_dirs(home)]
    return sorted(summaries, key=lambda s: (not s.status.active, s.age_s, s.name))


def has_runs(home: Path | None = None) -> bool:
    """Whether the runs home holds any run, without reading one: the app's first question."""
    return next(_run_dirs(home), None) is not None


def _run_dirs(home: Path | None) -> Iterator[RunDir]:
    base = home or paths.runs_home()
    try:
        entries = sorted(base.iterdir())
    except OSError:  # no runs home yet, or an unreadable one
        return
    yield from (RunDir(entry) for entry in entries if _is_run_dir(entry))


def summarize(run: RunDir, now: float | None = None) -> RunSummary:
    now = time.time() if now is None else now
    raw, status_note = run._read_status_noted()
    status = run._effective(raw, now)
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
        age_s=max(0.0, now - run._last_sign_of_life(raw)),
        note="; ".join(note for note in (config_note, status_note) if note),
    )


def last_loss(run: RunDir) -> float | None:
    """The latest training loss, reading only the end of metrics.jsonl."""
    for record in reversed(read_jsonl_tail(run.metrics_path)):
        if (loss := as_number(record.get("loss"))) is not None:
            return loss
    return None


def as_number(value: Any) -> float | None:
    """A metric as a float; a diverged one (NaN, or the string "nan" the trainer writes) stays
    NaN, and anything else that is not a number is None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
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


# --- names -------------------------------------------------------------------------------------


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


def _numbered(name: str) -> Iterator[str]:
    yield name
    for number in range(2, 10_000):
        suffix = f"-{number}"
        yield name[: RUN_NAME_MAX - len(suffix)] + suffix


def format_age(seconds: float) -> str:
    """'12 s', '3 min', '2 h', '4 days': how long ago, for people."""
    seconds = max(0.0, seconds)
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {'day' if unit == 'days' and count == 1 else unit}"
    return f"{int(seconds)} s"


# --- files -------------------------------------------------------------------------------------


def _is_run_dir(path: Path) -> bool:
    if path.name.startswith("."):
        return False
    try:
        return path.is_dir() and ((path / RUN_YAML).is_file() or (path / STATUS_JSON).is_file())
    except OSError:  # unreadable (lost+found and the like): not ours to list
        return False


def _looks_like_path(text: str) -> bool:
    return (
        "/" in text
        or os.sep in text
        or text.startswith("~")
        or text in (".", "..")
        or text.endswith((".yaml", ".yml", ".json"))
    )


def _not_found(message: str, typed: str, base: Path) -> UserError:
    try:
        names = sorted(entry.name for entry in base.iterdir() if _is_run_dir(entry))
    except OSError:
        names = []
    near = [n for n in names if n.startswith(typed)] or difflib.get_close_matches(typed, names)
    if near:
        hint = f"Did you mean {', '.join(near[:3])}? `tui-ft runs` lists them all."
    elif names:
        hint = f"`tui-ft runs` lists the {len(names)} runs in {base}."
    else:
        hint = "There are no runs there yet; start one with `tui-ft`."
    return UserError(message, hint)


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Temp file in the same directory, then os.replace. The temp name is unique, so the
    heartbeat thread and the training loop can both write. No fsync: a reader never sees a
    partial file either way, and a heartbeat must not stall a training step on a slow disk."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _write_error(err, path) from None
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide the run from a colleague's UI
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False, default=_jsonable)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise _write_error(err, path) from None
        raise


def _append_json_line(path: Path, record: dict[str, Any]) -> None:
    """One write of one whole line in append mode: concurrent readers see it complete or not
    at all (JsonlTail keeps a half-written tail for later)."""
    line = json.dumps(record, ensure_ascii=False, default=_jsonable) + "\n"
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
    except OSError as err:
        raise _write_error(err, path) from None


def _write_error(err: OSError, path: Path) -> UserError:
    """A run file that cannot be written (a full disk, a read-only runs home) as a sentence."""
    return paths.disk_error(
        err,
        path,
        f"the run's {path.name}",
        "Free space or fix the folder's permissions, then retry.",
    )


def _jsonable(value: Any) -> Any:
    """numpy and torch scalars (anything with .item()), sets, and the rest (paths) as text."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _positive_int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number >= 1 else None
