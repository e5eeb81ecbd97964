"""The trainer process: `python -m tui_ft.engine.train.main RUN_DIR [--resume]`.

Started detached by tui_ft.core.runs.launch (or under torchrun for several processes); it talks to
the world only through its run directory. SIGTERM asks for a graceful stop: the current step
ends, a checkpoint is saved and the state becomes `stopped`. The first process (rank 0) holds
the run's lock for its whole life (core/runs/lock.py): one trainer per run.
"""

from __future__ import annotations

import signal
import sys
import threading

_STOP_REQUESTED = threading.Event()


def _listen_for_stop() -> None:
    signal.signal(signal.SIGTERM, lambda *_: _STOP_REQUESTED.set())


if __name__ == "__main__":  # before the imports: a stop sent while they load must be heard
    _listen_for_stop()

import argparse  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

from tui_ft.core.runs.layout import RunDir  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui_ft.engine.train.main")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    _listen_for_stop()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    run = RunDir(args.run_dir)

    from tui_ft.core.runs.lock import NotThisTrainer, claim_for_trainer
    from tui_ft.engine.train.setup import is_main_process

    lock = None
    if is_main_process():
        try:
            # The launcher queued the process it started: this one, or torchrun, its parent.
            lock = claim_for_trainer(run, {os.getpid(), os.getppid()})
        except NotThisTrainer as refused:
            print(f"tui-ft trainer: {refused.message} {refused.hint}", file=sys.stderr)
            if int(os.environ.get("WORLD_SIZE", "1")) > 1:
                # The other ranks would wait for this one until the distributed timeout:
                # torchrun, our parent, passes SIGTERM on to them (they stop before training).
                os.kill(os.getppid(), signal.SIGTERM)
            return 0 if refused.stopped else 1

    from tui_ft.engine.train.run import run_training

    try:
        return run_training(run, _STOP_REQUESTED, resume=args.resume)
    finally:
        if lock is not None:
            lock.release()


if __name__ == "__main__":
    sys.exit(main())
