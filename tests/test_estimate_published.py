"""The estimator against published peak-memory measurements of real fine-tunes
(tests/fixtures/published_peaks.yaml, bench/published_peaks.py, docs/estimate-accuracy.md).

The issue's aims are a median |error| of 8% or less and no under-estimate worse than −10%.
The median is met; three rows are still more than 10% low (docs/estimate-accuracy.md says
which and why), so the bounds below are what the estimator reaches today: a guard against
getting worse, to be tightened as those rows are explained. Pure arithmetic: no GPU, no network.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.published_peaks import (
    GROUPS,
    compare_all,
    known_length,
    load,
    model_info,
    report,
    summarize,
)

DATA = load()
DOC = Path(__file__).resolve().parent.parent / "docs" / "estimate-accuracy.md"


def test_every_model_shape_has_its_published_parameter_count() -> None:
    for name, model in DATA["models"].items():
        assert model_info(name, model["config"]).params.total == model["params"], name


def test_every_row_cites_its_source_and_quote() -> None:
    for row in DATA["rows"]:
        assert row["source"].startswith("https://"), row["id"]
        assert row["quote"].strip(), row["id"]
        assert row["tier"] in ("A", "B"), row["id"]
        assert row["framework"] in DATA["frameworks"], row["id"]


def test_summary_against_the_published_peaks() -> None:
    results = compare_all(DATA)
    summary = summarize(results)
    assert summary.rows == len(DATA["rows"]) >= 25
    assert summary.median_abs_error <= 0.05
    assert summary.worst_under >= -0.13  # Qwen's short 1.8B rows: docs/estimate-accuracy.md
    assert summary.worst_over <= 0.36  # PEFT's rows, whose 768 tokens are only a cap
    known = summarize(known_length(results))
    assert known.median_abs_error <= 0.05 and known.worst_over <= 0.05


def test_only_qwen_s_short_rows_and_litgpt_s_phi_3_are_more_than_10_percent_low() -> None:
    low = {r.row["id"] for r in compare_all(DATA) if r.error < -0.10}
    assert low <= {"qwen1-1.8b-lora-256", "qwen1-1.8b-lora-2048", "lit-phi3-qlora"}


def test_litgpt_s_qlora_rows_with_its_loader_and_loop_modelled() -> None:
    # The 4-bit LM head and its dequantized copies, and the previous micro-batch's 4-bit
    # inputs that bitsandbytes 0.41-0.42 kept on the autograd context (docs/estimate-accuracy.md).
    results = {r.row["id"]: r for r in compare_all(DATA)}
    qlora = summarize([r for r in results.values() if GROUPS["LitGPT, QLoRA"](r.row)])
    assert qlora.rows == 10 and qlora.median_abs_error <= 0.04
    assert qlora.worst_under >= -0.11 and qlora.worst_over <= 0.05
    # LitGPT's TinyLlama QLoRA run needs more than its LoRA run (16.24 against 13.50 GB): so
    # does the estimate, by what the 4-bit path adds beyond the weights it saves.
    tiny_lora, tiny_qlora = results["lit-tinyllama-lora"], results["lit-tinyllama-qlora"]
    assert tiny_qlora.measured > tiny_lora.measured and tiny_qlora.point > tiny_lora.point


def test_the_hf_stack_rows_never_exceed_the_high_figure() -> None:
    # The stack tui-ft trains with (transformers + PEFT): "fits" would have been right on
    # every row, from 256 to 8192 tokens, with and without checkpointing.
    hf = [r for r in compare_all(DATA) if GROUPS["HF stack (transformers + PEFT)"](r.row)]
    assert len(hf) == 8 and all(r.covered for r in hf)
    qwen = sorted(abs(r.error) for r in hf if r.row["id"].startswith("qwen"))
    assert qwen[len(qwen) // 2] <= 0.08  # padded to exactly their length: the best-known rows


@pytest.mark.parametrize("row", DATA["rows"], ids=lambda row: row["id"])
def test_the_band_holds_the_point(row: dict[str, object]) -> None:
    (result,) = compare_all({**DATA, "rows": [row]})
    assert result.low <= result.point <= result.high


def test_the_docs_table_is_up_to_date() -> None:
    assert report(DATA) in DOC.read_text(encoding="utf-8"), (
        "regenerate it: python bench/published_peaks.py --out docs/estimate-accuracy.md"
    )
