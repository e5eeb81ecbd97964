"""status.json from the trainer's side: one current Status, changed under a lock, written
atomically on every change and refreshed by a heartbeat thread so that a long step or a slow
evaluation never looks like a crash."""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
import threading
import time
from typing import Any

from tui_ft.core.errors import UserError
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.liveness import HEARTBEAT_INTERVAL_S
from tui_ft.core.runs.status import Status


class StatusWriter:
    def __init__(self, run: RunDir, enabled: bool = True) -> None:
        self._run = run
        self._enabled = enabled  # only rank 0 writes run files
        self._lock = threading.Lock()
        self._stop = threading.Event()
        previous = run.read_status()
        now = time.time()
        self.status = Status(
            state="loading",
            pid=_signal_target(),
            host=socket.gethostname(),
            started=now,
            updated=now,
            step=previous.step,
            max_steps=previous.max_steps,
            epoch=previous.epoch,
            memory={**previous.memory},
            extra=dict(previous.extra),
        )
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def start(self) -> StatusWriter:
        self._write()
        if self._enabled:
            self._thread.start()
        return self

    def update(self, **fields: Any) -> None:
        with self._lock:
            self.status = dataclasses.replace(self.status, **fields)
            self._write()

    def close(self) -> None:
        self._stop.set()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_INTERVAL_S):
            with self._lock:
                try:
                    self._write()
                except UserError as err:
                    # A full disk must not end the heartbeat: training goes on, and the next
                    # beat writes again once there is room (else the run would look crashed).
                    print(f"heartbeat: {err.message}", file=sys.stderr, flush=True)

    def _write(self) -> None:
        if not self._enabled:
            return
        self.status = dataclasses.replace(self.status, updated=time.time())
        self._run.write_status(self.status)


def _signal_target() -> int:
    """The pid that `tui-ft stop` signals. Launched detached, the trainer (or torchrun, its
    parent) leads a process group of its own; signalling that group reaches every worker."""
    group = os.getpgid(0)
    return group if group in (os.getpid(), os.getppid()) else os.getpid()
