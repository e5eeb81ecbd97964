"""A real trainer process with one fault injected: `python -m tests.faults.inject FAULT RUN_DIR
[--resume]`, run from the repository root. The fault is put in place before the trainer
imports anything, then the trainer runs as `python -m tui_ft.engine.train.main` would.

Faults:
  disk-full-output   safetensors refuses to write output/, with the error it raises on a full
                     disk (its own SafetensorError, not an OSError)
  sigterm-in-save    SIGTERM arrives while the first checkpoint is being written
  sigkill-after-save the trainer is killed (SIGKILL) right after its first checkpoint is whole
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

# What safetensors 0.x raises when the disk is full (seen on a full tmpfs).
SAFETENSORS_FULL = "Error while serializing: I/O error: No space left on device (os error 28)"


def disk_full_on_output() -> None:
    import safetensors.torch
    from safetensors import SafetensorError

    real = safetensors.torch.save_file

    def save_file(tensors: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        if ".output.tmp" in str(filename):
            raise SafetensorError(SAFETENSORS_FULL)
        return real(tensors, filename, *args, **kwargs)

    # Before peft and transformers bind it with `from safetensors.torch import save_file`.
    safetensors.torch.save_file = save_file


def sigterm_in_first_save() -> None:
    from transformers import Trainer

    real = Trainer._save_checkpoint
    sent: list[bool] = []

    def _save_checkpoint(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
        return real(self, *args, **kwargs)

    Trainer._save_checkpoint = _save_checkpoint  # type: ignore[method-assign]


def sigkill_after_first_save() -> None:
    from tui_ft.engine.train.callback import RunDirCallback

    real = RunDirCallback.on_save

    def on_save(self: Any, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)  # the checkpoint's marker is written: it is whole
        os.kill(os.getpid(), signal.SIGKILL)

    RunDirCallback.on_save = on_save  # type: ignore[method-assign]


FAULTS = {
    "disk-full-output": disk_full_on_output,
    "sigterm-in-save": sigterm_in_first_save,
    "sigkill-after-save": sigkill_after_first_save,
}


if __name__ == "__main__":
    FAULTS[sys.argv[1]]()
    from tui_ft.engine.train.main import main

    sys.exit(main(sys.argv[2:]))
