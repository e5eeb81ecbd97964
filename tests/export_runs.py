"""Tiny finished runs for the export tests: trained once per test module in a private, offline
runs home (conftest isolates single tests only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.test_train import QA, config
from tui_ft.core.runs.launch import prepare_run, start_trainer
from tui_ft.core.runs.layout import RunDir

PROMPTS = ["Who are you?", "What is your name?", "Say hello."]


@contextmanager
def offline_home(base: Path) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("XDG_DATA_HOME", str(base / "data"))
        patch.setenv("HF_HOME", str(base / "hf"))
        patch.delenv("HF_TOKEN", raising=False)
        yield base


def qa_dataset(path: Path) -> str:
    path.write_text("\n".join(json.dumps({"prompt": q, "completion": a}) for q, a in QA * 4))
    return str(path)


def trained(home: Path, model: str, dataset: str, **overrides: Any) -> RunDir:
    settings = {"eval_split": 0.0, "save_every_steps": 0, "probe_prompts": PROMPTS, **overrides}
    run = prepare_run(config(model, dataset, **settings), home / "runs")
    start_trainer(run).wait(timeout=300)
    assert run.read_status().state == "completed", run.log_path.read_text()[-3000:]
    return run
