"""ledger.json: what it takes to reproduce and trust a run: the command, the versions, the
hardware, the data (fingerprint and counts), and memory estimated against measured."""

from __future__ import annotations

import platform
import sys
import time
from importlib import metadata
from typing import Any

from tui_ft.core.hardware import probe
from tui_ft.core.rundir import RunDir

LIBRARIES = (
    "tui-ft",
    "torch",
    "transformers",
    "peft",
    "trl",
    "accelerate",
    "datasets",
    "bitsandbytes",
)


def ledger_at_start(run: RunDir, prepared: Any) -> dict[str, Any]:
    return {
        "command": f"tui-ft train {run.config_path}",
        "started": time.time(),
        "model": {"ref": prepared.config.model, "resolved": prepared.model_ref.description},
        "method": prepared.config.method,
        "precision": prepared.precision,
        "world_size": prepared.world_size,
        "dataset": prepared.data.summary,
        "probe_prompts": prepared.data.probe_prompts,
        "versions": versions(),
        "python": platform.python_version(),
        "hardware": hardware_summary(),
        "argv": sys.argv,
    }


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def hardware_summary() -> dict[str, Any]:
    snapshot = probe()
    return {
        "state": snapshot.state,
        "driver": snapshot.driver_version,
        "cuda_driver": snapshot.cuda_driver_version,
        "gpus": [
            {"index": g.index, "name": g.name, "memory_total": g.memory_total}
            for g in snapshot.gpus
        ],
        "cpu": snapshot.host.cpu_name,
        "ram_total": snapshot.host.ram_total,
    }
