"""lm-eval's own tasks whose data are already in the local Hugging Face cache: what the Evaluate
screen offers beside the built-in suite. Read from lm-eval's task files as text (the UI process
never imports lm-eval, which imports the model libraries), and only when some dataset is cached
at all."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import yaml

from tui_ft.core.evals.tasks import task_yaml
from tui_ft.core.models.hf_cache import hub_cache_dir


def lm_eval_tasks_dir() -> Path | None:
    """lm-eval's folder of task files, found without importing it."""
    try:
        spec = importlib.util.find_spec("lm_eval")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "tasks"
    return folder if folder.is_dir() else None


def cached_datasets() -> set[str]:
    """Repo ids of the datasets in the hub cache (datasets--org--name)."""
    try:
        entries = list(hub_cache_dir().glob("datasets--*"))
    except OSError:
        return set()
    return {e.name.removeprefix("datasets--").replace("--", "/") for e in entries if e.is_dir()}


def cached_hub_tasks(tasks_dir: Path | None = None) -> list[str]:
    """Names of lm-eval tasks (single tasks, not groups) whose dataset is cached here."""
    cached = cached_datasets()
    folder = tasks_dir if tasks_dir is not None else lm_eval_tasks_dir()
    if not cached or folder is None:
        return []
    found = set()
    for path in folder.rglob("*.yaml"):
        config = _read(path)
        name, dataset = config.get("task"), _dataset_path(config, path)
        if isinstance(name, str) and dataset in cached:
            found.add(name)
    return sorted(found)


def _dataset_path(config: dict[str, Any], path: Path) -> object:
    """`dataset_path`, from the file or the one it includes (lm-eval's shared templates)."""
    if "dataset_path" in config:
        return config["dataset_path"]
    include = config.get("include")
    if isinstance(include, str):
        return _read(path.parent / include).get("dataset_path")
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        return task_yaml(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
