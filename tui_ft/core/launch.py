"""Starting trainer processes: the one code path shared by `tui-ft train`, `tui-ft resume` and
the UI. The trainer gets its own session, so closing the terminal or the SSH connection never
kills a run, and its output goes to the run's train.log."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from tui_ft.core.child_env import child_env, run_refs
from tui_ft.core.config import RunConfig, load_config, save_config
from tui_ft.core.errors import UserError
from tui_ft.core.gpu_choice import choose_gpus
from tui_ft.core.hardware import probe
from tui_ft.core.rundir import RunDir, Status, is_this_host, new_run_name, pid_alive

TRAINER_MODULE = "tui_ft.engine.train_main"


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
    """Continue from the last complete checkpoint; `more_*` extends a finished run."""
    status = run.effective_status()
    # A trainer killed a moment ago still has a fresh heartbeat; on this host its pid tells.
    gone = is_this_host(status.host) and status.pid is not None and not pid_alive(status.pid)
    if status.active and not gone:
        raise UserError(
            f"run {run.name} is still {status.state}: there is nothing to resume.",
            f"Stop it first with `tui-ft stop {run.name}`.",
        )
    if run.last_good_checkpoint() is None:
        raise UserError(
            f"run {run.name} has no complete checkpoint to resume from.",
            "Start it again with `tui-ft train` on its run.yaml.",
        )
    if status.state == "completed" and not (more_epochs or more_steps):
        raise UserError(
            f"run {run.name} already completed.",
            "Add --more-epochs N or --more-steps N to train it further.",
        )
    if more_epochs or more_steps:
        config = load_config(run.config_path)
        if more_steps:
            config.max_steps = (status.max_steps or 0) + more_steps
        if more_epochs:
            config.epochs += more_epochs
        save_config(config, run.config_path)
    run.write_status(Status(state="queued", step=status.step, max_steps=status.max_steps))
    return start_trainer(run, resume=True, nproc=nproc)


def trainer_command(run: RunDir, *, resume: bool = False, nproc: int = 1) -> list[str]:
    tail = ["-m", TRAINER_MODULE, str(run.path), *(["--resume"] if resume else [])]
    if nproc <= 1:
        return [sys.executable, *tail]
    return [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc}", *tail]


def start_trainer(
    run: RunDir, *, resume: bool = False, nproc: int = 1, detach: bool = True
) -> subprocess.Popen[bytes]:
    """`detach`: a new session, so the run outlives this terminal. The foreground `tui-ft train`
    also detaches and forwards Ctrl-C as SIGTERM, so both stop the same graceful way."""
    env = {
        **child_env(*run_refs(run.config_path)),
        "PYTHONUNBUFFERED": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    devices = choose_gpus(load_config(run.config_path).gpus, nproc, probe())
    if devices is not None:
        env["CUDA_VISIBLE_DEVICES"] = devices
    with open(run.log_path, "ab") as log:
        return subprocess.Popen(
            trainer_command(run, resume=resume, nproc=nproc),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
            env=env,
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
