"""`tui-ft train CONFIG.yaml`: start a run and follow it on one line, or `--detach` and leave it
running; `--preflight` measures two steps first; `--print-launch` prepares a multi-node run."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time

from tui_ft.core.children.env import offline_here
from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.runs.jsonl_tail import JsonlTail
from tui_ft.core.runs.launch import multi_node_command, prepare_run, start_trainer
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.liveness import effective_status
from tui_ft.core.runs.metrics import as_rows
from tui_ft.core.runs.status import Status
from tui_ft.core.safe_text import safe
from tui_ft.core.units import format_bytes, format_duration

POLL_S = 0.5


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.name:
        config.name = args.name
    nproc = args.nproc or 1
    if args.preflight:
        return _preflight(config, args.json)
    if args.print_launch:
        run_dir = prepare_run(config)
        print(f"# run {run_dir.name} prepared in {run_dir.path}")
        print(multi_node_command(run_dir, nproc, args.nnodes))
        return 0
    run_dir = prepare_run(config)
    process = start_trainer(run_dir, nproc=nproc)
    if args.detach:
        print(run_dir.name)
        print(
            f"started in the background (log: {run_dir.log_path}); follow it with `tui-ft` "
            f"or `tui-ft runs`, stop it with `tui-ft stop {run_dir.name}`.",
            file=sys.stderr,
        )
        return 0
    return follow(run_dir, process)


def follow(run_dir: RunDir, process: subprocess.Popen[bytes]) -> int:
    """One progress line until the trainer exits; Ctrl-C asks it to stop gracefully."""
    print(f"run {run_dir.name}: {safe(str(run_dir.path))}", file=sys.stderr)
    metrics = JsonlTail(run_dir.metrics_path)
    last_loss: float | str | None = None
    tokens_per_s: float | None = None
    interrupted = False
    shown = ""
    while True:
        try:
            exited = process.poll() is not None
            for record in as_rows(metrics.read_new()):
                last_loss = record.get("loss", last_loss)
                tokens_per_s = record.get("tokens_per_s", tokens_per_s)
            status = run_dir.read_status()
            shown = _print_progress(status, last_loss, tokens_per_s, shown)
            if exited:
                break
            time.sleep(POLL_S)
        except KeyboardInterrupt:
            if not interrupted:
                interrupted = True
                os.killpg(process.pid, signal.SIGTERM)
                print("\nstopping: saving a checkpoint first…", file=sys.stderr)
    sys.stderr.write("\n")
    return _report_end(run_dir, process.returncode)


def _print_progress(
    s: Status, loss: float | str | None, tokens_per_s: float | None, shown: str
) -> str:
    """Rewrites one line on a terminal; elsewhere (a log, CI) prints only what changed."""
    total = f"/{s.max_steps}" if s.max_steps else ""
    parts = [f"{s.state}", f"step {s.step}{total}"]
    if isinstance(loss, float):
        parts.append(f"loss {loss:.4f}")
    elif loss is not None:
        parts.append(f"loss {loss}")
    if tokens_per_s:
        parts.append(f"{tokens_per_s:,.0f} tok/s")
    if s.eta_s is not None:
        parts.append(f"ETA {format_duration(s.eta_s)}")
    line = safe(" · ".join(parts))  # state and loss come from run files
    if line != shown:
        sys.stderr.write(f"\r{line[:120]:<120}" if sys.stderr.isatty() else f"{line}\n")
        sys.stderr.flush()
    return line


def _report_end(run_dir: RunDir, returncode: int | None) -> int:
    status = effective_status(run_dir)
    if status.state == "completed":
        print(f"completed: the trained model is in {run_dir.output_dir}")
        return 0
    if status.state == "stopped":
        print(f"stopped at step {status.step}; continue with `tui-ft resume {run_dir.name}`")
        return 0
    error = status.error
    if status.active or error is None or error.kind == "interrupted":
        # The trainer never wrote how it ended: its exit status is the one witness.
        message, hint = vanished(run_dir, status, returncode)
    else:
        message, hint = error.message, error.hint
    # status.json is a run file: its message and hint are outside text.
    print(f"error: {safe(message)}", file=sys.stderr)
    if hint:
        print(f"hint: {safe(hint)}", file=sys.stderr)
    print(f"log: {safe(str(run_dir.log_path))}", file=sys.stderr)
    return 1


def vanished(run_dir: RunDir, status: Status, returncode: int | None) -> tuple[str, str]:
    """What happened to a trainer that ended without recording it, from its exit status."""
    at = f"at step {status.step}" if status.step else "before its first step"
    resume = f"`tui-ft resume {run_dir.name}` continues from its last complete checkpoint."
    if returncode is not None and returncode < 0:
        number = -returncode
        name = _signal_name(number)
        if number == signal.SIGKILL:
            return (
                f"the trainer was killed by signal {number} ({name}) {at}: by `kill -9`, or "
                "most often by the system's out-of-memory killer when RAM ran out "
                "(`dmesg` or `journalctl -k` says which).",
                f"If RAM ran out, lower batch_size or max_length first; then {resume}",
            )
        return f"the trainer was killed by signal {number} ({name}) {at}.", resume
    return (
        f"the trainer exited with status {returncode} {at} without recording why.",
        f"{run_dir.log_path} holds its last output; {resume}",
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown signal"


def _preflight(config: RunConfig, as_json: bool) -> int:
    offline_here([config.model], [config.dataset])  # before the model libraries are imported
    from tui_ft.engine.train.preflight import preflight

    with contextlib.redirect_stdout(sys.stderr):  # the Trainer prints its logs to stdout
        result = preflight(config)
    if as_json:
        print(json.dumps(result, indent=2))
        return 0
    peak = result.get("peak_reserved_bytes") or result.get("peak_rss_bytes")
    where = "GPU (torch reserved)" if "peak_reserved_bytes" in result else "process memory (RSS)"
    print(f"pre-flight: 2 steps on the longest rows ({result['longest_row_tokens']} tokens)")
    print(f"  peak {where}: {format_bytes(peak)}")
    print(f"  step time: {result['step_time_s']:.2f} s")
    estimate, upper = result["run_time_estimate_s"], result["run_time_upper_s"]
    print(
        f"  whole run ({result['planned_steps']} steps): about "
        f"{format_duration(estimate)}, at most {format_duration(upper)}"
    )
    return 0
