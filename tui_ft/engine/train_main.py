"""The trainer process: `python -m tui_ft.engine.train_main RUN_DIR [--resume]`.

Started detached by tui_ft.core.launch (or under torchrun for several processes); it talks to
the world only through its run directory. SIGTERM asks for a graceful stop: the current step
ends, a checkpoint is saved and the state becomes `stopped`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from tui_ft.core.rundir import RunDir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui_ft.engine.train_main")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)

    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from tui_ft.engine.train import run_training

    return run_training(RunDir(args.run_dir), stop_requested, resume=args.resume)


if __name__ == "__main__":
    sys.exit(main())
