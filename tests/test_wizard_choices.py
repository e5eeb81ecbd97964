"""The wizard's pure logic: model choices, completion, method settings from text fields, the
dataset preview's command line, its failures as sentences, and the histogram's cut."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.fake_children import StandIn
from tui_ft.core.children.runner import ChildResult, ChildRunner
from tui_ft.core.config import RunConfig
from tui_ft.core.models.hf_cache import hub_cache_dir
from tui_ft.core.wizard.choices import (
    DATASET_SUFFIXES,
    METHODS,
    MODEL_SUFFIXES,
    apply_method,
    complete,
    method_field_values,
    model_choices,
    parse_targets,
)
from tui_ft.core.wizard.dataset_preview import (
    PreviewCancelled,
    PreviewRequest,
    failure,
    histogram_bars,
    run_preview,
)


def fake_cached_model(repo_id: str, weights: bool) -> None:
    folder = hub_cache_dir() / ("models--" + repo_id.replace("/", "--"))
    snapshot = folder / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text("abc123")
    (snapshot / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    if weights:
        (snapshot / "model.safetensors").write_bytes(b"\0" * 2048)


def test_model_choices_start_with_the_demo_then_the_cache_with_sizes() -> None:
    fake_cached_model("org/Tiny-Chat", weights=True)
    fake_cached_model("org/Config-Only", weights=False)
    choices = model_choices()
    assert [c.ref for c in choices] == ["demo", "org/Config-Only", "org/Tiny-Chat"]
    assert choices[1].detail == "config only in the HF cache"
    assert choices[2].detail.startswith("2.") and "KiB in the HF cache" in choices[2].detail


def test_completion_of_names_and_paths(tmp_path: Path) -> None:
    (tmp_path / "models" / "llama").mkdir(parents=True)
    (tmp_path / "models" / "small.gguf").write_bytes(b"GGUF")
    (tmp_path / "models" / "readme.md").write_text("")
    (tmp_path / "data.jsonl").write_text("")
    (tmp_path / ".hidden").mkdir()
    assert complete("de", ["demo"]) == "demo"
    assert complete("demo", ["demo"]) is None
    assert complete("Qwen", ["demo"]) is None  # a bare word is not a path
    assert complete(f"{tmp_path}/mo") == f"{tmp_path}/models/"
    assert (
        complete(f"{tmp_path}/models/s", suffixes=MODEL_SUFFIXES) == f"{tmp_path}/models/small.gguf"
    )
    assert complete(f"{tmp_path}/models/r", suffixes=MODEL_SUFFIXES) is None  # not a model file
    assert complete(f"{tmp_path}/d", suffixes=DATASET_SUFFIXES) == f"{tmp_path}/data.jsonl"
    assert complete(f"{tmp_path}/", suffixes=DATASET_SUFFIXES) == f"{tmp_path}/data.jsonl"
    assert complete(f"{tmp_path}/.h") == f"{tmp_path}/.hidden/"
    assert complete(f"{tmp_path}/nothing") is None
    assert complete("") is None


def test_completion_keeps_a_tilde_as_typed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "checkpoints").mkdir()
    assert complete("~/che") == "~/checkpoints/"


def test_each_method_has_two_sentences() -> None:
    assert [m.name for m in METHODS] == ["full", "lora", "qlora"]
    for text in METHODS:
        assert text.sentences.count(". ") + text.sentences.endswith(".") == 2


def test_method_fields_round_trip_and_bad_values_are_sentences() -> None:
    config = RunConfig()
    fields = method_field_values(config)
    same, problems = apply_method(config, "lora", fields)
    assert problems == [] and same == config

    fields.update(rank="8", alpha="16", dropout="0", targets="q_proj, v_proj", dora=True)
    updated, problems = apply_method(config, "qlora", {**fields, "quant_type": "fp4"})
    assert problems == []
    assert updated.method == "qlora" and updated.lora.rank == 8 and updated.lora.dora
    assert updated.lora.targets == ["q_proj", "v_proj"] and updated.qlora.quant_type == "fp4"

    fields.update(rank="eight", alpha="0", dropout="1.5", targets="")
    kept, problems = apply_method(config, "lora", fields)
    assert problems == [
        "lora.rank must be a whole number (it is 'eight').",
        "lora.alpha must be at least 1 (it is 0).",
        "lora.dropout must be at least 0 and below 1.0 (it is 1.5).",
        "lora.targets is an empty list; use `all-linear` or name modules like q_proj.",
    ]
    assert kept.lora.rank == config.lora.rank  # a field that does not parse keeps its value


def test_full_fine_tuning_ignores_the_adapter_fields() -> None:
    updated, problems = apply_method(RunConfig(), "full", {"rank": "nonsense"})
    assert problems == [] and updated.method == "full" and updated.lora == RunConfig().lora


def test_problems_of_later_steps_are_not_the_method_steps() -> None:
    config = RunConfig(learning_rate=-1)
    _, problems = apply_method(config, "lora", method_field_values(config))
    assert problems == []


def test_targets_parse() -> None:
    assert parse_targets(" all-linear ") == "all-linear"
    assert parse_targets("q_proj,k_proj v_proj") == ["q_proj", "k_proj", "v_proj"]
    assert parse_targets("") == []


def test_preview_command_carries_the_config() -> None:
    config = RunConfig(
        model="org/m",
        dataset="d.csv",
        max_length=256,
        dataset_format="alpaca",
        dataset_columns={"prompt": "q"},
        system_prompt="Be brief.",
    )
    command = PreviewRequest.for_config(config, first_example=21).command()
    assert (command.models, command.datasets) == (["org/m"], ["d.csv"])  # offline unless needed
    cmd = command.argv
    assert cmd[:6] == [sys.executable, "-m", "tui_ft.cli", "data", "inspect", "d.csv"]
    joined = " ".join(cmd[6:])
    for part in (
        "--model org/m",
        "--max-length 256",
        "--format alpaca",
        "--json",
        "--example 21",
        "--examples 20",
        "--column prompt=q",
        "--system-prompt Be brief.",
    ):
        assert part in joined


def test_a_failed_preview_is_the_commands_own_sentence() -> None:
    err = failure(
        ChildResult("", "error: x.jsonl was not found in /d.\nhint: Check the name.\n", 1)
    )
    assert (err.message, err.hint) == ("x.jsonl was not found in /d.", "Check the name.")
    err = failure(ChildResult("", "Traceback ...\nKilled\n", -9))
    assert err.message == "the dataset preview failed (Killed)."


def test_histogram_marks_the_cut() -> None:
    report = {
        "max_length": 50,
        "histogram": [
            {"start": 0, "end": 30, "count": 4},
            {"start": 30, "end": 60, "count": 8},
            {"start": 60, "end": 90, "count": 2},
        ],
    }
    bars = histogram_bars(report, width=8)
    assert [b.width for b in bars] == [4, 8, 2]
    assert [b.cut for b in bars] == [False, True, False]
    assert [b.beyond for b in bars] == [False, False, True]


def test_model_facts_warn_about_remote_code(tmp_path: Path) -> None:
    from tui_ft.core.models.info import read_model_info
    from tui_ft.core.models.resolve import resolve_model
    from tui_ft.core.wizard.choices import model_facts

    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 100,
        "max_position_embeddings": 2048,
    }
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    resolved = resolve_model(str(folder))
    facts = dict(model_facts(read_model_info(resolved), resolved))
    assert facts["context"] == "2k tokens" and facts["chat template"].startswith("no")
    assert "code" not in facts
    (folder / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModel": "m.M"}}))
    facts = dict(model_facts(read_model_info(resolved), resolved))
    assert "trust_remote_code" in facts["code"]


def test_paths_that_exist_go_into_the_config_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_ft.core.wizard.choices import absolute_ref

    (tmp_path / "data.jsonl").write_text("")
    monkeypatch.chdir(tmp_path)
    assert absolute_ref(" data.jsonl ") == str(tmp_path / "data.jsonl")
    assert absolute_ref("./data.jsonl") == str(tmp_path / "data.jsonl")
    assert absolute_ref("demo") == "demo"
    assert absolute_ref("org/name") == "org/name"  # a hub id, not a folder here
    assert absolute_ref("missing.jsonl") == "missing.jsonl"  # its error says it is missing


def test_a_preview_called_off_kills_its_process() -> None:
    runner = StandIn("import time; time.sleep(600)")
    with pytest.raises(PreviewCancelled):
        run_preview(runner, PreviewRequest("d", "m"), cancelled=lambda: True)
    assert runner.children[0].process.poll() is not None  # gone, not left sleeping


def test_the_real_preview_of_a_file_with_bad_rows_is_a_report(tmp_path: Path) -> None:
    """`data inspect` exits 1 when rows are bad; its JSON is still the answer."""
    rows = [{"prompt": f"What is {n} + {n}?", "completion": str(2 * n)} for n in range(6)]
    lines = [json.dumps(r) for r in rows] + ["{not json"]
    (tmp_path / "sums.jsonl").write_text("\n".join(lines) + "\n")
    request = PreviewRequest(str(tmp_path / "sums.jsonl"), "demo")
    report = run_preview(ChildRunner(), request, lambda: False)
    assert report["format"] == "prompt_completion" and report["examples"] == 6
    assert report["problem_count"] == 1 and report["problems"][0]["where"].endswith("line 7")
    assert [e["number"] for e in report["rendered"]] == [1, 2, 3, 4, 5, 6]
