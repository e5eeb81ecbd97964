"""ledger.json: what it takes to reproduce and trust a run: the command, the versions, the
hardware, the data (fingerprint and counts), and memory estimated against measured."""

from __future__ import annotations

import platform
import sys
import time
from typing import Any

from tui_ft import __version__
from tui_ft.core.errors import UserError
from tui_ft.core.estimate.peak import estimate_training, run_options, target_from_snapshot
from tui_ft.core.hardware.snapshot import HardwareSnapshot
from tui_ft.core.models.info import read_model_info
from tui_ft.core.runs.command import train_command
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.ledger import Ledger, LedgerEstimate, LedgerHardware
from tui_ft.core.versions import library_versions
from tui_ft.engine.train.data import row_length


def ledger_at_start(run: RunDir, prepared: Any, snapshot: HardwareSnapshot) -> Ledger:
    return {
        "command": train_command(run.config_path),
        "started": time.time(),
        "model": {"ref": prepared.config.model, "resolved": prepared.model_ref.description},
        "method": prepared.config.method,
        "objective": prepared.config.objective,
        "start_from": prepared.start.summary() if prepared.start else None,
        "precision": prepared.precision,
        "world_size": prepared.world_size,
        "dataset": prepared.data.summary,
        "probe_prompts": prepared.data.probe_prompts,
        "versions": {"tui-ft": __version__, **library_versions()},
        "python": platform.python_version(),
        "hardware": hardware_summary(snapshot),
        "batching": {"choice": prepared.batching.name, "why": prepared.batching.why},
        "estimate": estimate_summary(prepared, snapshot),
        "argv": sys.argv,
    }


def estimate_summary(prepared: Any, snapshot: HardwareSnapshot) -> LedgerEstimate:
    """The estimator's prediction for this run, to compare with the measured peak."""
    try:
        info = read_model_info(prepared.model_ref)
    except UserError as err:
        return {"error": err.message}
    config = prepared.config
    rows = prepared.data.train_rows + prepared.data.eval_rows
    options = run_options(config, max((row_length(row) for row in rows), default=None))
    result = estimate_training(info, config, target_from_snapshot(snapshot), options)
    return {
        "peak_bytes": result.peak_bytes,
        "required_bytes": result.required_bytes,
        "peak_high_bytes": result.peak_high_bytes,
        "required_high_bytes": result.required_high_bytes,
        "available_bytes": result.available_bytes,
        "device": result.target.device,
        "fits": result.fits,
        "terms": {t.key: t.bytes for t in result.terms},
    }


def hardware_summary(snapshot: HardwareSnapshot) -> LedgerHardware:
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
