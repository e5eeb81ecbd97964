"""One run's directory: the contract between a trainer process and everyone who watches it
(the UI, `tui-ft runs`, `stop`, `resume`, the chat). Its paths, and reading and writing its
files; see docs/run-directory.md.

The trainer writes; readers only read. Whether the trainer is still alive is `liveness`'s
question; the list of runs is `listing`'s. Pure Python.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tui_ft.core import paths
from tui_ft.core.errors import UserError
from tui_ft.core.runs import checkpoints as checkpoint_check
from tui_ft.core.runs.checkpoints import COMPLETE_MARKER
from tui_ft.core.runs.jsonl_tail import read_jsonl_tail
from tui_ft.core.runs.ledger import Ledger
from tui_ft.core.runs.metrics import MetricsRow, as_rows
from tui_ft.core.runs.status import Status, finite_number

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.11

RUN_YAML = "run.yaml"
STATUS_JSON = "status.json"
METRICS_JSONL = "metrics.jsonl"
PROBES_JSONL = "probes.jsonl"
COMPLETIONS_JSONL = "completions.jsonl"
LEDGER_JSON = "ledger.json"
TRAIN_LOG = "train.log"
CHECKPOINTS = "checkpoints"
OUTPUT = "output"
_CHECKPOINT = re.compile(r"checkpoint-(\d+)")
RUN_NAME_MAX = 100  # as paths.run_dir allows


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
    def completions_path(self) -> Path:
        return self.path / COMPLETIONS_JSONL

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
        if is_run_dir(path):
            return cls(path)
        if is_run_dir(Path(text)):  # a run folder in the current directory
            return cls(Path(text).resolve())
        raise _not_found(f"there is no run named {text!r} in {base}.", text, base)

    @classmethod
    def _open_path(cls, path: Path, base: Path) -> RunDir:
        folder = path.parent if path.is_file() else path
        if is_run_dir(folder):
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
        return self.read_status_noted()[0]

    def read_status_noted(self) -> tuple[Status, str]:
        """The status as `read_status` gives it, and why status.json could not be read ("")."""
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
            records = as_rows(read_jsonl_tail(self.metrics_path))
            step = max((int(n) for r in records if (n := finite_number(r.get("step")))), default=0)
            note = f"{problem}; its output/ is complete" if problem else ""
            return Status("completed", step=step, max_steps=step or None), note
        final = self.read_ledger().get("final_state") if problem else None
        if final == "stopped":
            return Status("stopped"), f"{problem}; its ledger says it was stopped"
        return Status("queued"), problem

    # --- append-only records -----------------------------------------------------------------

    def append_metrics(self, record: MetricsRow | Mapping[str, object]) -> None:
        """A row with the keys every objective writes, or with an objective's own keys too."""
        _append_json_line(self.metrics_path, record)

    def append_probe(self, record: Mapping[str, object]) -> None:
        _append_json_line(self.probes_path, record)

    def write_completions(self, records: Sequence[Mapping[str, object]]) -> None:
        """Replace completions.jsonl with the latest step's sampled completions, whole."""
        lines = "".join(_json_line(record) for record in records)
        _write_text_atomic(self.completions_path, lines)

    # --- ledger ------------------------------------------------------------------------------

    def write_ledger(self, ledger: Ledger) -> None:
        _write_json_atomic(self.ledger_path, ledger)

    def read_ledger(self) -> Ledger:
        """{} while there is none (or it is unreadable): the ledger is informative, not vital.
        Its fields are taken at the trainer's word; a reader checks the one it uses."""
        try:
            data = json.loads(self.ledger_path.read_bytes())
        except (OSError, ValueError):
            return {}
        return cast(Ledger, data) if isinstance(data, dict) else {}

    def update_ledger(self, **fields: Unpack[Ledger]) -> None:
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


def _numbered(name: str) -> Iterator[str]:
    yield name
    for number in range(2, 10_000):
        suffix = f"-{number}"
        yield name[: RUN_NAME_MAX - len(suffix)] + suffix


def is_run_dir(path: Path) -> bool:
    """A folder with a run.yaml or a status.json, not hidden: a run to open or list."""
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
        names = sorted(entry.name for entry in base.iterdir() if is_run_dir(entry))
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


def _write_json_atomic(path: Path, data: Mapping[str, object]) -> None:
    _write_text_atomic(
        path, json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable) + "\n"
    )


def _write_text_atomic(path: Path, text: str) -> None:
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
            handle.write(text)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise _write_error(err, path) from None
        raise


def _append_json_line(path: Path, record: Mapping[str, object]) -> None:
    """One write of one whole line in append mode: concurrent readers see it complete or not
    at all (JsonlTail keeps a half-written tail for later)."""
    line = _json_line(record)
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
    except OSError as err:
        raise _write_error(err, path) from None


def _json_line(record: Mapping[str, object]) -> str:
    return json.dumps(record, ensure_ascii=False, default=_jsonable) + "\n"


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
