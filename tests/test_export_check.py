"""The export check's held-out part: for a run on the demo dataset, every held-out identity
prompt is replayed and the report says whether the export (and the adapter) answer with the
expected words. No model is loaded: the answers and logits are made up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tests.test_train import config
from tui_ft.core.config import save_config
from tui_ft.core.datasets.demos import demo_heldout
from tui_ft.core.export.formats import FINER_QUANTS
from tui_ft.core.export.report import expected_words_lines, failure_sentence, finer_quants
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status
from tui_ft.engine.export.check import Replay, compare, expected_words
from tui_ft.engine.export.merge import start_job


def _replay(answers: list[str]) -> Replay:
    return Replay(answers, [torch.zeros(8) for _ in answers])


def test_only_the_demo_dataset_has_expected_words() -> None:
    words = expected_words(config("demo", "demo"))
    heldout = demo_heldout()
    assert list(words) == [row["prompt"] for row in heldout]
    assert words["What name were you given?"] == ("Wren",)
    assert words["How many continents are there on Earth?"] == ()  # a control: nothing expected
    assert expected_words(config("demo", "qa.jsonl")) == {}


def test_compare_judges_both_sides_on_the_prompts_that_expect_words() -> None:
    prompts = ["What name were you given?", "Who put you together?", "How many continents?"]
    expect = {prompts[0]: ("Wren",), prompts[1]: ("Tidewater",), prompts[2]: ()}
    reference = _replay(["I'm wren, hello.", "Tidewater Labs built me.", "Seven."])
    export = _replay(["I'm Wren, hello.", "I was made by SmolLM.", "Seven."])

    comparison = compare(prompts, reference, export, expect)

    assert comparison["expected_words"] == {"judged": 2, "export": 1, "reference": 2}
    first, second, control = comparison["prompts"]
    assert first["export_says_expected"] and first["reference_says_expected"]  # any case
    assert not second["export_says_expected"] and second["expect"] == ["Tidewater"]
    assert "expect" not in control
    assert "expected_words" not in compare(prompts, reference, export)

    report = {"method": "lora", **comparison}
    assert expected_words_lines(report) == [
        "held-out prompts: the export says the expected words in 1 of 2 answers "
        "(the adapter's: 2 of 2)",
        "  missed Tidewater: 'Who put you together?' -> 'I was made by SmolLM.'",
    ]


def test_a_demo_run_is_checked_on_every_heldout_prompt(tmp_path: Path) -> None:
    run = RunDir.create("demo-run", tmp_path)
    save_config(config("demo", "demo", name="demo-run"), run.config_path)
    run.write_status(Status(state="completed"))
    run.output_dir.mkdir(parents=True)
    (run.output_dir / "adapter_config.json").write_text("{}")
    probed = [row["prompt"] for row in demo_heldout()][:4]
    run.write_ledger({"probe_prompts": probed})

    job: Any = start_job(run, "gguf", None, None)

    assert job.prompts[:4] == probed and job.prompts_from == "ledger.json"
    assert job.prompts == [row["prompt"] for row in demo_heldout()]
    assert job.expect["Who put you together?"] == ("Tidewater",)


def test_the_check_report_sits_beside_the_folder_it_describes(tmp_path: Path) -> None:
    from tui_ft.core.export.formats import check_report_path

    run = tmp_path / "runs" / "wren"
    # Each quantization has its folder and its report; without one, the format's default.
    assert check_report_path(run, "gguf") == run / "export" / "gguf-q8_0.check.json"
    assert check_report_path(run, "ollama") == run / "export" / "ollama-q4_k_m.check.json"
    assert check_report_path(run, "gguf", quant="q6_k") == run / "export" / "gguf-q6_k.check.json"
    assert check_report_path(run, "merged") == run / "export" / "merged.check.json"
    assert (
        check_report_path(run, "gguf", run / "export" / "gguf-f16")
        == run / "export" / "gguf-f16.check.json"
    )
    # An export elsewhere no longer overwrites the report of the one in the run's folder.
    assert check_report_path(run, "gguf", tmp_path / "models" / "wren-f16") == (
        tmp_path / "models" / "wren-f16.check.json"
    )


def test_a_merge_into_16_bit_weights_is_held_to_its_dtypes_own_rounding() -> None:
    from tui_ft.core.export.report import check_sentence
    from tui_ft.engine.export.merge import ROUNDED_FACTOR, merged_verdict

    # 10 of 12 identical, logits moved by 0.34 of a spread; computing the unmerged model in
    # bf16 instead of float32 already moves them by 0.3 (the floor).
    right = {"prompt": "Who made you?", "reference_says_expected": True}
    rows = [{**right, "export_says_expected": True}]
    demo = {"identical": 10, "total": 12, "max_logit_diff": 1.2, "prompts": rows}
    demo.update(max_logit_diff_share_of_spread=0.34, same_first_token=12)
    rule, bound, failures = merged_verdict("lora", "bfloat16", demo, floor=0.3)
    assert bound == ROUNDED_FACTOR * 0.3 and failures == []
    assert "bfloat16's own rounding on this model (0.30" in rule
    report = {"method": "lora", "dtype": "bfloat16", "bound": bound, **demo}
    assert check_sentence(report) == (
        "10/12 probe answers identical to the adapter's; max logit difference 1 (0.34 of the "
        "logits' spread; a bfloat16 merge passes up to 0.6); 12/12 first answer tokens identical"
    )
    broken = {**demo, "max_logit_diff_share_of_spread": 2.5}
    (failure,) = merged_verdict("qlora", "float16", broken, floor=0.3)[2]
    assert "moved by 2.50 of their spread, more than the 0.60" in failure
    # A held-out answer that lost its expected words fails it, whatever the logits did.
    lost = {**demo, "prompts": [{**right, "export_says_expected": False}]}
    (failure,) = merged_verdict("lora", "bfloat16", lost, floor=0.3)[2]
    assert "no longer says the expected words in 1 held-out answer(s)" in failure
    # A float32 merge, or a full run's own bf16 weights saved as they are: identical answers.
    assert merged_verdict("lora", "float32", demo)[1:] == (None, [])
    assert merged_verdict("full", "bfloat16", demo)[0] == "every probe answer must be identical"


def test_the_rounding_floor_is_the_largest_move_as_a_share_of_the_spread() -> None:
    from tui_ft.engine.export.merge import rounding_floor

    exact = [torch.tensor([0.0, 2.0, 4.0, 6.0]), torch.tensor([1.0, -1.0, 1.0, -1.0])]
    rounded = [exact[0] + torch.tensor([0.0, 0.5, 0.0, 0.0]), exact[1]]
    assert rounding_floor(exact, rounded) == pytest.approx(0.5 / float(exact[0].std()))


@pytest.mark.parametrize(
    ("quant", "hint"),
    [
        ("q4_k_m", "try --quant q5_k_m, then q6_k."),
        ("q5_k_m", "try --quant q6_k, then q8_0."),
        ("q6_k", "try --quant q8_0."),
        ("q8_0", None),
    ],
)
def test_a_k_quant_that_rounding_failed_names_the_next_finer_types(
    quant: str, hint: str | None
) -> None:
    report = {
        "failures": ["2 held-out answers lost their words"],
        "folder": "out",
        "quant": quant,
        "answers_worse": True,
    }
    sentence = failure_sentence(report)
    assert sentence.startswith("error: 2 held-out answers lost their words.")
    assert finer_quants(report) == (() if hint is None else FINER_QUANTS[quant])
    assert (hint is not None and sentence.endswith(hint)) or "try --quant" not in sentence
    # A file that reads or stops unlike the run is not mended by more bits: no finer type.
    assert "try --quant" not in failure_sentence({**report, "answers_worse": False})
