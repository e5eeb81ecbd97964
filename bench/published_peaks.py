"""`tui-ft estimate` against published peak-memory measurements of real fine-tunes.

    python bench/published_peaks.py [--out docs/estimate-accuracy.md]

The rows (tests/fixtures/published_peaks.yaml) are other people's runs: PEFT's method
comparison, Qwen's profiling table, LitGPT's tables. Each is written as estimator inputs: the
model's shape (a config.json dict, no hub access), the run's settings, and the trainer's loss
path and precision as EstimateOptions (`frameworks` below). Each measurement is compared with
the figure it measures: `allocated` (torch.cuda.max_memory_allocated) with the estimate less
the allocator's reserve, `reserved` (max_memory_reserved) with the peak, `device` (nvidia-smi)
with the requirement, CUDA context included. Prints a markdown table and the summary;
tests/test_estimate_published.py asserts the summary. No GPU, no network: pure arithmetic.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui_ft.core.config import RunConfig
from tui_ft.core.estimate.peak import Estimate, EstimateOptions, Target, estimate_training
from tui_ft.core.models.info import ModelInfo, info_from_config

TABLE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "published_peaks.yaml"
UNITS = {"GB": 10**9, "GiB": 2**30}
# How each trainer runs, as the estimator's options (the YAML's `frameworks` says it in words).
# LitGPT, read at commits 8641822b (Oct 2023) and e7e8f7cf (Sep 2024): finetune/lora.py keeps
# `logits = model(...)` until the next micro-batch's forward returns; QLoRA goes through
# Lightning's BitsandbytesPrecision, whose _Linear4bit replaces every nn.Linear (LoRALinear's
# inner one for the head too) and quantizes `weight.to(dtype=torch.half)`; bitsandbytes
# 0.41-0.42's MatMul4Bit sets `ctx.tensors = (A, B)` and dequantizes B, `.to(A.dtype)`, per use.
FRAMEWORKS = {
    "hf-trainer": {"loss": "unfused", "adamw": "foreach"},
    "peft-loop": {"loss": "unfused", "autocast": False, "logits_held": True, "adamw": "foreach"},
    "litgpt": {
        "adamw": "foreach",
        "loss": "chunked",
        "autocast": False,
        "adapters_in_compute_dtype": True,
        "logits_held": True,
        "old_bitsandbytes": True,
        "head_quantized": True,
        "dequant_cast": True,
    },
}
# How a trainer builds the model, where it differs from the HF config: LitGPT (Sep 2024, commit
# 00af8b0d) has no weight tying, so its converted Llama 3.2 and Gemma keep a separate lm_head.
MODEL_CHANGES = {"litgpt": {"tie_word_embeddings": False}}
GPU = Target("cuda", True, None, "GPU")


@dataclass(frozen=True)
class Result:
    row: dict[str, Any]
    estimate: Estimate
    point: int  # the estimate's figure for what the row measured
    low: int
    high: int
    measured: int

    @property
    def error(self) -> float:
        return (self.point - self.measured) / self.measured

    @property
    def covered(self) -> bool:
        """The measurement lies at or below the band's high figure: a "fits" would be right."""
        return self.measured <= self.high


@dataclass(frozen=True)
class Summary:
    rows: int
    median_abs_error: float
    worst_under: float
    worst_over: float
    covered: int


def load(path: Path = TABLE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def model_info(name: str, config: dict[str, Any]) -> ModelInfo:
    """A ModelInfo from a config.json dict, as `tui-ft estimate --model config.json` reads it
    (bf16 weights, whatever the dict says)."""
    info = info_from_config(name, config)
    return dataclasses.replace(info, max_context=None, dtype="bfloat16")


def run_config(row: dict[str, Any]) -> RunConfig:
    config = RunConfig(
        method=row["method"],
        batch_size=row["batch"],
        max_length=row["length"],
        gradient_checkpointing=row["checkpointing"],
        precision="bf16",
        optimizer=row["optimizer"],
        grad_accum=row.get("grad_accum", 1),
    )
    if "rank" in row:
        config.lora.rank = row["rank"]
        config.lora.targets = row["targets"]
        config.lora.dropout = row["dropout"]
    if "double_quant" in row:
        config.qlora.double_quant = row["double_quant"]
    return config


def options(row: dict[str, Any]) -> EstimateOptions:
    return EstimateOptions(
        attention=row["attention"], padding_free=False, **FRAMEWORKS[row["framework"]]
    )


def compare(row: dict[str, Any], models: dict[str, Any]) -> Result:
    config = models[row["model"]]["config"] | MODEL_CHANGES.get(row["framework"], {})
    info = model_info(row["model"], config)
    result = estimate_training(info, run_config(row), GPU, options(row))
    point, low, high = figures(result, row["measured_as"])
    measured = round(row["measured"] * UNITS[row["unit"]])
    return Result(row, result, point, low, high, measured)


def figures(result: Estimate, measured_as: str) -> tuple[int, int, int]:
    """(point, low, high) of the estimate's figure for what was measured."""
    if measured_as == "device":
        return result.required_bytes, result.required_low_bytes, result.required_high_bytes
    if measured_as == "reserved":
        return result.peak_bytes, result.peak_low_bytes, result.peak_high_bytes
    allocated = [t for t in result.terms if not t.outside_torch and t.key != "slack"]
    return (
        sum(t.bytes for t in allocated),
        sum(t.band[0] for t in allocated),
        sum(t.band[1] for t in allocated),
    )


def compare_all(data: dict[str, Any] | None = None) -> list[Result]:
    data = data or load()
    return [compare(row, data["models"]) for row in data["rows"]]


def known_length(results: list[Result]) -> list[Result]:
    """The rows whose longest batch is known: not those where the length is only a cap."""
    return [r for r in results if not r.row.get("length_is_a_cap")]


GROUPS = {
    "HF stack (transformers + PEFT)": lambda row: row["framework"] != "litgpt",
    "LitGPT, LoRA and full": lambda row: row["framework"] == "litgpt" and row["method"] != "qlora",
    "LitGPT, QLoRA": lambda row: row["framework"] == "litgpt" and row["method"] == "qlora",
}


def summarize(results: list[Result]) -> Summary:
    errors = [r.error for r in results]
    return Summary(
        rows=len(results),
        median_abs_error=statistics.median(abs(e) for e in errors),
        worst_under=min(errors),
        worst_over=max(errors),
        covered=sum(r.covered for r in results),
    )


# --- the report -----------------------------------------------------------------------------


def report(data: dict[str, Any] | None = None) -> str:
    data = data or load()
    results = compare_all(data)
    summary = summarize(results)
    known = summarize(known_length(results))
    lines = [
        "# How close is the estimate? Published measurements",
        "",
        "Generated by `python bench/published_peaks.py --out docs/estimate-accuracy.md` from",
        "`tests/fixtures/published_peaks.yaml` (each row's source and quoted line are there);",
        "`tests/test_estimate_published.py` asserts the summary. Each published peak is compared",
        "with the estimate's figure for what it measured: torch's peak *allocated* (the estimate",
        "without the allocator's reserve), peak *reserved* (the estimate's peak), or the *device*'s",
        "used memory (nvidia-smi: the requirement, CUDA context included). Error = (estimate −",
        "measured) ÷ measured; the band is the estimate's low and high figures.",
        "",
        "| rows | count | median abs. error | worst under-estimate | worst over-estimate "
        "| measured ≤ high figure |",
        "|---|---:|---:|---:|---:|---:|",
        _summary_row("all", summary),
        _summary_row("whose longest batch is known", known),
    ]
    for name, belongs in GROUPS.items():
        lines.append(_summary_row(name, summarize([r for r in results if belongs(r.row)])))
    lines += [
        "",
        "Whether a run fits is judged on the high figure: a row whose measured peak is above",
        "it is a promise of room the estimate would have broken.",
        "",
        "Trainers, as the estimator's options:",
        "",
    ]
    for name, words in data["frameworks"].items():
        lines.append(f"- `{name}`: {words}.")
    lines += [
        "",
        "| row | model | method | batch × length | ckpt | attention | trainer | measured "
        "| estimate | band | error | source |",
        "|---|---|---|---|---|---|---|---:|---:|---|---:|---|",
    ]
    for r in results:
        row = r.row
        method = row["method"] + (f" r{row['rank']}" if "rank" in row else "")
        lines.append(
            f"| {row['id']} ({row['tier']}) | {row['model']} | {method} "
            f"| {row['batch']} × {'≤' if row.get('length_is_a_cap') else ''}{row['length']} "
            f"| {'yes' if row['checkpointing'] else 'no'} "
            f"| {row['attention']} | {row['framework']} "
            f"| {_gb(r.measured)} {row['measured_as']} | {_gb(r.point)} "
            f"| {_gb(r.low)}–{_gb(r.high)} | {r.error:+.1%} | [source]({_url(row['source'])}) |"
        )
    lines += ["", "Rows left out, and why:", ""]
    for name, why in data["excluded"].items():
        lines.append(f"- `{name}`: {why}.")
    return "\n".join(lines) + "\n"


def _summary_row(name: str, summary: Summary) -> str:
    return (
        f"| {name} | {summary.rows} | {summary.median_abs_error:.1%} "
        f"| {summary.worst_under:+.1%} | {summary.worst_over:+.1%} "
        f"| {summary.covered} of {summary.rows} |"
    )


def _gb(size: int) -> str:
    return f"{size / 1e9:.2f} GB"


def _url(source: str) -> str:
    return source.split()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    text = report()
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
