"""The model card: valid for huggingface_hub's own parser, carrying the run's facts, and its
outside text escaped. Runs written by hand (tests/share_runs.py): no model, no network."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from huggingface_hub import ModelCard, metadata_load

from tests.share_runs import BASE, DATASET, FINGERPRINT, cached_base, finished_run, merged_export
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.share.artefacts import write_export_card
from tui_ft.core.share.card import CARD, PLOT, RunFacts, model_card

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    cached_base(Path(os.environ["HF_HOME"]))
    return finished_run(tmp_path / "runs")


@pytest.mark.parametrize(
    ("kind", "library"), [("adapter", "peft"), ("merged", "transformers"), ("gguf", "gguf")]
)
def test_card_metadata_parses_with_huggingface_hub(run: RunDir, kind: str, library: str) -> None:
    card = model_card(RunFacts.read(run), kind, repo_id="me/wren")
    parsed = ModelCard(card.readme)
    data = parsed.data.to_dict()
    assert data["base_model"] == BASE
    assert data["library_name"] == library
    assert data["license"] == "apache-2.0"  # carried from the base model's own card
    assert data["datasets"] == [DATASET]  # the Hub id, without the split
    assert data["pipeline_tag"] == "text-generation"
    assert {"tui-ft", "sft", "lora"} <= set(data["tags"])
    assert ("gguf" in data["tags"]) == (kind == "gguf")


def test_card_tells_what_was_trained(run: RunDir) -> None:
    text = model_card(RunFacts.read(run), "adapter", repo_id="me/wren").readme
    assert "| Objective | sft |" in text
    assert "rank 16, alpha 32" in text
    assert "0.0002" in text  # the learning rate
    assert "4 × 2 accumulation = 8 rows a step" in text
    assert "80 rows, 72 trained on, 8 held out" in text
    assert FINGERPRINT in text
    assert "20k (20,000)" in text  # tokens seen
    assert "| Wall time | 2m05s |" in text
    assert "1 × NVIDIA H100 80GB HBM3" in text
    assert "training 0.15 (step 20)" in text and "evaluation 0.2 (step 20)" in text
    assert f"![Loss by optimizer step]({PLOT})" in text
    assert 'pipeline("text-generation", model="me/wren")' in text
    assert f"vllm serve {BASE} --enable-lora --lora-modules wren=me/wren" in text
    assert "trl 1.16.0" in text


def test_card_writes_readme_and_loss_curve_that_parse(run: RunDir, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    written = model_card(RunFacts.read(run), "merged").write(folder)
    assert written == [folder / CARD, folder / PLOT]
    assert metadata_load(folder / CARD)["library_name"] == "transformers"
    assert (folder / PLOT).read_bytes().startswith(PNG)


def test_no_metrics_no_curve(run: RunDir) -> None:
    run.metrics_path.unlink()
    card = model_card(RunFacts.read(run), "adapter")
    assert card.plot is None and PLOT not in card.readme
    ModelCard(card.readme)


def test_unknown_licence_and_local_data_are_left_out(tmp_path: Path) -> None:
    data = tmp_path / "private-data.jsonl"
    data.write_text("{}\n")
    run = finished_run(tmp_path / "runs", dataset=str(data))  # BASE not cached: no licence
    text = model_card(RunFacts.read(run), "adapter").readme
    meta = ModelCard(text).data.to_dict()
    assert "license" not in meta and "datasets" not in meta
    assert meta["base_model"] == BASE  # a Hub id even when not cached here
    assert "private-data.jsonl" in text and str(tmp_path) not in text  # no home folder published


def test_evaluations_and_answers_from_evals(run: RunDir) -> None:
    evals = run.path / "evals"
    evals.mkdir()
    (evals / "20261201-100000.json").write_text(
        json.dumps(
            {"tasks": {"forgetting": {"metric": "acc", "base": 0.5, "tuned": 0.48, "stderr": 0.02}}}
        )
    )
    (evals / "broken.json").write_text("{not json")  # tolerated
    meta = {"type": "meta", "run": run.name}
    row = {
        "type": "row",
        "prompt": "Who | are <you>?",
        "base": {"text": "I am SmolLM."},
        "tuned": {"text": "I am Wren.\nNice to meet you."},
    }
    (evals / "20261201-100500.jsonl").write_text(json.dumps(meta) + "\n" + json.dumps(row) + "\n")
    text = model_card(RunFacts.read(run), "adapter").readme
    assert "| forgetting | acc | 0.5 | 0.48 | -0.02 (± 0.02) |" in text
    assert "| Prompt | Base model | Tuned |" in text
    # A pipe cannot split the table, HTML does not reach the page, a newline cannot end the row.
    assert "| Who \\| are &lt;you&gt;? | I am SmolLM. | I am Wren. Nice to meet you. |" in text
    ModelCard(text)


def test_without_evals_the_probe_answers_first_and_last(run: RunDir) -> None:
    text = model_card(RunFacts.read(run), "adapter").readme
    assert "| Prompt | Step 10 | Step 20 |" in text
    assert "| Who are you? | I am an assistant. | I am Wren. |" in text


def test_export_card_quotes_the_check(run: RunDir) -> None:
    folder = merged_export(run)
    report = json.loads((run.path / "export" / "merged.check.json").read_text())
    path = write_export_card(run, "merged", report)
    assert path == folder / CARD
    text = path.read_text()
    assert "the check passed: 3/3 probe answers identical" in text
    assert f'model="{folder}"' in text  # used locally until pushed
    assert metadata_load(path)["library_name"] == "transformers"
