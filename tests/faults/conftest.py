"""Shared by the fault-injection tests: a tiny model, a small dataset, one finished run that
tests copy instead of training their own, and the checks every case ends with."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_train import QA, config
from tests.tiny import write_random_model
from tui_ft.core.config import RunConfig, load_config, save_config
from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.launch import prepare_run, resume_run, start_trainer
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status

REPO = Path(__file__).resolve().parents[2]
TRAINER_TIMEOUT_S = 300  # a generous bound for a slow, shared CI machine, never a measurement


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_random_model(tmp_path_factory.mktemp("model") / "tiny"))


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("data") / "qa.jsonl"
    path.write_text("\n".join(json.dumps({"prompt": q, "completion": a}) for q, a in QA * 4))
    return str(path)


def fault_config(model: str, dataset: str, **overrides: Any) -> RunConfig:
    """No evaluation (the probes' generation is the slow part), a log line every step."""
    settings = {"eval_split": 0.0, "save_every_steps": 2, "max_steps": 6, "logging_steps": 1}
    return config(model, dataset, **{**settings, **overrides})


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory, tiny_model: str, dataset: str) -> Path:
    """Completed at step 6, with whole checkpoints 4 and 6. Copy it; never change it."""
    run = prepare_run(
        fault_config(tiny_model, dataset, name="finished"), tmp_path_factory.mktemp("runs")
    )
    assert start_trainer(run).wait(timeout=TRAINER_TIMEOUT_S) == 0
    assert run.read_status().state == "completed", run.log_path.read_text()[-3000:]
    assert sorted(run.complete_checkpoints()) == [4, 6]
    return run.path


def copy_run(source: Path, home: Path, name: str) -> RunDir:
    """A copy of a run under another name, as if it had been made there."""
    target = home / name
    shutil.copytree(source, target)
    run = RunDir(target)
    cfg = load_config(run.config_path)
    cfg.name = name
    save_config(cfg, run.config_path)
    return run


def stopped_at_4(source: Path, home: Path, name: str) -> RunDir:
    """The finished run as a stop at step 4 leaves it: checkpoint-4, no output, `stopped`."""
    run = copy_run(source, home, name)
    shutil.rmtree(run.checkpoints_dir / "checkpoint-6")
    shutil.rmtree(run.output_dir)
    run.write_status(Status("stopped", step=4, max_steps=6))
    return run


def run_injected(fault: str, run: RunDir, *, resume: bool = False) -> int:
    """A real trainer process with `fault` injected (tests/faults/inject.py)."""
    command = [sys.executable, "-m", "tests.faults.inject", fault, str(run.path)]
    with run.log_path.open("ab") as log:
        return subprocess.run(
            [*command, *(["--resume"] if resume else [])],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=TRAINER_TIMEOUT_S,
        ).returncode


def training_steps(run: RunDir) -> list[int]:
    return [r["step"] for r in read_jsonl(run.metrics_path) if "loss" in r]


def assert_one_history(run: RunDir, planned: int) -> None:
    """The run ended at its planned step with every step logged once, in order, and every
    line of metrics.jsonl whole."""
    status = run.read_status()
    assert status.state == "completed", run.log_path.read_text()[-3000:]
    assert status.step == status.max_steps == planned
    assert training_steps(run) == list(range(1, planned + 1))
    lines = run.metrics_path.read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    assert (run.output_dir / "adapter_model.safetensors").is_file()


def assert_resumes_after_a_kill(run: RunDir, planned: int) -> None:
    """Killed right after its first checkpoint (step 2), the run resumes to its planned step
    with one history."""
    assert run_injected("sigkill-after-save", run) == -9, run.log_path.read_text()[-3000:]
    assert run.last_good_checkpoint() == run.checkpoints_dir / "checkpoint-2"
    assert resume_run(run).wait(timeout=TRAINER_TIMEOUT_S) == 0
    assert_one_history(run, planned)
