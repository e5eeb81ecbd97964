"""The `tui-ft train` command line that reproduces a run: shown by the review screen for copy
and recorded in each run's ledger, built in one place so the two always agree."""

from __future__ import annotations

import shlex
from pathlib import Path


def train_command(config_path: str | Path, *, name: str = "", detach: bool = False) -> str:
    """`tui-ft train PATH [--name NAME] [--detach]`, quoted for a POSIX shell."""
    argv = ["tui-ft", "train", str(config_path)]
    if name:
        argv += ["--name", name]
    if detach:
        argv.append("--detach")
    return shlex.join(argv)
