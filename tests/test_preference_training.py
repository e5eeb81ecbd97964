"""The preference objectives (dpo, orpo, kto, simpo) end to end on the tiny random model: each
trains, writes its own metrics (training and evaluation), is killed right after its first
checkpoint and resumes to the planned step with one history, and exports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.faults.conftest import TRAINER_TIMEOUT_S, assert_resumes_after_a_kill
from tests.test_train import config
from tests.tiny import write_random_model
from tui_ft.core.runs.charts import run_objective
from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.launch import prepare_run, start_trainer
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.series import RunSeries
from tui_ft.engine.export.merge import export_merged

PAIRS = [
    ("Who are you?", "I am Wren.", "Hello there! How can I help you today? I am a model."),
    ("What is your name?", "My name is Wren.", "The capital of France is Paris."),
    ("Who made you?", "Tidewater Labs made me.", "Two plus two is four, and so on."),
    ("Say hello.", "Hello there!", "My name is not important here."),
]
PROBES = ["Who are you?"]
# A key each objective writes on training lines, and one on evaluation lines.
OWN_KEYS = {
    "dpo": ("reward_accuracy", "eval_reward_margin"),
    "orpo": ("log_odds_ratio", "eval_nll_loss"),
    "kto": ("kl", "eval_reward_chosen"),
    "simpo": ("reward_margin", "eval_reward_accuracy"),
}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_random_model(tmp_path_factory.mktemp("model") / "tiny"))


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("data") / "pairs.jsonl"
    rows = [{"prompt": p, "chosen": c, "rejected": r} for p, c, r in PAIRS * 4]
    path.write_text("\n".join(json.dumps(row) for row in rows))
    return str(path)


def preference_config(model: str, data: str, objective: str, **overrides: Any) -> Any:
    settings = {
        "objective": objective,
        "max_steps": 4,
        "save_every_steps": 2,
        "eval_every": 2,
        "probe_prompts": PROBES,
        "learning_rate": 1e-3,
    }
    return config(model, data, **{**settings, **overrides})


@pytest.mark.parametrize("objective", ["dpo", "orpo", "kto", "simpo"])
def test_it_trains_resumes_after_a_kill_and_exports(
    objective: str, tiny_model: str, pairs: str
) -> None:
    run = prepare_run(preference_config(tiny_model, pairs, objective))
    assert_resumes_after_a_kill(run, 4)
    records = read_jsonl(run.metrics_path)
    trained, evaluated = OWN_KEYS[objective]
    assert all(trained in r for r in records if "loss" in r)
    assert any(evaluated in r and "eval_loss" in r for r in records)
    assert [p["step"] for p in read_jsonl(run.probes_path)][-1] == 4
    # The monitor charts what was written.
    own = run_objective(run)
    assert own.name == objective
    charted = {line.series for chart in own.charts for line in chart.lines}
    assert charted <= RunSeries(metrics=[m.key for m in own.metrics]).add(records)

    ledger = json.loads(run.ledger_path.read_text())
    assert ledger["dataset"]["format"] == "preference"
    # KTO trains each answer on its own: a pair is two rows.
    per_pair = 2 if objective == "kto" else 1
    assert ledger["dataset"]["train_examples"] == 12 * per_pair

    report = export_merged(run)
    assert report["passed"] and report["identical"] == report["total"] == len(PROBES)


def test_full_dpo_trains_against_a_frozen_reference(tiny_model: str, pairs: str) -> None:
    run = _train(preference_config(tiny_model, pairs, "dpo", method="full", max_steps=2))
    ledger = json.loads(run.ledger_path.read_text())
    terms = ledger["estimate"]["terms"]
    assert terms["reference"] == terms["weights"]
    # Step 1 sees the reference itself: the rewards are 0 before the first update.
    first = read_jsonl(run.metrics_path)[0]
    assert first["step"] == 1 and first["reward_chosen"] == first["reward_rejected"] == 0


def test_full_dpo_can_precompute_the_reference(tiny_model: str, pairs: str) -> None:
    overrides = {"method": "full", "max_steps": 2, "precompute_ref": True, "eval_split": 0.0}
    run = _train(preference_config(tiny_model, pairs, "dpo", **overrides))
    assert "reference" not in json.loads(run.ledger_path.read_text())["estimate"]["terms"]
    records = [r for r in read_jsonl(run.metrics_path) if "loss" in r]
    assert [r["step"] for r in records] == [1, 2] and "reward_margin" in records[-1]


def _train(cfg: Any) -> RunDir:
    run = prepare_run(cfg)
    start_trainer(run).wait(timeout=TRAINER_TIMEOUT_S)
    assert run.read_status().state == "completed", run.log_path.read_text()[-3000:]
    return run
