"""The pre-flight check as the app runs it: `tui-ft train --preflight --json` in a child
process (through the app's child runner, core.children.runner), on a temporary copy of the
config, read back as numbers or as the child's error sentence. The child loads the model, so
the UI process never does; cancelling kills it.

Pure Python (no Textual): the review screen calls `PreflightProcess.run` from a thread worker
and `cancel` from the UI thread.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui_ft.core.children.runner import Child, ChildCommand, ChildResult, Runner, signal_name
from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.errors import UserError
from tui_ft.core.hardware.gpu_choice import choose_gpus
from tui_ft.core.hardware.probe import probe
from tui_ft.core.units import format_bytes, format_duration

# The CUDA_VISIBLE_DEVICES for the check (None: leave it as it is).
Devices = Callable[[RunConfig], str | None]


def run_devices(config: RunConfig) -> str | None:
    """The GPU the run's first process will train on (`gpus:` or the freest), chosen the way
    the launcher chooses it: the check measures on the device the run will use."""
    return choose_gpus(config.gpus[:1], 1, probe())


def preflight_argv(config_path: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tui_ft.cli",
        "train",
        str(config_path),
        "--preflight",
        "--json",
    ]


@dataclass(frozen=True)
class PreflightRequest:
    config: RunConfig
    path: Path  # the temporary copy of the config the child reads
    devices: Devices = run_devices

    def command(self) -> ChildCommand:
        env = {"TOKENIZERS_PARALLELISM": "false"}
        visible = self.devices(self.config)
        if visible is not None:
            env["CUDA_VISIBLE_DEVICES"] = visible
        return ChildCommand(
            preflight_argv(self.path),
            models=[self.config.model],
            datasets=[self.config.dataset],
            env=env,
        )


class PreflightCancelled(Exception):
    """The person cancelled the check; nothing to report."""


@dataclass(frozen=True)
class PreflightReport:
    peak_bytes: int | None
    on_gpu: bool  # the peak is torch's reserved GPU memory, else the process's RSS
    step_time_s: float
    planned_steps: int
    run_time_estimate_s: float
    run_time_upper_s: float
    longest_row_tokens: int

    @classmethod
    def from_json(cls, text: str) -> PreflightReport:
        try:
            data = json.loads(text)
            on_gpu = "peak_reserved_bytes" in data
            peak = data.get("peak_reserved_bytes") if on_gpu else data.get("peak_rss_bytes")
            return cls(
                peak_bytes=None if peak is None else int(peak),
                on_gpu=on_gpu,
                step_time_s=float(data["step_time_s"]),
                planned_steps=int(data["planned_steps"]),
                run_time_estimate_s=float(data["run_time_estimate_s"]),
                run_time_upper_s=float(data["run_time_upper_s"]),
                longest_row_tokens=int(data["longest_row_tokens"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise UserError(
                f"the pre-flight check answered something unreadable ({err}).",
                "Run `tui-ft train run.yaml --preflight --json` in a shell to see its output.",
            ) from None

    def lines(self) -> list[str]:
        where = "GPU memory (torch reserved)" if self.on_gpu else "process memory (RSS, no GPU)"
        return [
            f"2 steps on the longest rows ({self.longest_row_tokens} tokens): peak {where} "
            f"{format_bytes(self.peak_bytes)}, {self.step_time_s:.2f} s a step.",
            f"Whole run ({self.planned_steps} steps): about "
            f"{format_duration(self.run_time_estimate_s)}, "
            f"at most {format_duration(self.run_time_upper_s)}.",
        ]


class PreflightProcess:
    """One pre-flight check. `run` blocks (call it from a worker thread); `cancel` may be called
    from any thread, before, during or after `run`."""

    def __init__(self, config: RunConfig, runner: Runner, devices: Devices = run_devices) -> None:
        self.config = config
        self.runner = runner
        self.devices = devices
        self._lock = threading.Lock()
        self._child: Child | None = None
        self._cancelled = False

    def run(self) -> PreflightReport:
        with tempfile.TemporaryDirectory(prefix="tui-ft-preflight-") as scratch:
            path = Path(scratch) / "run.yaml"
            save_config(self.config, path)
            result = self._collect(PreflightRequest(self.config, path, self.devices))
        if result.cancelled:
            raise PreflightCancelled
        if result.returncode == 0:
            return PreflightReport.from_json(result.stdout)
        raise error_from_output(result)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            child = self._child
        if child is not None:
            child.cancel()

    def _collect(self, request: PreflightRequest) -> ChildResult:
        with self._lock:
            if self._cancelled:
                raise PreflightCancelled
            self._child = self.runner.start(request)
        return self._child.collect()


def error_from_output(result: ChildResult) -> UserError:
    """The child's own `error:` / `hint:` sentences when it wrote them (tui-ft's CLI always does
    for a UserError), else what is known: the exit code and its last line of output."""
    said = result.error()
    if said is not None:
        return UserError("pre-flight: " + said.message, said.hint)
    last = result.last_line()
    code = result.returncode
    if code < 0:
        what = f"the pre-flight check was killed by {signal_name(code)}"
        hint = "SIGKILL from the system usually means it ran out of memory (RAM)."
    else:
        what = f"the pre-flight check failed (exit code {code})"
        hint = "Run `tui-ft train run.yaml --preflight` in a shell to see its whole output."
    return UserError(f"{what}: {last}" if last else f"{what}.", hint)
