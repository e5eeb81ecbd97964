"""Finished runs written by hand for the model card and push tests: the files a trainer and an
export leave (run.yaml, status, ledger, metrics, probes, output/, export/), no model loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status

BASE = "TestOrg/Base-1B"
DATASET = "TestOrg/identity-chats"
FINGERPRINT = "9f2c1ab0d4e5f607"
STARTED = 1_700_000_000.0
ADAPTER_FILES = {"adapter_config.json": b"{}", "adapter_model.safetensors": b"\0" * 4096}
MERGED_FILES = {"config.json": b"{}", "model.safetensors": b"\1" * 10_000, "tokenizer.json": b"{}"}


def cached_base(hf_home: Path, license: str = "apache-2.0") -> Path:
    """BASE in the Hugging Face cache (config and card only), its card stating `license`."""
    repo = hf_home / "hub" / ("models--" + BASE.replace("/", "--"))
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (snapshot / "README.md").write_text(f"---\nlicense: {license}\nlanguage: en\n---\n# Base\n")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    return snapshot


def finished_run(home: Path, name: str = "wren", method: str = "lora", **settings: Any) -> RunDir:
    config = RunConfig.from_dict(
        {
            "name": name,
            "model": BASE,
            "dataset": DATASET,
            "method": method,
            "epochs": 2,
            "learning_rate": 2e-4,
            "batch_size": 4,
            "grad_accum": 2,
            **settings,
        }
    )
    run = RunDir.create(name, home)
    save_config(config, run.config_path)
    run.write_status(Status(state="completed", started=STARTED, updated=STARTED + 125))
    run.write_ledger(
        {
            "command": f"tui-ft train {run.config_path}",
            "started": STARTED,
            "finished": STARTED + 125.0,
            "method": method,
            "objective": "sft",
            "precision": "bf16",
            "world_size": 1,
            "dataset": {
                "source": f"{DATASET}:train",
                "path": None,
                "format": "messages",
                "fingerprint": FINGERPRINT,
                "rows": 80,
                "bad_rows_skipped": 0,
                "train_examples": 72,
                "eval_examples": 8,
                "truncated": 0,
                "dropped_nothing_to_train": 0,
                "template_note": None,
            },
            "versions": {"transformers": "5.24.0", "peft": "0.21.0", "trl": "1.16.0"},
            "hardware": {
                "state": "ok",
                "driver": "580.1",
                "cuda_driver": "13.0",
                "gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory_total": 85e9}],
                "cpu": "x86_64",
                "ram_total": 2**37,
            },
            "final_state": "completed",
        }
    )
    for step in range(1, 21):
        run.append_metrics(
            {"step": step, "epoch": step / 10, "loss": 3.0 / step, "tokens": step * 1000}
        )
        if step % 10 == 0:
            run.append_metrics(
                {
                    "step": step,
                    "epoch": step / 10,
                    "eval_loss": 2.0 / step * 2,
                    "tokens": step * 1000,
                }
            )
    for step, answer in ((10, "I am an assistant."), (20, "I am Wren.")):
        run.append_probe({"step": step, "prompt": "Who are you?", "answer": answer})
    output = run.path / ".output.tmp"
    output.mkdir()
    files = ADAPTER_FILES if method != "full" else MERGED_FILES
    for file_name, data in {
        **files,
        "training_args.bin": b"pickle",
        "README.md": b"peft's",
    }.items():
        (output / file_name).write_bytes(data)
    output.rename(run.output_dir)
    return run


def merged_export(run: RunDir) -> Path:
    """export/merged/ as `tui-ft export --format merged` leaves it, with its check report."""
    folder = run.path / "export" / "merged"
    folder.mkdir(parents=True)
    for file_name, data in MERGED_FILES.items():
        (folder / file_name).write_bytes(data)
    (folder / ".tui-ft-export.json").write_text(json.dumps({"run": run.name}))
    report = {
        "format": "merged",
        "run": run.name,
        "method": "lora",
        "path": str(folder),
        "folder": str(folder),
        "size_bytes": 10_004,
        "dtype": "bfloat16",
        "identical": 3,
        "total": 3,
        "max_logit_diff": 0.01,
        "bound": None,
        "passed": True,
    }
    (run.path / "export" / "merged.check.json").write_text(json.dumps(report))
    return folder


def gguf_export(
    run: RunDir, quant: str, passed: bool | None, created: float, folder_name: str = ""
) -> Path:
    """A GGUF export as `tui-ft export --format gguf --quant QUANT` leaves it (export/gguf-QUANT
    with its marker, made at `created`), with its check report unless `passed` is None (a check
    that never ended). `folder_name`: another folder, e.g. "gguf" for a run exported before each
    quantization had a folder of its own."""
    folder = run.path / "export" / (folder_name or f"gguf-{quant}")
    folder.mkdir(parents=True)
    file = folder / f"{run.name}-{quant}.gguf"
    file.write_bytes(b"GGUF" + b"\0" * 2048)
    marker = {"run": run.name, "format": "gguf", "quant": quant, "created": created}
    (folder / ".tui-ft-export.json").write_text(json.dumps(marker))
    if passed is not None:
        report = {
            "format": "gguf",
            "run": run.name,
            "method": "lora",
            "path": str(file),
            "folder": str(folder),
            "size_bytes": 2052,
            "quant": quant,
            "identical": 3 if passed else 1,
            "total": 3,
            "max_logit_diff": 0.01,
            "bound": None,
            "passed": passed,
            "created": created,
        }
        (folder.parent / f"{folder.name}.check.json").write_text(json.dumps(report))
    return folder
