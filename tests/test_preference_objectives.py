"""The preference objectives' light twins without a model: their settings load, validate with
sentences and round-trip; their memory needs; their charts; their alarms on fed records. And
their rows on the tiny tokenizer: pairs as TRL's conversational rows, KTO's unpaired rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_objective_plugins import write
from tests.tiny import make_tokenizer
from tui_ft.core.config import RunConfig, dump_config, load_config
from tui_ft.core.errors import UserError
from tui_ft.core.objectives import objective_named, objectives
from tui_ft.core.objectives.spec import MemoryNeeds
from tui_ft.core.runs.charts import charts_for
from tui_ft.core.runs.health import assess
from tui_ft.core.wizard.settings_fields import fields_for

PREFERENCE = ("dpo", "orpo", "kto", "simpo")


def test_they_are_registered_after_sft() -> None:
    names = list(objectives())
    assert names[0] == "sft" and set(PREFERENCE) <= set(names)
    for name in PREFERENCE:
        objective = objective_named(name)
        assert "preference" in objective.formats
        assert objective.setting("beta") is not None
    assert objective_named("kto").formats == ("unpaired_preference", "preference")


def test_dpo_defaults_mix_in_the_chosen_answers(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "model: demo\nobjective: dpo\n"))
    assert config.setting("beta") == 0.1 and config.setting("loss_type") == "sigmoid"
    assert config.setting("sft_weight") == 1.0 and config.setting("precompute_ref") is False
    text = "model: demo\nobjective: dpo\nloss_type: ipo\nsft_weight: 0\nbeta: 0.3\n"
    config = load_config(write(tmp_path, text))
    assert load_config(write(tmp_path, dump_config(config))) == config
    assert "objective: dpo\nloss_type: ipo\nsft_weight: 0.0\nbeta: 0.3\n" in dump_config(config)


def test_settings_that_cannot_run_are_sentences_at_their_line(tmp_path: Path) -> None:
    text = "model: demo\nobjective: dpo\nbeta: 0\nloss_type: sft\nsft_weight: -1\n"
    with pytest.raises(UserError) as caught:
        load_config(write(tmp_path, text))
    message = caught.value.message
    assert "line 3: beta must be above 0 (it is 0.0); 0.1 is usual" in message
    assert "line 4: loss_type must be one of sigmoid, ipo, hinge" in message
    assert "line 5: sft_weight must not be negative (it is -1.0)" in message

    text = "objective: simpo\ngamma: -0.5\n"
    with pytest.raises(UserError, match="line 2: gamma must not be negative"):
        load_config(write(tmp_path, text))
    text = "objective: kto\ndesirable_weight: 0\nundesirable_weight: many\n"
    with pytest.raises(UserError) as caught:
        load_config(write(tmp_path, text))
    assert "line 2: desirable_weight must be above 0" in caught.value.message
    assert "line 3: `undesirable_weight` must be a number, not 'many'" in caught.value.message


def test_a_key_of_other_objectives_names_them(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        load_config(write(tmp_path, "model: demo\nbeta: 0.2\ngamma: 1\n"))
    message = caught.value.message
    assert "`beta` is a setting of objectives dpo, grpo, kto, orpo and simpo; this run's" in message
    assert "`gamma` is a setting of objective simpo; this run's objective is sft." in message


def test_an_objective_accepts_only_its_formats(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="dataset_format must be one of auto, preference "):
        load_config(write(tmp_path, "objective: dpo\ndataset_format: alpaca\n"))
    config = load_config(write(tmp_path, "objective: kto\ndataset_format: unpaired_preference\n"))
    assert config.dataset_format == "unpaired_preference"


def test_their_settings_are_wizard_fields() -> None:
    fields = {field.key: field for field in fields_for(RunConfig(objective="dpo"))}
    assert fields["loss_type"].kind == "choice" and "ipo" in fields["loss_type"].choices
    assert fields["beta"].label == "Beta" and fields["precompute_ref"].kind == "bool"
    fields = {field.key: field for field in fields_for(RunConfig(objective="simpo"))}
    assert fields["gamma"].label == "Target margin"


def test_memory_needs() -> None:
    dpo = objective_named("dpo").memory
    assert dpo({}) == MemoryNeeds(sequences_per_row=2, reference_model=True)
    assert dpo({"precompute_ref": True}) == MemoryNeeds(sequences_per_row=2)
    for name in ("orpo", "simpo"):
        assert objective_named(name).memory({}) == MemoryNeeds(sequences_per_row=2)
    kto = objective_named("kto").memory
    assert kto({}) == MemoryNeeds(sequences_per_row=1, reference_model=True)


def test_their_charts_chart_their_metrics() -> None:
    for name in PREFERENCE:
        objective = objective_named(name)
        keys = {metric.key for metric in objective.metrics}
        charts = charts_for(objective)
        assert charts[0].name == "loss"
        for chart in objective.charts:
            assert {line.series for line in chart.lines} <= keys, (name, chart.name)
    assert [c.name for c in objective_named("dpo").charts] == [
        "loss",
        "rewards",
        "accuracy",
        "logps",
    ]
    # Every chart on a number key of the monitor (1-9).
    assert all(len(charts_for(objective_named(name))) <= 9 for name in PREFERENCE)
    assert "kl" in [c.name for c in objective_named("kto").charts]
    assert "odds" in [c.name for c in objective_named("orpo").charts]


def _records(**series: list[float]) -> list[dict[str, Any]]:
    length = len(next(iter(series.values())))
    return [
        {"step": i + 1, **{key: values[i] for key, values in series.items()}} for i in range(length)
    ]


def _alarms(objective: str, records: list[dict[str, Any]]) -> list[str]:
    return [
        alarm.kind for alarm in assess(records, rules=objective_named(objective).health_rules({}))
    ]


def test_accuracy_stuck_at_a_coin_toss_alarms() -> None:
    stuck = _records(loss=[0.69] * 12, reward_accuracy=[0.0, 0.5, 0.25, 0.75, 0.5, 0.5] * 2)
    (alarm,) = assess(stuck, rules=objective_named("dpo").health_rules({}))
    assert alarm.kind == "preference-stuck" and "since step 3" in alarm.message
    assert "learning rate" in alarm.hint
    learning = _records(loss=[0.5] * 12, reward_accuracy=[0.5] * 4 + [1.0] * 8)
    assert _alarms("dpo", learning) == []
    assert _alarms("dpo", stuck[:9]) == []  # not enough logs to tell


def test_margin_growing_while_the_chosen_answers_fall_alarms() -> None:
    unlearning = _records(
        loss=[0.6] * 8,
        reward_margin=[0.0, 0.1, 0.2, 0.5, 0.9, 1.4, 2.0, 2.6],
        logps_chosen=[-40.0, -41, -42, -45, -50, -55, -60, -66],
    )
    (alarm,) = assess(unlearning, rules=objective_named("dpo").health_rules({}))
    assert alarm.kind == "unlearning" and "fell from -41.0 to -60.3" in alarm.message
    assert "sft_weight" in alarm.hint
    healthy = _records(
        loss=[0.6] * 8,
        reward_margin=[0.0, 0.1, 0.2, 0.5, 0.9, 1.4, 2.0, 2.6],
        logps_chosen=[-40.0, -39, -37, -36, -35, -33, -31, -30],
    )
    assert _alarms("dpo", healthy) == []
    assert "unlearning" in _alarms("kto", unlearning)


def test_a_loss_near_zero_from_the_start_alarms() -> None:
    easy = _records(loss=[0.69, 0.2, 0.004, 0.001])
    (alarm,) = assess(easy, rules=objective_named("simpo").health_rules({}))
    assert alarm.kind == "preference-too-easy" and "at step 3" in alarm.message
    assert "Check the data" in alarm.hint
    late = _records(loss=[0.69] * 10 + [0.001])
    assert _alarms("dpo", late) == []
    assert _alarms("orpo", easy) == []  # its loss holds the chosen answers' NLL: never ~0


def test_pairs_become_conversational_rows(tmp_path: Path) -> None:
    from tui_ft.engine.train.data import LENGTH, TRAINED
    from tui_ft.engine.train.objectives import dpo

    path = tmp_path / "pairs.jsonl"
    row = {"system": "Be brief.", "prompt": "Who are you?", "chosen": "Wren.", "rejected": "A bot."}
    path.write_text(json.dumps(row) + "\n")
    config = RunConfig(dataset=str(path), objective="dpo", eval_split=0.0, max_length=64)
    data = dpo.build_data(config, make_tokenizer())
    (made,) = data.train_rows
    assert made["prompt"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Who are you?"},
    ]
    assert made["chosen"] == [{"role": "assistant", "content": "Wren."}]
    assert made["rejected"] == [{"role": "assistant", "content": "A bot."}]
    assert made[LENGTH] > made[TRAINED] > 0
    assert data.probe_prompts == [] and data.summary["train_examples"] == 1


def test_kto_takes_unpaired_rows_and_unpairs_pairs(tmp_path: Path) -> None:
    from tui_ft.engine.train.objectives import kto

    unpaired = tmp_path / "kto.jsonl"
    rows = [
        {"prompt": f"Question {i}?", "completion": f"Answer {i}.", "label": i % 2 == 0}
        for i in range(8)
    ]
    unpaired.write_text("\n".join(json.dumps(r) for r in rows))
    config = RunConfig(dataset=str(unpaired), objective="kto", eval_split=0.25, max_length=64)
    data = kto.build_data(config, make_tokenizer())
    assert len(data.train_rows) == 6 and len(data.eval_rows) == 2
    assert data.summary["format"] == "unpaired_preference"
    assert {r["completion"][0]["content"] for r in data.train_rows} < {
        f"Answer {i}." for i in range(8)
    }
    labels = {r["completion"][0]["content"]: r["label"] for r in data.train_rows}
    assert all(labels[f"Answer {i}."] == (i % 2 == 0) for i in range(8) if f"Answer {i}." in labels)
    again = kto.build_data(config, make_tokenizer())
    assert again.train_rows == data.train_rows  # shuffled once, by the seed

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"prompt": "Hi?", "chosen": "Hello.", "rejected": "Go away."}))
    config = RunConfig(dataset=str(pairs), objective="kto", eval_split=0.0, max_length=64)
    made = kto.build_data(config, make_tokenizer()).train_rows
    assert sorted((r["completion"][0]["content"], r["label"]) for r in made) == [
        ("Go away.", False),
        ("Hello.", True),
    ]


def test_kto_needs_two_rows_a_batch() -> None:
    from tui_ft.engine.train.objectives.preference import require_batch_of_two

    with pytest.raises(UserError, match="batch_size must be at least 2 for objective kto"):
        require_batch_of_two(RunConfig(objective="kto", batch_size=1), "its KL baseline")


def test_estimate_takes_the_objective(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_estimate import QWEN2_05B, estimate_cli

    model = tmp_path / "qwen" / "config.json"
    model.parent.mkdir()
    model.write_text(json.dumps(QWEN2_05B))
    args = ("--model", str(model), "--method", "full", "--gpu-memory", "80", "--json")
    terms = {}
    for objective in ("sft", "dpo"):
        code, out, _ = estimate_cli(capsys, *args, "--objective", objective)
        assert code == 0
        terms[objective] = json.loads(out)["terms"]
    assert "reference" not in terms["sft"] and terms["dpo"]["reference"] > 0
    assert terms["dpo"]["activations"] > terms["sft"]["activations"]
    code, _, err = estimate_cli(capsys, *args, "--objective", "ppo")
    assert code != 0 and "objective must be one of sft, dpo" in err
