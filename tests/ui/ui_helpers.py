"""Fakes and fixtures for driving the app: fixed clock, fake GPUs, a fake launcher, run folders."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.hardware.snapshot import FakeBackend, HardwareSnapshot, HostInfo
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import RunError, Status
from tui_ft.ui.app import TuiFtApp, make_app

NOW = 1_767_225_600.0  # 2026-01-01: every age on screen is measured from here
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TWO_H100 = FIXTURES / "fake_gpu_2xh100.json"


def clock() -> float:
    return NOW


class NoGpuBackend:
    def snapshot(self) -> HardwareSnapshot:
        host = HostInfo("Test CPU", 8, 16, 64 * 2**30, 48 * 2**30)
        return HardwareSnapshot("no-gpu", "no NVIDIA GPU found", host, taken_at=NOW)

    def close(self) -> None:
        """Nothing to release."""


class FakeLauncher:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def launch(self, config: RunConfig, home: Path | None = None) -> RunDir:
        raise NotImplementedError("the wizard's tests launch runs")

    def resume(self, run: RunDir) -> None:
        self.calls.append(("resume", run.name))

    def stop(self, run: RunDir) -> str:
        self.calls.append(("stop", run.name))
        return "process 1"


def app_for(home: Path, **kwargs: Any) -> TuiFtApp:
    kwargs.setdefault("hardware_backend", FakeBackend(TWO_H100))
    kwargs.setdefault("launcher", FakeLauncher())
    kwargs.setdefault("clock", clock)
    return make_app(runs_home=home, **kwargs)


def make_run(home: Path, name: str, status: Status, method: str = "lora") -> RunDir:
    run = RunDir.create(name, home)
    config = RunConfig(name=name, model="demo", method=method, dataset="demo", max_steps=300)
    save_config(config, run.config_path)
    run.write_status(status)
    return run


def metric(step: int) -> dict[str, Any]:
    """A plausible training record: loss falling, lr warming up, steady throughput."""
    return {
        "step": step,
        "epoch": round(step / 40, 4),
        "loss": round(2.5 * math.exp(-step / 30) + 0.3 + 0.04 * math.sin(step), 4),
        "lr": 2e-4 * min(1.0, step / 5),
        "grad_norm": round(1.5 + 0.3 * math.sin(step / 3), 3),
        "tokens": step * 800,
        "tokens_per_s": round(3100 + 40 * math.sin(step), 1),
        "rss": int(1.2e9 + step * 1e6),
        "time": NOW - 300 + step,
    }


def fill(run: RunDir, steps: int, evals: tuple[int, ...] = (), log_lines: int = 30) -> None:
    for step in range(1, steps + 1):
        run.append_metrics(metric(step))
        if step in evals:
            run.append_metrics(
                {"step": step, "eval_loss": round(2 * math.exp(-step / 40) + 0.5, 4)}
            )
            run.append_probe(
                {"step": step, "prompt": "What is your name?", "answer": f"I am Jasper ({step})."}
            )
    with run.log_path.open("a") as log:
        log.writelines(f"[trainer] step {i}: ok\n" for i in range(log_lines))


def running_status(step: int = 120) -> Status:
    return Status(
        "training",
        started=NOW - 300,
        updated=NOW - 2,
        step=step,
        max_steps=300,
        epoch=step / 40,
        eta_s=420.0,
    )


def three_runs(home: Path) -> dict[str, RunDir]:
    """A run in progress, a completed one and a failed one (out of memory, with its hint)."""
    running = make_run(home, "demo-lora-running", running_status())
    fill(running, 120, evals=(40, 80, 120))
    done = make_run(
        home,
        "demo-lora-done",
        Status(
            "completed", started=NOW - 7200, updated=NOW - 3600, step=300, max_steps=300, epoch=7.5
        ),
    )
    fill(done, 300, evals=(100, 200, 300))
    failed = make_run(
        home,
        "demo-full-failed",
        Status(
            "failed",
            started=NOW - 9000,
            updated=NOW - 8000,
            step=12,
            max_steps=300,
            epoch=0.3,
            error=RunError(
                "oom",
                "CUDA ran out of memory at step 12 (batch 8 × 1024 tokens).",
                "Lower batch_size to 4 or turn on gradient_checkpointing in run.yaml.",
            ),
        ),
        method="full",
    )
    fill(failed, 12)
    with failed.log_path.open("a") as log:
        log.write("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n")
    return {"running": running, "done": done, "failed": failed}


async def wait_for(pilot: Pilot[Any], condition: Callable[[], object], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.02)
