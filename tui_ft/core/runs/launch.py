"""Starting trainer processes: the one code path shared by `tui-ft train`, `tui-ft resume` and
the UI. The trainer gets its own session, so closing the terminal or the SSH connection never
kills a run, and its output goes to the run's train.log.

One trainer per run: the check that nothing runs, `queued` and the start happen under the
run's lock (core/runs/lock.py), so two launches in the same instant start one trainer."""

from __future__ import annotations

import dataclasses
import math
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tui_ft.core.children.env import child_env
from tui_ft.core.config import RunConfig, load_config, save_config
from tui_ft.core.errors import UserError
from tui_ft.core.hardware.gpu_choice import choose_gpus
from tui_ft.core.hardware.probe import probe
from tui_ft.core.objectives import objective_named
from tui_ft.core.runs.layout import RunDir, checkpoint_step
from tui_ft.core.runs.lineage import CONTINUE_ADAPTER, start_point
from tui_ft.core.runs.listing import new_run_name
from tui_ft.core.runs.liveness import effective_status, is_this_host, pid_alive
from tui_ft.core.runs.lock import LOCK_FILE, RunLock
from tui_ft.core.runs.status import Status
from tui_ft.core.trackers import missing_tracker_error

TRAINER_MODULE = "tui_ft.engine.train.main"
# Others hold the lock briefly (a launch, a stop, a trainer writing its last state): wait so
# long for them; a trainer holds it for its life, and the status says so sooner.
LAUNCH_WAIT_S = 10.0


def launch_run(config: RunConfig, *, nproc: int = 1, home: Path | None = None) -> RunDir:
    """Create the run directory (run.yaml, status `queued`) and start its trainer."""
    run = prepare_run(config, home)
    start_trainer(run, nproc=nproc)
    return run


def prepare_run(config: RunConfig, home: Path | None = None) -> RunDir:
    """The run directory with its run.yaml and a `queued` status, no process yet."""
    problems = config.validate()
    if problems:
        raise UserError(f"the run cannot start: {problems[0]}", "Fix the setting and retry.")
    missing = missing_tracker_error(config.report_to)  # said here, not in train.log later
    if missing is not None:
        raise missing
    objective = objective_named(config.objective)
    refusal = objective.machine_check(config.objective_settings, lambda: probe().has_gpu)
    if refusal is not None:
        raise refusal
    start = start_point(config, home)
    if start is not None and start.how == CONTINUE_ADAPTER:
        # The earlier adapter trains further: its shape is the one that runs (and is estimated).
        config.lora = dataclasses.replace(start.config.lora)
    name = config.name or new_run_name(config.model, config.method)
    run = RunDir.create(name, home)
    config.name = run.name
    save_config(config, run.config_path)
    run.write_status(Status(state="queued"))
    return run


def resume_run(
    run: RunDir,
    *,
    more_epochs: float | None = None,
    more_steps: int | None = None,
    nproc: int = 1,
) -> subprocess.Popen[bytes]:
    """Continue from the last complete checkpoint (from the start for a run stopped before its
    first step); `more_*` extends the run first. Refusals leave every run file as it was."""
    check_extension(more_epochs, more_steps)

    def before_start(status: Status) -> None:
        checkpoint = run.last_good_checkpoint()
        extend = more_epochs is not None or more_steps is not None
        if status.state == "completed" and not extend:
            raise UserError(
                f"run {run.name} already completed.",
                "Add --more-epochs N or --more-steps N to train it further.",
            )
        if checkpoint is None and (status.step > 0 or status.state == "completed"):
            # Before its first step (stopped while queued or loading) nothing is lost by
            # starting over in the same folder; after it, that would be a new run.
            raise UserError(
                f"run {run.name} has no complete checkpoint to resume from.",
                f"Start it again with `tui-ft train {run.config_path}`.",
            )
        if extend:
            step = checkpoint_step(checkpoint) if checkpoint else 0
            config = extended_config(run, status, step, more_epochs, more_steps)
            save_config(config, run.config_path)

    return start_trainer(run, resume=True, nproc=nproc, before_start=before_start)


def check_extension(more_epochs: float | None, more_steps: int | None) -> None:
    if more_steps is not None and (isinstance(more_steps, bool) or more_steps < 1):
        raise UserError(
            f"--more-steps must be a whole number of at least 1 (it is {more_steps}).",
            "It counts the optimizer steps to add to the run.",
        )
    if more_epochs is not None and not (math.isfinite(more_epochs) and more_epochs > 0):
        raise UserError(
            f"--more-epochs must be a number above 0 (it is {more_epochs:g}).",
            "It counts the passes over the data to add to the run; 0.5 is half of one.",
        )


def extended_config(
    run: RunDir,
    status: Status,
    done_steps: int,
    more_epochs: float | None,
    more_steps: int | None,
) -> RunConfig:
    """run.yaml with `max_steps` or `epochs` raised, validated before anyone writes it."""
    config = load_config(run.config_path)
    if more_steps is not None:
        done = config.max_steps or status.max_steps or done_steps
        config.max_steps = done + more_steps
    if more_epochs is not None:
        if config.max_steps is not None:
            raise UserError(
                f"run {run.name} trains for a number of steps (max_steps {config.max_steps}), "
                "so more epochs would not change where it ends.",
                f"Use `tui-ft resume {run.name} --more-steps N` instead.",
            )
        config.epochs += more_epochs
    problems = config.validate()
    if problems:
        raise UserError(
            f"run {run.name} cannot be extended so: {problems[0]}", "Its run.yaml is unchanged."
        )
    return config


def trainer_command(run: RunDir, *, resume: bool = False, nproc: int = 1) -> list[str]:
    tail = ["-m", TRAINER_MODULE, str(run.path), *(["--resume"] if resume else [])]
    if nproc <= 1:
        return [sys.executable, *tail]
    return [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc}", *tail]


def start_trainer(
    run: RunDir,
    *,
    resume: bool = False,
    nproc: int = 1,
    detach: bool = True,
    before_start: Callable[[Status], None] | None = None,
) -> subprocess.Popen[bytes]:
    """`detach`: a new session, so the run outlives this terminal. The foreground `tui-ft train`
    also detaches and forwards Ctrl-C as SIGTERM, so both stop the same graceful way.

    Under the run's lock: refuse when a trainer lives, `before_start` (a resume's checks and
    run.yaml changes), `queued`, the start, and `queued` again with the new trainer's pid, the
    pid a second launcher sees before the trainer takes the lock for its life."""
    lock = RunLock(run.path)
    if not lock.acquire(LAUNCH_WAIT_S, give_up=lambda: running(run) is not None):
        raise running(run) or _lock_busy(run, lock)
    with lock:
        status = effective_status(run)
        refusal = running(run, status)
        if refusal is not None:
            raise refusal
        if before_start is not None:
            before_start(status)
        env = _trainer_env(run, nproc)  # reads run.yaml: a broken one stops us before `queued`
        queued = Status(state="queued", step=status.step, max_steps=status.max_steps)
        run.write_status(queued)
        with open(run.log_path, "ab") as log:
            process = subprocess.Popen(
                trainer_command(run, resume=resume, nproc=nproc),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=detach,
                env=env,
            )
        run.write_status(dataclasses.replace(queued, pid=process.pid))
    return process


def _trainer_env(run: RunDir, nproc: int) -> dict[str, str]:
    config = load_config(run.config_path)
    env = {
        **child_env([config.model], [config.dataset]),
        "PYTHONUNBUFFERED": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    devices = choose_gpus(config.gpus, nproc, probe())
    if devices is not None:
        env["CUDA_VISIBLE_DEVICES"] = devices
    return env


def running(run: RunDir, status: Status | None = None) -> UserError | None:
    """Why no trainer may start on `run` now (one lives, or is starting), or None."""
    status = status or effective_status(run)
    if not status.active:
        return None
    here = is_this_host(status.host)
    # Without a pid, nobody started a trainer: `prepare_run`, or a launcher that died.
    if here and (status.pid is None or not pid_alive(status.pid)):
        return None
    where = f"process {status.pid}" if here else f"a trainer on {status.host}"
    return UserError(
        f"run {run.name} is still {status.state} ({where}): one trainer per run.",
        f"Follow it with `tui-ft runs`, or stop it first with `tui-ft stop {run.name}`.",
    )


def _lock_busy(run: RunDir, lock: RunLock) -> UserError:
    holder = lock.holder()
    who = f"process {holder}" if holder else "another process"
    return UserError(
        f"run {run.name} is locked by {who} ({run.path / LOCK_FILE}): a trainer, a launch or a "
        "stop is at work on it.",
        f"Wait for it; `tui-ft runs` shows the run's state, `tui-ft stop {run.name}` stops it.",
    )


def multi_node_command(run: RunDir, nproc: int, nnodes: int) -> str:
    """What to paste into a cluster job, on every node (the runs home on a shared filesystem):
    torchrun with a c10d rendezvous at $MASTER_ADDR."""
    return " \\\n  ".join(
        [
            "torchrun",
            f"--nnodes={nnodes}",
            f"--nproc-per-node={nproc}",
            "--rdzv-backend=c10d",
            "--rdzv-endpoint=$MASTER_ADDR:29500",
            "--rdzv-id=$JOB_ID",
            f"-m {TRAINER_MODULE} {shlex.quote(str(run.path))}",
        ]
    )
