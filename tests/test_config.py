"""RunConfig: YAML round trip, and every mistake becomes a sentence naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_ft.core.config import RunConfig, all_keys, load_config, save_config
from tui_ft.core.errors import UserError

REQUIRED_KEYS = [
    "name",
    "model",
    "method",
    "dataset",
    "dataset_format",
    "max_length",
    "epochs",
    "max_steps",
    "learning_rate",
    "batch_size",
    "grad_accum",
    "warmup_ratio",
    "lr_scheduler",
    "seed",
    "eval_split",
    "gradient_checkpointing",
    "packing",
    "optimizer",
    "precision",
    "lora.rank",
    "lora.alpha",
    "lora.dropout",
    "lora.targets",
    "lora.dora",
    "qlora.quant_type",
    "qlora.double_quant",
    "save_every_steps",
    "system_prompt",
]


def test_every_documented_key_exists() -> None:
    assert set(REQUIRED_KEYS) <= set(all_keys())


def test_defaults_are_valid_and_sensible() -> None:
    config = RunConfig()
    assert config.validate() == []
    assert (config.method, config.lora.targets, config.qlora.quant_type) == (
        "lora",
        "all-linear",
        "nf4",
    )
    assert config.dataset_format == "auto" and config.precision == "auto"


def test_yaml_round_trip(tmp_path: Path) -> None:
    config = RunConfig(name="r1", method="qlora", max_steps=10, system_prompt="Be brief.")
    config.lora.targets = ["q_proj", "v_proj"]
    save_config(config, tmp_path / "run.yaml")
    assert load_config(tmp_path / "run.yaml") == config


def test_partial_yaml_takes_defaults_and_parses_exponent_floats(tmp_path: Path) -> None:
    # pyyaml reads `2e-5` as a string; a person writes it that way all the time.
    (tmp_path / "run.yaml").write_text("method: full\nlearning_rate: 2e-5\nlora:\n  rank: 8\n")
    config = load_config(tmp_path / "run.yaml")
    assert config.learning_rate == 2e-5
    assert config.lora.rank == 8 and config.lora.alpha == RunConfig().lora.alpha


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"learnig_rate": 1e-4}, "unknown key `learnig_rate`; did you mean `learning_rate`?"),
        ({"lora": {"rnak": 8}}, "unknown key `lora.rnak`; did you mean `lora.rank`?"),
        ({"method": "qlroa"}, "method must be one of full, lora, qlora (it is 'qlroa')"),
        ({"learning_rate": 0}, "learning_rate must be > 0"),
        ({"batch_size": "four"}, "`batch_size` must be a whole number, not 'four'"),
        ({"packing": "yes"}, "`packing` must be true or false"),
        ({"eval_split": 0.9}, "eval_split must be at least 0 and below 0.5"),
        ({"lora": [1, 2]}, "`lora` must be a mapping of keys to values, not a list"),
        ({"max_steps": 0}, "max_steps must be at least 1"),
        ({"method": "qlora", "precision": "fp32"}, "QLoRA computes in 16-bit"),
        ({"precision": "int3"}, "precision must be one of auto, bf16, fp16, fp32"),
    ],
)
def test_each_mistake_is_a_sentence_naming_the_key(data: dict, expected: str) -> None:
    with pytest.raises(UserError) as err:
        RunConfig.from_dict(data, source="run.yaml")
    assert expected in err.value.message
    assert err.value.message.startswith("run.yaml")


def test_all_problems_are_reported_together() -> None:
    with pytest.raises(UserError) as err:
        RunConfig.from_dict({"epochs": -1, "batch_size": 0, "bogus": 1})
    assert "has 3 problems" in err.value.message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text("- just\n- a list\n")
    with pytest.raises(UserError, match="top level must be a mapping"):
        load_config(tmp_path / "run.yaml")


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text("model: demo\nmethod: [lora\n")
    with pytest.raises(UserError, match=r"run.yaml line \d"):
        load_config(tmp_path / "run.yaml")


def test_missing_file_is_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no config file"):
        load_config(tmp_path / "nope.yaml")


def test_the_configuration_doc_lists_every_key() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    assert [key for key in all_keys() if f"| `{key}` |" not in doc] == []


@pytest.mark.parametrize("text", ["", "# only a comment\n", "{}\n", "---\n"])
def test_an_empty_run_yaml_is_refused_not_a_default_run(tmp_path: Path, text: str) -> None:
    (tmp_path / "run.yaml").write_text(text)
    with pytest.raises(UserError) as err:
        load_config(tmp_path / "run.yaml")
    assert "is empty; the smallest run.yaml is `model: demo` and `dataset: demo`" in str(err.value)
    assert str(tmp_path / "run.yaml") in err.value.message


def test_problems_name_the_line_of_their_key(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(
        "model: demo\nlora:\n  rank: 0\nlearnig_rate: 1\nmethod: qlora\nprecision: fp32\n"
    )
    with pytest.raises(UserError) as err:
        load_config(tmp_path / "run.yaml")
    assert "  - line 4: unknown key `learnig_rate`" in err.value.message
    assert "  - line 3: lora.rank must be at least 1" in err.value.message
    assert "QLoRA computes in 16-bit" in err.value.message.splitlines()[-1]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("model: demo\nwhen: 2024-13-01\n", "line 2: cannot read '2024-13-01'"),
        ("model: demo\nlearning_rate: .nan\n", "line 2: `learning_rate` must be a number"),
        ("epochs: 1e999\n", "line 1: `epochs` must be a number"),
        ("model: demo\nx: \x01\n", "line 2: special characters are not allowed"),
        ("model: " + "[" * 1200 + "\n", "line 1: lists or mappings nest too deeply"),
        ("seed: " + "1" * 5000 + "\n", "line 1: cannot read"),
    ],
    ids=["date", "nan", "inf", "control", "nesting", "digits"],
)
def test_values_yaml_cannot_build_are_sentences_at_their_line(
    tmp_path: Path, text: str, says: str
) -> None:
    (tmp_path / "run.yaml").write_text(text)
    with pytest.raises(UserError) as err:
        load_config(tmp_path / "run.yaml")
    assert says in err.value.message


def test_a_folder_or_non_utf8_file_is_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"cannot read .*: Is a directory"):
        load_config(tmp_path)
    (tmp_path / "run.yaml").write_bytes(b"model: demo\nname: caf\xe9\n")
    with pytest.raises(UserError, match=r"run.yaml line 2: not UTF-8 text \(the byte 0xe9\)"):
        load_config(tmp_path / "run.yaml")


def test_the_old_names_of_renamed_keys_still_read(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("model: demo\neval_every_steps: 4\nprobe_every_steps: 8\n", encoding="utf-8")
    config = load_config(path)
    assert (config.eval_every, config.probe_every) == (4, 8)
    assert "eval_every_steps" not in config.to_dict()


def test_an_old_and_a_new_name_together_are_a_sentence_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("model: demo\neval_every: 4\neval_every_steps: 8\n", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_config(path)
    assert "line 3: `eval_every_steps` is the old name of `eval_every`" in caught.value.message
