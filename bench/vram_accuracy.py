"""How close is `tui-ft estimate` to the memory a run really takes?

    python bench/vram_accuracy.py [--out docs/vram-accuracy.md] [--quick]
    python bench/vram_accuracy.py --cpu-calibration [--out FILE]

On a CUDA GPU: a grid of configurations (full / LoRA / QLoRA × gradient checkpointing on/off ×
two batch × length pairs × Qwen2-0.5B and -1.5B shapes with random weights), each trained for
a few steps by TRL's SFTTrainer, set up as tui_ft/engine/train/setup.py sets it up, in a fresh
subprocess so peaks never mix. Measured: `torch.cuda.max_memory_reserved` (the estimate's
`peak`) and the peak of NVML's used memory over the process's start (its `required`). Prints a
markdown table, estimate vs measured with the error of each row, the median and the largest.
Target: every row within ±15%, the median within ±7%. Without a GPU it says so and exits 0.

`--cpu-calibration` needs no GPU: it compares the estimator's activation + loss terms with the
bytes autograd saves for backward on tiny models (bench/saved_tensors.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui_ft.core.config import RunConfig
from tui_ft.core.estimate.peak import GIB, Target, estimate_training

STEPS = 3
QWEN2 = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "vocab_size": 151936,
    "max_position_embeddings": 32768,
    "num_key_value_heads": 2,
    "tie_word_embeddings": True,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
}
SHAPES = {
    "qwen2-0.5b": QWEN2
    | {
        "hidden_size": 896,
        "intermediate_size": 4864,
        "num_hidden_layers": 24,
        "num_attention_heads": 14,
    },
    "qwen2-1.5b": QWEN2
    | {
        "hidden_size": 1536,
        "intermediate_size": 8960,
        "num_hidden_layers": 28,
        "num_attention_heads": 12,
    },
}
BATCHES = ((4, 512), (8, 1024))
METHODS = ("full", "lora", "qlora")


@dataclass(frozen=True)
class Row:
    shape: str
    method: str
    checkpointing: bool
    batch_size: int
    max_length: int

    @property
    def label(self) -> str:
        ckpt = "ckpt" if self.checkpointing else "no-ckpt"
        return f"{self.shape} {self.method} {ckpt} {self.batch_size}×{self.max_length}"

    def run_config(self) -> RunConfig:
        return RunConfig(
            model=self.shape,
            method=self.method,
            batch_size=self.batch_size,
            max_length=self.max_length,
            gradient_checkpointing=self.checkpointing,
            precision="bf16",
        )


def grid(quick: bool) -> list[Row]:
    rows = [
        Row(shape, method, ckpt, batch, length)
        for shape in SHAPES
        for method in METHODS
        for ckpt in (False, True)
        for batch, length in BATCHES
    ]
    return rows[::3] if quick else rows


def estimate(row: Row) -> tuple[int, int]:
    """(torch peak, NVML requirement) in bytes for a bf16 GPU of unknown free memory."""
    from bench.saved_tensors import model_info

    target = Target("cuda", True, None, "GPU")
    result = estimate_training(model_info(SHAPES[row.shape]), row.run_config(), target)
    return result.peak_bytes, result.required_bytes


# --- one configuration, in its own process --------------------------------------------------


def measure_one(row: Row, cache: Path) -> dict[str, Any]:
    """Train `row` for a few steps; peaks in bytes. Runs inside the child process."""
    import torch

    nvml = _NvmlPeak.open()
    if nvml is not None:
        nvml.start()
    torch.cuda.init()
    trainer = _trainer(row, cache)
    torch.cuda.reset_peak_memory_stats()
    trainer.train()
    torch.cuda.synchronize()
    result = {
        "reserved": torch.cuda.max_memory_reserved(),
        "allocated": torch.cuda.max_memory_allocated(),
    }
    if nvml is not None:
        nvml.stop()
        result["nvml"] = nvml.peak_delta()
    return result


class _NvmlPeak(threading.Thread):
    """Samples the GPU's used memory; the delta over the value before this process touched
    CUDA is what the run needs of NVML's free memory."""

    def __init__(self, nvml: Any) -> None:
        super().__init__(daemon=True)
        self._nvml = nvml
        self._handle = nvml.nvmlDeviceGetHandleByIndex(0)
        self.baseline = self._used()
        self.peak = self.baseline
        self._done = threading.Event()

    @classmethod
    def open(cls) -> _NvmlPeak | None:
        """None where NVML is missing: the table then shows torch's numbers only."""
        try:
            import pynvml
        except ImportError:
            print("pynvml is not installed; measuring torch only.", file=sys.stderr)
            return None
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as err:
            print(f"NVML unavailable ({err}); measuring torch only.", file=sys.stderr)
            return None
        return cls(pynvml)

    def _used(self) -> int:
        return int(self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used)

    def run(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, self._used())

    def stop(self) -> None:
        self._done.set()
        self.join()
        self.peak = max(self.peak, self._used())

    def peak_delta(self) -> int:
        return self.peak - self.baseline


def _trainer(row: Row, cache: Path) -> Any:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    config = row.run_config()
    model = _model(row, cache)
    generator = torch.Generator().manual_seed(0)
    vocab = SHAPES[row.shape]["vocab_size"]
    rows = [
        {"input_ids": torch.randint(3, vocab, (row.max_length,), generator=generator).tolist()}
        for _ in range(row.batch_size * STEPS)
    ]
    peft = None
    if row.method != "full":
        peft = LoraConfig(
            r=config.lora.rank,
            lora_alpha=config.lora.alpha,
            lora_dropout=config.lora.dropout,
            target_modules=config.lora.targets,
            task_type="CAUSAL_LM",
        )
    args = SFTConfig(
        output_dir=str(cache / "out"),
        max_steps=STEPS,
        per_device_train_batch_size=row.batch_size,
        learning_rate=1e-5,
        optim="adamw_torch_fused",
        bf16=True,
        gradient_checkpointing=row.checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        padding_free=True,
        max_length=None,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        logging_steps=STEPS,
        dataloader_num_workers=0,
    )
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=_tokenizer(),
        peft_config=peft,
    )


def _model(row: Row, cache: Path) -> Any:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, BitsAndBytesConfig

    config = AutoConfig.for_model(**SHAPES[row.shape])
    if row.method != "qlora":
        torch.manual_seed(0)
        with torch.device("cuda"):
            return AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    folder = cache / row.shape
    if not (folder / "config.json").is_file():
        # from_config cannot quantize: save random weights once, load them back in 4-bit.
        AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).save_pretrained(folder)
    quant = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )
    return AutoModelForCausalLM.from_pretrained(
        folder, quantization_config=quant, dtype=torch.bfloat16, device_map={"": 0}
    )


def _tokenizer() -> Any:
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>"
    )


# --- the grid -------------------------------------------------------------------------------


def run_grid(rows: list[Row], cache: Path) -> list[dict[str, Any]]:
    results = []
    for row in rows:
        started = time.monotonic()
        child = subprocess.run(
            [sys.executable, __file__, "--one", json.dumps(asdict(row)), "--cache", str(cache)],
            capture_output=True,
            text=True,
            check=False,
        )
        peak, required = estimate(row)
        result: dict[str, Any] = {"row": row, "peak": peak, "required": required}
        if child.returncode == 0:
            result |= json.loads(child.stdout.strip().splitlines()[-1])
        else:
            result["error"] = (child.stderr.strip().splitlines() or ["failed"])[-1][:120]
        print(f"{row.label}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        results.append(result)
    return results


def gpu_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| configuration | estimate peak | max reserved | error | estimate required "
        "| NVML used delta | error |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    errors: list[float] = []
    for result in results:
        row = result["row"]
        if "error" in result:
            lines.append(f"| {row.label} | {_gib(result['peak'])} | failed: {result['error']} |")
            continue
        torch_error = (result["peak"] - result["reserved"]) / result["reserved"]
        errors.append(torch_error)
        nvml_cells = "n/a | n/a"
        if "nvml" in result:
            nvml_error = (result["required"] - result["nvml"]) / result["nvml"]
            errors.append(nvml_error)
            nvml_cells = f"{_gib(result['nvml'])} | {nvml_error:+.1%}"
        lines.append(
            f"| {row.label} | {_gib(result['peak'])} | {_gib(result['reserved'])} "
            f"| {torch_error:+.1%} | {_gib(result['required'])} | {nvml_cells} |"
        )
    lines.append("")
    lines.append(_summary(errors))
    return "\n".join(lines)


def _summary(errors: list[float]) -> str:
    if not errors:
        return "No row was measured."
    absolute = [abs(e) for e in errors]
    median = statistics.median(absolute)
    within = sum(1 for e in absolute if e <= 0.15)
    return (
        f"Median |error| {median:.1%}, largest {max(absolute):.1%}; "
        f"{within} of {len(errors)} within ±15% (target: all, median ≤ 7%)."
    )


def _gib(value: int) -> str:
    return f"{value / GIB:.2f} GiB"


def cpu_calibration_table() -> str:
    from bench.saved_tensors import compare, default_cases

    lines = [
        "Tiny random Llama/Qwen2 models (hidden 256, 2 blocks, 2 × 128 tokens unless named), "
        "set up as the trainer sets them up; one forward under saved-tensor hooks. This checks "
        "the activation and loss terms only: weights, optimizer states, transients, allocator "
        "slack and the CUDA context need the GPU grid.",
        "",
        "| case | estimate (saved for backward) | measured (saved-tensor hooks) | error |",
        "|---|---:|---:|---:|",
    ]
    errors = []
    for case in default_cases():
        predicted, measured, error = compare(case)
        errors.append(error)
        lines.append(
            f"| {case.label} | {predicted / 2**20:.2f} MiB | {measured / 2**20:.2f} MiB "
            f"| {error:+.1%} |"
        )
    lines.append("")
    lines.append(_summary(errors))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    parser.add_argument("--quick", action="store_true", help="a third of the grid")
    parser.add_argument("--cpu-calibration", action="store_true", help="no GPU needed")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child: one configuration
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        row = Row(**json.loads(args.one))
        print(json.dumps(measure_one(row, args.cache)))
        return 0
    if args.cpu_calibration:
        table = cpu_calibration_table()
        title = "Estimator activations vs saved-tensor hooks (CPU, tiny models)"
    else:
        import torch

        if not torch.cuda.is_available():
            print("No CUDA GPU here: the accuracy grid needs one (try --cpu-calibration).")
            return 0
        with tempfile.TemporaryDirectory() as cache:
            table = gpu_table(run_grid(grid(args.quick), Path(cache)))
        title = f"Estimator vs measured on {torch.cuda.get_device_name(0)}"
    report = f"## {title}\n\n{time.strftime('%Y-%m-%d')}\n\n{table}\n"
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
