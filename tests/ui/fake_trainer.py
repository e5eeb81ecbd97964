"""A stand-in trainer for the reattach test: writes status.json heartbeats and metrics.jsonl
records the way the real one does, and ends as `stopped` on SIGTERM.

Usage: python fake_trainer.py RUN_DIR STEPS SECONDS_PER_STEP
"""

from __future__ import annotations

import math
import os
import signal
import socket
import sys
import time
from pathlib import Path

from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status


def main() -> None:
    run, steps, pause = RunDir(Path(sys.argv[1])), int(sys.argv[2]), float(sys.argv[3])
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    started = time.time()
    for step in range(1, steps + 1):
        if stop:
            break
        now = time.time()
        run.append_metrics({"step": step, "loss": 2.0 * math.exp(-step / 50), "time": now})
        run.write_status(
            Status(
                "training",
                pid=os.getpid(),
                host=socket.gethostname(),
                started=started,
                updated=now,
                step=step,
                max_steps=steps,
            )
        )
        time.sleep(pause)
    final = "stopped" if stop else "completed"
    run.write_status(
        Status(
            final, pid=os.getpid(), started=started, updated=time.time(), step=step, max_steps=steps
        )
    )


if __name__ == "__main__":
    main()
