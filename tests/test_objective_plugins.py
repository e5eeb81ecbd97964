"""An objective that lives only in the tests (tests/objectives/tiny_sft.py and its trainer twin)
plugs in through $TUI_FT_OBJECTIVES and validates, estimates, trains, charts and alarms without
any file of the package naming it: the walkthrough of docs/architecture.md, followed."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from tests.test_estimate import GPU, HAND
from tests.tiny import write_random_model
from tui_ft.core.config import RunConfig, dump_config, load_config
from tui_ft.core.errors import UserError
from tui_ft.core.estimate.peak import estimate_training
from tui_ft.core.objectives import objective_named, objectives
from tui_ft.core.objectives.spec import MemoryNeeds
from tui_ft.core.runs.charts import charts_for, run_objective
from tui_ft.core.runs.health import assess
from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.launch import prepare_run, start_trainer
from tui_ft.core.runs.series import RunSeries
from tui_ft.core.wizard.settings_fields import (
    field_value,
    fields_for,
    problems_by_field,
    with_value,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def tiny_sft(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUI_FT_OBJECTIVES", "tests.objectives.tiny_sft")
    # The trainer process imports the trainer twin from the tests folder.
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), path) if p))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_it_is_registered_beside_sft() -> None:
    names = list(objectives())
    assert names[0] == "sft" and "tiny_sft" in names


def test_its_settings_load_validate_and_round_trip(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "model: demo\nobjective: tiny_sft\nsft_loss: dft\n"))
    assert config.setting("sft_loss") == "dft"
    assert config.setting("clip") == 1.0  # its default
    again = load_config(write(tmp_path, dump_config(config)))
    assert again == config
    assert "objective: tiny_sft\nsft_loss: dft\n" in dump_config(config)

    bad = "model: demo\nobjective: tiny_sft\nsft_loss: mse\nclip: 0\ndataset_format: alpaca\n"
    with pytest.raises(UserError) as caught:
        load_config(write(tmp_path, bad))
    message = caught.value.message
    assert "line 3: sft_loss must be one of nll, dft (it is 'mse')." in message
    assert "line 4: clip must be above 0 (it is 0.0)" in message
    assert "line 5: dataset_format must be one of auto, prompt_completion, messages" in message

    with pytest.raises(UserError, match="line 2: `clip` must be a number, not 'tight'"):
        load_config(write(tmp_path, "objective: tiny_sft\nclip: tight\n"))
    with pytest.raises(UserError, match="`clip` is a setting of objective tiny_sft; this run's"):
        load_config(write(tmp_path, "model: demo\nclip: 2\n"))


def test_its_settings_are_wizard_fields() -> None:
    config = RunConfig(objective="tiny_sft")
    fields = {field.key: field for field in fields_for(config)}
    assert fields["sft_loss"].kind == "choice" and fields["sft_loss"].choices == ("nll", "dft")
    assert fields["clip"].label == "Gradient clip"
    changed = with_value(config, "clip", -1.0)
    assert field_value(changed, "clip") == -1.0 and field_value(config, "clip") == 1.0
    mine, _ = problems_by_field(changed)
    assert mine["clip"].startswith("clip must be above 0")


def test_its_memory_needs_reach_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_ft.core.estimate import peak

    def terms(config: RunConfig) -> dict[str, int]:
        return {term.key: term.bytes for term in estimate_training(HAND, config, GPU).terms}

    config = RunConfig(objective="tiny_sft", method="full", max_length=256)
    one = terms(config)
    tiny = objective_named("tiny_sft")
    pairs = dataclasses.replace(tiny, memory=lambda _: MemoryNeeds(sequences_per_row=2))
    monkeypatch.setattr(peak, "objective_named", lambda _: pairs)
    assert terms(config)["activations"] > one["activations"]
    frozen = dataclasses.replace(tiny, memory=lambda _: MemoryNeeds(reference_model=True))
    monkeypatch.setattr(peak, "objective_named", lambda _: frozen)
    with_reference = terms(config)
    assert with_reference["reference"] == with_reference["weights"]
    assert "reference" not in terms(dataclasses.replace(config, method="lora"))


def test_it_trains_writes_its_metrics_and_charts_them(tmp_path: Path) -> None:
    model = write_random_model(tmp_path / "model")
    data = tmp_path / "qa.jsonl"
    rows = [{"prompt": "Who are you?", "completion": "I am Wren."}] * 12
    data.write_text("\n".join(json.dumps(r) for r in rows))
    config = RunConfig.from_dict(
        {
            "model": str(model),
            "dataset": str(data),
            "objective": "tiny_sft",
            "sft_loss": "dft",
            "clip": 0.5,
            "max_steps": 4,
            "batch_size": 4,
            "max_length": 32,
            "eval_split": 0.25,
            "eval_every": 2,
            "save_every_steps": 0,
            "probe_prompts": ["Who are you?"],
        }
    )
    run = prepare_run(config)
    start_trainer(run).wait(timeout=240)
    assert run.read_status().state == "completed", run.log_path.read_text()[-3000:]
    records = read_jsonl(run.metrics_path)
    accuracies = [r["token_accuracy"] for r in records if "token_accuracy" in r]
    assert len(accuracies) == 4 and all(0 <= a <= 1 for a in accuracies)

    objective = run_objective(run)
    assert objective.name == "tiny_sft"
    assert [c.name for c in charts_for(objective)][:3] == ["loss", "accuracy", "lr"]
    series = RunSeries(metrics=[m.key for m in objective.metrics])
    assert "token_accuracy" in series.add(records)


def test_its_health_rule_joins_the_common_ones() -> None:
    records = [{"step": s, "loss": 1.0, "token_accuracy": 0.0} for s in range(1, 5)]
    rules = objective_named("tiny_sft").health_rules({})
    (alarm,) = assess(records, rules=rules)
    assert alarm.kind == "accuracy-stuck" and "since step 1" in alarm.message
    assert assess(records) == []  # not a common rule


def test_no_objective_setting_shadows_a_common_key() -> None:
    common = {f.name for f in dataclasses.fields(RunConfig)}
    assert not {s.key for o in objectives().values() for s in o.settings} & common
