"""No network without a reason: the processes that load the model libraries get
HF_HUB_OFFLINE=1 unless a model or dataset must come from the hub (see core.child_env)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tui_ft.core.children.env import child_env, needs_hub, offline_here
from tui_ft.core.config import RunConfig
from tui_ft.core.models.hf_cache import hub_cache_dir
from tui_ft.core.runs import launch


@pytest.fixture(autouse=True)
def online_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user set nothing (the suite's conftest sets HF_HUB_OFFLINE=1 for every test)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def local_model(tmp_path: Path) -> str:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "qwen2"}')
    (folder / "model.safetensors").write_bytes(b"")
    return str(folder)


def local_dataset(tmp_path: Path) -> str:
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "hello"}\n')
    return str(path)


def cache_model(repo_id: str, *, weights: bool = True) -> None:
    repo = hub_cache_dir() / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    if weights:
        (snapshot / "model.safetensors").write_bytes(b"")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")


def cache_dataset(repo_id: str) -> None:
    repo = hub_cache_dir() / ("datasets--" + repo_id.replace("/", "--"))
    (repo / "snapshots" / "abc123").mkdir(parents=True)


def test_local_model_and_dataset_run_offline(tmp_path: Path) -> None:
    env = child_env([local_model(tmp_path)], [local_dataset(tmp_path)])
    assert env["HF_HUB_OFFLINE"] == "1"


def test_cached_hub_model_and_dataset_run_offline() -> None:
    cache_model("org/cached")
    cache_dataset("org/data")
    assert not needs_hub(["org/cached"], ["org/data", "org/data:validation"])
    assert child_env(["org/cached"], ["org/data"])["HF_HUB_OFFLINE"] == "1"


@pytest.mark.parametrize(
    ("models", "datasets"),
    [(["org/missing"], []), (["org/config-only"], []), ([], ["org/missing-data"])],
)
def test_a_hub_id_missing_from_the_cache_may_go_online(
    models: list[str], datasets: list[str]
) -> None:
    cache_model("org/config-only", weights=False)
    assert needs_hub(models, datasets)
    assert "HF_HUB_OFFLINE" not in child_env(models, datasets)


def test_the_users_own_setting_and_an_asked_download_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = local_model(tmp_path)
    assert "HF_HUB_OFFLINE" not in child_env([model], download=True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert child_env([model])["HF_HUB_OFFLINE"] == "0"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert child_env(["org/missing"])["HF_HUB_OFFLINE"] == "1"


def test_offline_here_sets_this_process(tmp_path: Path) -> None:
    offline_here([local_model(tmp_path)], [local_dataset(tmp_path)])
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_offline_here_leaves_a_needed_download_online() -> None:
    offline_here(["org/missing"])
    assert "HF_HUB_OFFLINE" not in os.environ


def test_the_trainer_gets_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    started = SimpleNamespace(pid=os.getpid())  # what the launcher records as the trainer

    def popen(argv: list[str], **kwargs: Any) -> SimpleNamespace:
        seen.update(kwargs)
        return started

    monkeypatch.setattr(subprocess, "Popen", popen)
    config = RunConfig(model=local_model(tmp_path), dataset=local_dataset(tmp_path))
    run = launch.prepare_run(config)
    assert launch.start_trainer(run) is started
    assert seen["env"]["HF_HUB_OFFLINE"] == "1"
    assert seen["env"]["PYTHONUNBUFFERED"] == "1"


DNS_PROBE = Path(__file__).parent / "fixtures" / "dns_probe"  # a sitecustomize logging look-ups


@pytest.mark.slow  # a real trainer process: ~30 s on 2 shared cores
def test_a_local_run_makes_no_dns_look_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The trainer imports peft, whose bitsandbytes asks the hub for kernels at import on CPUs
    with AVX512-BF16: observed as a DNS look-up of huggingface.co when HF_HUB_OFFLINE is unset.
    Every look-up of the run's processes is logged (and refused) by the probe."""
    from tests.test_train import config
    from tests.tiny import write_random_model
    from tui_ft.core.runs.jsonl_tail import read_jsonl

    log = tmp_path / "dns.log"
    monkeypatch.setenv("DNS_LOG", str(log))
    root = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(DNS_PROBE), str(root)]))
    model = str(write_random_model(tmp_path / "tiny"))
    data = tmp_path / "qa.jsonl"
    data.write_text('{"prompt": "Who are you?", "completion": "I am Wren."}\n' * 8)
    run = launch.prepare_run(config(model, str(data), max_steps=1, eval_split=0.0))
    assert launch.start_trainer(run).wait(timeout=600) == 0
    assert [r for r in read_jsonl(run.metrics_path) if "loss" in r]  # it trained
    assert not log.exists(), log.read_text()
