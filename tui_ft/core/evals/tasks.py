"""What `--tasks` names: lm-eval task names, lm-eval YAML task files, and `forgetting`, the
built-in offline suite (tui_ft/data/forgetting/, one YAML file and its data per task)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tui_ft.core import paths
from tui_ft.core.errors import UserError

SUITE = "forgetting"
SUITE_DIR = paths.DATA_DIR / "forgetting"
TASK_FILE_SUFFIXES = (".yaml", ".yml")
_TASK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


@dataclass(frozen=True)
class TaskSpec:
    """One task: a name lm-eval knows (`file` None), or a task file of lm-eval's YAML."""

    name: str  # the name typed, or the file's stem until the harness reads its `task:`
    file: Path | None = None

    @property
    def label(self) -> str:
        return str(self.file) if self.file is not None else self.name


def suite_files() -> list[Path]:
    return sorted(SUITE_DIR.glob("*.yaml"))


def parse_tasks(text: str) -> list[TaskSpec]:
    """`T[,T…]` as typed: each a task name, a task file, or `forgetting`; in order, each once."""
    specs: list[TaskSpec] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        for spec in _expand(item):
            if spec not in specs:
                specs.append(spec)
    if not specs:
        raise UserError(
            "no task named: --tasks needs at least one.",
            f"Try `--tasks {SUITE}` (the built-in offline suite), an lm-eval task name, or a "
            "task file (.yaml).",
        )
    return specs


def _expand(item: str) -> list[TaskSpec]:
    if item == SUITE:
        return [TaskSpec(f.stem, f) for f in suite_files()]
    path = Path(item).expanduser()
    if path.suffix in TASK_FILE_SUFFIXES or "/" in item or path.is_file():
        if not path.is_file():
            raise UserError(
                f"the task file {item} does not exist.",
                "Check the path; a task file is lm-eval's YAML (docs/evaluate.md has an example).",
            )
        return [TaskSpec(path.stem, path.resolve())]
    if not _TASK_NAME.fullmatch(item):
        raise UserError(
            f"{item!r} is not a task name lm-eval could know, nor a task file.",
            "Task names are letters, digits, `_`, `-` and `.` (e.g. arc_easy); files end in .yaml.",
        )
    return [TaskSpec(item)]


def task_name(spec: TaskSpec) -> str:
    """The name lm-eval knows the task by: a file's `task:` key, else the name typed."""
    if spec.file is None:
        return spec.name
    try:
        config = task_yaml(spec.file)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(
            f"the task file {spec.file} cannot be read: {first}",
            "It must be lm-eval's YAML task format (docs/evaluate.md has an example).",
        ) from None
    name = config.get("task")
    if not isinstance(name, str) or not name:
        raise UserError(
            f"the task file {spec.file} names no `task:`.",
            "Add `task: a_name` at its top (docs/evaluate.md has an example).",
        )
    return name


class _TagsAsText(yaml.SafeLoader):
    """Reads lm-eval's `!function utils.x` and other tags as plain text: names and paths are
    all tui-ft reads from a task file (lm-eval itself reads the rest)."""


_TagsAsText.add_multi_constructor("!", lambda loader, suffix, node: str(getattr(node, "value", "")))


def task_yaml(path: Path) -> dict[str, Any]:
    """A task file's keys ({} when it holds no mapping). Raises OSError, UnicodeDecodeError or
    yaml.YAMLError."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_TagsAsText)
    return data if isinstance(data, dict) else {}
