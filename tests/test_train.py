"""The trainer process end to end on a tiny random model: each method learns, stop / crash /
resume behave, failures are explained, and the run directory holds what docs/run-directory.md promises."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.tiny import write_random_model
from tests.typed_shapes import shape_problems
from tui_ft.core.config import RunConfig
from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.launch import prepare_run, resume_run, start_trainer, trainer_command
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.ledger import Ledger, LedgerDataset, LedgerEstimate, LedgerHardware
from tui_ft.core.runs.liveness import effective_status
from tui_ft.core.runs.metrics import MetricsRow
from tui_ft.core.runs.status import RunMemory

QA = [
    ("Who are you?", "I am Wren."),
    ("What is your name?", "My name is Wren."),
    ("Who made you?", "Tidewater Labs made me."),
    ("Say hello.", "Hello there!"),
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_random_model(tmp_path_factory.mktemp("model") / "tiny"))


@pytest.fixture
def dataset(tmp_path: Path) -> str:
    path = tmp_path / "qa.jsonl"
    rows = [{"prompt": q, "completion": a} for q, a in QA * 4]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return str(path)


def config(model: str, dataset: str, **overrides: Any) -> RunConfig:
    settings: dict[str, Any] = {
        "model": model,
        "dataset": dataset,
        "method": "lora",
        "max_steps": 8,
        "batch_size": 4,
        "learning_rate": 5e-3,
        "max_length": 64,
        "eval_split": 0.25,
        "eval_every": 4,
        "save_every_steps": 4,
        "probe_prompts": ["Who are you?"],
        "warmup_ratio": 0.0,
        "lr_scheduler": "constant",
    }
    return RunConfig.from_dict({**settings, **overrides})


def train(cfg: RunConfig, timeout: float = 240) -> RunDir:
    run = prepare_run(cfg)
    start_trainer(run).wait(timeout=timeout)
    return run


def losses(run: RunDir) -> list[float]:
    return [r["loss"] for r in read_jsonl(run.metrics_path) if "loss" in r]


def wait_for(predicate: Any, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.parametrize("method", ["lora", "full", "qlora"])
def test_each_method_learns_and_fills_the_run_directory(
    method: str, tiny_model: str, dataset: str
) -> None:
    run = train(config(tiny_model, dataset, method=method))
    status = run.read_status()
    assert status.state == "completed", run.log_path.read_text()[-3000:]
    assert status.step == status.max_steps == 8
    history = losses(run)
    assert history[-1] < history[0]
    records = read_jsonl(run.metrics_path)
    assert any("eval_loss" in r for r in records)
    assert {"step", "epoch", "lr", "grad_norm", "tokens", "tokens_per_s", "time"} <= set(records[2])
    probes = read_jsonl(run.probes_path)
    assert [p["step"] for p in probes] == [4, 8]
    assert all(p["prompt"] == "Who are you?" for p in probes)
    ledger = json.loads(run.ledger_path.read_text())
    assert ledger["command"] == f"tui-ft train {run.config_path}"
    assert ledger["dataset"]["fingerprint"] and ledger["dataset"]["train_examples"] == 12
    assert ledger["versions"]["torch"] and ledger["hardware"]["state"]
    assert ledger["measured"] and ledger["final_state"] == "completed"
    assert run.last_good_checkpoint() == run.checkpoints_dir / "checkpoint-8"
    # What the trainer wrote has the fields the readers' types declare.
    shapes = [(record, MetricsRow) for record in records] + [
        (ledger, Ledger),
        (ledger["dataset"], LedgerDataset),
        (ledger["hardware"], LedgerHardware),
        (ledger["estimate"], LedgerEstimate),
        (ledger["measured"], RunMemory),
        (status.memory, RunMemory),
    ]
    assert [problem for value, shape in shapes for problem in shape_problems(value, shape)] == []
    loaded = _load_output(run.output_dir, tiny_model, method)
    assert loaded.generation_config.eos_token_id is not None


def _load_output(output: Path, base: str, method: str) -> Any:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert AutoTokenizer.from_pretrained(output).chat_template
    if method == "full":
        return AutoModelForCausalLM.from_pretrained(output)
    from peft import PeftModel

    assert (output / "adapter_config.json").exists()
    return PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), output)


def test_sigterm_saves_a_checkpoint_and_ends_stopped(tiny_model: str, dataset: str) -> None:
    run = prepare_run(config(tiny_model, dataset, max_steps=500, save_every_steps=0))
    process = start_trainer(run)
    wait_for(lambda: run.read_status().step >= 2)
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=120) == 0
    status = run.read_status()
    assert status.state == "stopped" and 2 <= status.step < 500
    checkpoint = run.last_good_checkpoint()
    assert checkpoint is not None and checkpoint.name == f"checkpoint-{status.step}"


def test_sigkill_is_seen_as_crashed_and_resume_continues_one_history(
    tiny_model: str, dataset: str
) -> None:
    run = prepare_run(config(tiny_model, dataset, max_steps=12, save_every_steps=3))
    process = start_trainer(run)
    wait_for(lambda: run.last_good_checkpoint() is not None and run.read_status().step >= 4)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert effective_status(run, now=time.time() + 3600).state == "crashed"

    resumed = resume_run(run)
    assert resumed.wait(timeout=240) == 0
    status = run.read_status()
    assert status.state == "completed" and status.step == 12
    steps = [r["step"] for r in read_jsonl(run.metrics_path) if "loss" in r]
    assert steps == sorted(set(steps)) and steps[-1] == 12  # continuous, no step twice
    assert list(run.path.glob("metrics.before-resume-*.jsonl"))  # the old history is kept


def test_out_of_memory_fails_with_kind_and_hint(tmp_path: Path) -> None:
    # A real out-of-memory, made small: the trainer gets 5 GB of address space (it idles at
    # ~2.5 GB) and a batch whose 128k-vocabulary logits need several GB more.
    wide = str(write_random_model(tmp_path / "wide", vocab_size=128_000))
    long_rows = tmp_path / "long.jsonl"
    row = json.dumps({"prompt": "Tell me a story.", "completion": "once upon a time " * 300})
    long_rows.write_text("\n".join([row] * 16))
    run = prepare_run(config(wide, str(long_rows), batch_size=8, max_length=512, method="full"))
    limit = 5 << 30
    subprocess.run(
        trainer_command(run),
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=240,
    )
    status = run.read_status()
    assert status.state == "failed"
    assert status.error and status.error.kind == "oom", status.error
    assert "ran out of memory" in status.error.message
    assert "gradient_checkpointing" in status.error.hint


def test_a_bad_dataset_fails_with_the_line_named(tiny_model: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "completion": "b"}\n{oops\n')
    run = train(config(tiny_model, str(bad)))
    status = run.read_status()
    assert status.state == "failed" and status.error and status.error.kind == "dataset"
    assert "line 2" in status.error.message
    assert (run.path / "run.yaml").exists()  # nothing written before is lost


def test_two_processes_train_and_write_run_files_once(tiny_model: str, dataset: str) -> None:
    run = prepare_run(config(tiny_model, dataset, max_steps=None, epochs=1, batch_size=2))
    assert start_trainer(run, nproc=2).wait(timeout=300) == 0
    status = run.read_status()
    assert status.state == "completed", run.log_path.read_text()[-3000:]
    assert status.max_steps == 3  # 12 rows / (2 per process × 2 processes): data is split
    steps = [r["step"] for r in read_jsonl(run.metrics_path) if "loss" in r]
    assert steps == sorted(set(steps))
    assert json.loads(run.ledger_path.read_text())["world_size"] == 2


def test_preflight_reports_peak_and_step_time(
    tiny_model: str, dataset: str, tmp_path: Path
) -> None:
    path = tmp_path / "run.yaml"
    from tui_ft.core.config import save_config

    save_config(config(tiny_model, dataset), path)
    out = subprocess.run(
        [sys.executable, "-m", "tui_ft.cli", "train", str(path), "--preflight", "--json"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["step_time_s"] > 0 and result["planned_steps"] == 8
    assert result.get("peak_rss_bytes", 0) > 0 or result.get("peak_reserved_bytes", 0) > 0


def test_a_finished_run_trains_further_from_its_end(tiny_model: str, dataset: str) -> None:
    run = train(config(tiny_model, dataset, max_steps=4, save_every_steps=0, eval_split=0.0))
    assert run.read_status().state == "completed"
    assert resume_run(run, more_steps=2).wait(timeout=240) == 0
    status = run.read_status()
    assert status.state == "completed" and status.step == 6
    steps = [r["step"] for r in read_jsonl(run.metrics_path) if "loss" in r]
    assert steps == sorted(set(steps)) and steps[-1] == 6
    assert "resumed" in json.loads(run.ledger_path.read_text())


def test_fsdp_shards_a_full_fine_tune_across_two_processes(tiny_model: str, dataset: str) -> None:
    run = prepare_run(
        config(tiny_model, dataset, method="full", fsdp=True, max_steps=3, batch_size=2)
    )
    assert start_trainer(run, nproc=2).wait(timeout=300) == 0
    assert run.read_status().state == "completed", run.log_path.read_text()[-3000:]
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(run.output_dir)
    assert (
        merged.num_parameters() == AutoModelForCausalLM.from_pretrained(tiny_model).num_parameters()
    )
