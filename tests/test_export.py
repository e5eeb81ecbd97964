"""`tui-ft export --format merged` on tiny runs: the merged folder loads with plain transformers,
answers like the adapter, replaces an earlier export only once complete, and refuses what it
cannot export."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.export_runs import PROMPTS, offline_home, qa_dataset, trained
from tests.test_train import config
from tests.tiny import write_random_model
from tui_ft.cli import main
from tui_ft.core.config import save_config
from tui_ft.core.errors import UserError
from tui_ft.core.export.formats import FORMATS
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status
from tui_ft.engine.export import merge as export_module
from tui_ft.engine.export.merge import MARKER, export_merged


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The runs below are trained once per module; conftest isolates each test only, so the
    module gets the same offline, private environment here."""
    with offline_home(tmp_path_factory.mktemp("export-home")) as base:
        yield base


@pytest.fixture(scope="module")
def tiny_model(home: Path) -> str:
    return str(write_random_model(home / "tiny"))


@pytest.fixture(scope="module")
def dataset(home: Path) -> str:
    return qa_dataset(home / "qa.jsonl")


@pytest.fixture(scope="module")
def lora_run(home: Path, tiny_model: str, dataset: str) -> RunDir:
    # 16 steps: enough for the tiny model to answer with words, so "identical" means something.
    return trained(home, tiny_model, dataset, method="lora", max_steps=16)


@pytest.fixture(scope="module")
def lora_export(lora_run: RunDir) -> dict[str, Any]:
    return export_merged(lora_run)


def test_lora_export_loads_with_plain_transformers_and_answers_like_the_adapter(
    lora_run: RunDir, lora_export: dict[str, Any], tiny_model: str
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tui_ft.engine.probes import answer

    out = lora_run.path / "export" / "merged"
    report = lora_export
    assert report["path"] == str(out) and report["passed"]
    assert report["identical"] == report["total"] == len(PROMPTS)
    assert report["max_logit_diff"] < 1e-4
    assert any(row["export"] for row in report["prompts"]), "the tiny model learned no words"
    assert report["prompts_from"] == "ledger.json" and report["method"] == "lora"
    assert report["size_bytes"] > 100_000 and report["dtype"] == "float32"
    saved = json.loads((lora_run.path / "export" / "merged.check.json").read_text())
    assert saved["identical"] == report["identical"] and saved["path"] == str(out)

    assert not (out / "adapter_config.json").exists() and list(out.glob("*.safetensors"))
    assert not (out / "training_args.bin").exists()
    assert "quantization_config" not in json.loads((out / "config.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert tokenizer.chat_template and model.config.use_cache
    eos = model.generation_config.eos_token_id
    assert tokenizer.eos_token_id in (eos if isinstance(eos, list) else [eos])
    # Independently of the check: the merged weights differ from the base's, and answer as saved.
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert not base.model.layers[0].self_attn.q_proj.weight.equal(
        model.model.layers[0].self_attn.q_proj.weight
    )
    assert answer(model, tokenizer, PROMPTS[:1]) == [report["prompts"][0]["export"]]


def test_the_command_shows_progress_and_replaces_the_earlier_export(
    lora_run: RunDir, lora_export: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    out = Path(lora_export["path"])
    (out / "stale.txt").write_text("from the earlier export")
    dead = subprocess.Popen(["true"])
    dead.wait()
    leftover = out.parent / f".merged.tmp-{dead.pid}-abc"  # an export killed half-way
    leftover.mkdir()

    assert main(["export", str(lora_run.path)]) == 0
    captured = capsys.readouterr()
    for stage in ("loading the base model", "merging", "writing", "checking"):
        assert stage in captured.err
    assert f"exported: {out}" in captured.out and "size: " in captured.out
    assert "3/3 probe answers identical to the adapter's; max logit difference" in captured.out
    assert not (out / "stale.txt").exists() and (out / MARKER).is_file()
    # The model card (core/share/card.py) beside the model, said in the report.
    assert f"model card: {out / 'README.md'}" in captured.out
    assert "library_name: transformers" in (out / "README.md").read_text()
    assert not leftover.exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["merged", "merged.check.json"]


def test_a_failed_export_leaves_the_earlier_one_whole(
    lora_run: RunDir, lora_export: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = Path(lora_export["path"])
    before = sorted(p.name for p in out.iterdir())

    def disk_full(model: Any, tokenizer: Any, folder: Path, job: Any) -> None:
        (folder / "model.safetensors").write_bytes(b"half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module, "_save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        export_merged(lora_run)
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "model.safetensors").stat().st_size > 100_000
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_an_out_folder_it_did_not_write_is_left_alone(lora_run: RunDir, tmp_path: Path) -> None:
    mine = tmp_path / "my-model"
    mine.mkdir()
    (mine / "config.json").write_text("{}")
    with pytest.raises(UserError, match="not an earlier tui-ft export"):
        export_merged(lora_run, mine)
    assert [p.name for p in mine.iterdir()] == ["config.json"]


def test_a_full_run_exports_its_model(home: Path, tiny_model: str, dataset: str) -> None:
    from transformers import AutoModelForCausalLM

    run = trained(home, tiny_model, dataset, method="full", max_steps=4)
    report = export_merged(run)
    assert report["passed"] and report["identical"] == report["total"] == len(PROMPTS)
    assert report["max_logit_diff"] == 0.0 and report["against"] == "the trained model"
    out = Path(report["path"])
    assert not (out / "training_args.bin").exists()
    exported = AutoModelForCausalLM.from_pretrained(out)
    trained_model = AutoModelForCausalLM.from_pretrained(run.output_dir)
    assert exported.config.use_cache
    for (name, a), (_, b) in zip(
        exported.state_dict().items(), trained_model.state_dict().items(), strict=True
    ):
        assert a.equal(b), name


def test_a_qlora_run_exports_a_de_quantized_model(
    home: Path, tiny_model: str, dataset: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from safetensors import safe_open

    run = trained(home, tiny_model, dataset, method="qlora", max_steps=4)
    assert main(["export", str(run.path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["method"] == "qlora" and report["dtype"] == "float32"
    out = Path(report["path"])
    assert "quantization_config" not in json.loads((out / "config.json").read_text())
    with safe_open(str(out / "model.safetensors"), "pt") as weights:
        names = list(weights.keys())
        q_proj = weights.get_tensor("model.layers.0.self_attn.q_proj.weight")
    assert not [n for n in names if "absmax" in n or "quant" in n]
    assert q_proj.shape == (64, 64) and q_proj.is_floating_point()
    as_trained = report["as_trained"]
    assert as_trained["total"] == len(PROMPTS) and "4-bit" in as_trained["against"]


def test_a_run_that_is_not_completed_is_refused(
    tiny_model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = RunDir.create("half-done")
    save_config(config(tiny_model, "demo"), run.config_path)
    run.write_status(Status("stopped", step=3, max_steps=8))
    assert main(["export", "half-done"]) == 1
    err = capsys.readouterr().err
    assert "run half-done is stopped, not completed" in err
    assert "tui-ft resume half-done" in err

    run.write_status(Status("completed", step=8, max_steps=8))
    with pytest.raises(UserError, match=r"has no adapter_config\.json") as raised:
        export_merged(run)
    assert "--more-steps 1" in raised.value.hint
    assert not (run.path / "export").exists()


def test_a_format_not_built_yet_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(FORMATS, "ollama", replace(FORMATS["ollama"], built=False))
    assert main(["export", "any-run", "--format", "ollama"]) == 1
    err = capsys.readouterr().err
    assert "export to ollama" in err and "is not built yet" in err
    assert "--format merged, gguf" in err


def test_quant_is_refused_for_the_merged_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "any-run", "--quant", "q8_0"]) == 1
    err = capsys.readouterr().err
    assert "--quant applies to gguf, ollama" in err and "--format gguf" in err


def test_dtype_is_refused_for_gguf(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "any-run", "--format", "gguf", "--dtype", "bfloat16"]) == 1
    err = capsys.readouterr().err
    assert "--dtype applies to the merged export" in err and "--quant" in err


def test_a_bf16_merge_is_compared_with_the_adapter_in_bf16(
    lora_run: RunDir, tmp_path: Path
) -> None:
    """Like with like: the unmerged model computed in bf16 is the reference, and the bound is
    what bf16 itself does to this model (the floor), not a constant."""
    report = export_merged(lora_run, tmp_path / "bf16", dtype="bfloat16")
    assert report["dtype"] == report["reference_dtype"] == "bfloat16"
    assert report["source_dtype"] == "float32"
    assert report["rounding_floor"] > 0 and report["bound"] == 2 * report["rounding_floor"]
    assert report["passed"], report["failures"]
    assert report["max_logit_diff_share_of_spread"] <= report["bound"]
    config = json.loads((tmp_path / "bf16" / "config.json").read_text())
    assert config.get("dtype", config.get("torch_dtype")) == "bfloat16"


def test_answers_that_differ_fail_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = RunDir.create("differs")
    run.write_status(Status("completed"))
    row = {"prompt": "Hi", "export": "Hello", "reference": "Hey", "identical": False}
    report = {
        "path": "/tmp/x",
        "size_bytes": 1024,
        "dtype": "bfloat16",
        "method": "lora",
        "against": "the base model + adapter",
        "identical": 0,
        "total": 1,
        "max_logit_diff": 0.03,
        "passed": False,
        "prompts": [row],
    }
    monkeypatch.setattr(export_module, "export_merged", lambda *_a, **_k: report)
    assert main(["export", str(run.path)]) == 1
    captured = capsys.readouterr()
    assert "0/1 probe answers identical to the adapter's; max logit difference 0.03" in (
        captured.out
    )
    assert "answers 1 of 1 probe prompts differently from the base model + adapter" in (
        captured.err
    )
