"""`start_from`: a run begins from an earlier run's output. Which runs can be started from (by
sentences), and on the tiny model the SFT → DPO chain: the adapter trains further against the
SFT model as its reference, the ledger and the runs list show the lineage, and it exports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.export_runs import offline_home, qa_dataset
from tests.faults.conftest import TRAINER_TIMEOUT_S
from tests.test_preference_training import PAIRS, preference_config
from tests.test_train import config
from tests.tiny import write_random_model
from tui_ft.core.config import RunConfig, load_config, save_config
from tui_ft.core.errors import UserError
from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.launch import prepare_run, start_trainer
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.lineage import (
    CONTINUE_ADAPTER,
    LOAD_WEIGHTS,
    MERGE_ADAPTER,
    start_point,
)
from tui_ft.core.runs.listing import list_runs
from tui_ft.core.runs.status import Status
from tui_ft.core.runs.text import method_text


def fake_run(home: Path, name: str, state: str = "completed", **settings: Any) -> RunDir:
    """A run directory as a finished trainer leaves it, without training."""
    run = RunDir.create(name, home)
    save_config(RunConfig(name=run.name, **settings), run.config_path)
    run.write_status(Status(state=state, step=4, max_steps=4))
    if state == "completed":
        run.output_dir.mkdir()
    return run


def test_which_runs_can_be_started_from(tmp_path: Path) -> None:
    fake_run(tmp_path, "sft-lora", method="lora")
    fake_run(tmp_path, "sft-full", method="full")
    fake_run(tmp_path, "half", state="stopped", method="lora")
    fake_run(tmp_path, "other", method="lora", model="org/other")

    def how(**settings: Any) -> str:
        point = start_point(RunConfig(**settings), tmp_path)
        assert point is not None
        return point.how

    assert start_point(RunConfig(), tmp_path) is None
    assert how(start_from="sft-lora", objective="dpo") == CONTINUE_ADAPTER
    assert how(start_from="sft-lora", method="qlora") == CONTINUE_ADAPTER
    assert how(start_from="sft-lora", method="full") == MERGE_ADAPTER
    assert how(start_from="sft-full", method="full") == LOAD_WEIGHTS

    refusals = {
        "missing": "start_from names the run 'missing', which is not in the runs home",
        "half": "start_from names the run 'half', which is stopped, not completed",
        "other": "start_from names the run 'other', trained from model org/other; this run's "
        "model is demo.",
        "sft-full": "start_from names the full fine-tuning run 'sft-full'; an adapter (lora)",
        "../x": "start_from: '../x' is not a valid run name.",
    }
    for name, sentence in refusals.items():
        with pytest.raises(UserError) as caught:
            start_point(RunConfig(start_from=name), tmp_path)
        assert caught.value.message.startswith(sentence), caught.value.message
    assert "tui-ft resume half" in _hint(RunConfig(start_from="half"), tmp_path)

    problems = RunConfig(name="me", start_from="me").validate()
    assert "start_from names this run itself ('me'); name an earlier run." in problems
    with pytest.raises(UserError, match="not in the runs home"):
        prepare_run(RunConfig(start_from="missing"), tmp_path)


def _hint(cfg: RunConfig, home: Path) -> str:
    with pytest.raises(UserError) as caught:
        start_point(cfg, home)
    return caught.value.hint


def test_run_yaml_writes_start_from_only_when_set() -> None:
    assert "start_from" not in RunConfig().to_dict()
    assert RunConfig(start_from="sft-1").to_dict()["start_from"] == "sft-1"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with offline_home(tmp_path_factory.mktemp("lineage-home")) as base:
        yield base


@pytest.fixture(scope="module")
def tiny_model(home: Path) -> str:
    return str(write_random_model(home / "tiny"))


@pytest.fixture(scope="module")
def pairs(home: Path) -> str:
    path = home / "pairs.jsonl"
    rows = [{"prompt": p, "chosen": c, "rejected": r} for p, c, r in PAIRS * 4]
    path.write_text("\n".join(json.dumps(row) for row in rows))
    return str(path)


@pytest.fixture(scope="module")
def sft_run(home: Path, tiny_model: str) -> RunDir:
    settings = {"name": "sft", "eval_split": 0.0, "save_every_steps": 0, "lora": {"rank": 4}}
    cfg = config(tiny_model, qa_dataset(home / "qa.jsonl"), **settings)
    return _train(cfg, home)


def _train(cfg: RunConfig, home: Path) -> RunDir:
    run = prepare_run(cfg, home / "runs")
    start_trainer(run).wait(timeout=TRAINER_TIMEOUT_S)
    assert run.read_status().state == "completed", run.log_path.read_text()[-3000:]
    return run


def test_dpo_continues_the_sft_adapter_against_it(
    home: Path, tiny_model: str, pairs: str, sft_run: RunDir
) -> None:
    from tui_ft.engine.export.merge import export_merged

    overrides = {"name": "dpo", "start_from": "sft", "max_steps": 2, "eval_split": 0.0}
    run = _train(preference_config(tiny_model, pairs, "dpo", **overrides), home)
    assert (
        load_config(run.config_path).lora.rank == 4
    )  # the SFT adapter's shape, written in run.yaml
    ledger = json.loads(run.ledger_path.read_text())
    assert ledger["objective"] == "dpo"
    assert ledger["start_from"] == {
        "run": "sft",
        "objective": "sft",
        "method": "lora",
        "output": str(sft_run.output_dir),
        "how": CONTINUE_ADAPTER,
    }
    # The reference is the SFT model, not the base: at step 1 the policy is the reference.
    first = read_jsonl(run.metrics_path)[0]
    assert first["step"] == 1 and first["reward_chosen"] == first["reward_rejected"] == 0
    adapter = json.loads((run.output_dir / "adapter_config.json").read_text())
    assert adapter["r"] == 4

    (listed,) = [s for s in list_runs(home / "runs") if s.name == "dpo"]
    assert method_text(listed) == "lora dpo ← sft"
    assert export_merged(run)["passed"]


def test_a_full_run_merges_the_sft_adapter_and_keeps_it_as_reference(
    home: Path, tiny_model: str, pairs: str, sft_run: RunDir
) -> None:
    overrides = {"start_from": "sft", "method": "full", "max_steps": 1, "eval_split": 0.0}
    run = _train(preference_config(tiny_model, pairs, "dpo", **overrides), home)
    assert json.loads(run.ledger_path.read_text())["start_from"]["how"] == MERGE_ADAPTER
    first = read_jsonl(run.metrics_path)[0]
    assert first["reward_chosen"] == first["reward_rejected"] == 0
    assert (run.output_dir / "config.json").is_file()


def test_a_qlora_run_continues_the_sft_adapter_on_the_4_bit_base(
    home: Path, tiny_model: str, pairs: str, sft_run: RunDir
) -> None:
    overrides = {"start_from": "sft", "method": "qlora", "max_steps": 1, "eval_split": 0.0}
    run = _train(preference_config(tiny_model, pairs, "dpo", **overrides), home)
    assert json.loads(run.ledger_path.read_text())["start_from"]["how"] == CONTINUE_ADAPTER
    # TRL keeps the trained adapter in bf16 on a 4-bit base: the reference (its fp32 copy)
    # differs by rounding only, far from what the base alone would give.
    first = read_jsonl(run.metrics_path)[0]
    assert abs(first["reward_chosen"]) < 1e-3 and abs(first["reward_rejected"]) < 1e-3
    assert (run.output_dir / "adapter_config.json").is_file()
