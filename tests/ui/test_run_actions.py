"""The sentences the runs list and the monitor say after a stop or a resume: true to what
happened (a queued run stops without a checkpoint; a resume may not start at the newest one)."""

from __future__ import annotations

from pathlib import Path

from tui_ft.core.runs.checkpoints import write_marker
from tui_ft.core.runs.control import BEFORE_START
from tui_ft.core.runs.layout import RunDir
from tui_ft.ui.runs.actions import resumed_text, stopped_text


def checkpoint(run: RunDir, step: int, size: int = 10) -> Path:
    folder = run.checkpoints_dir / f"checkpoint-{step}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "optimizer.pt").write_bytes(b"x" * size)
    write_marker(folder)
    return folder


def test_a_stop_before_the_trainer_started_promises_no_checkpoint(tmp_path: Path) -> None:
    run = RunDir.create("early", tmp_path)
    assert "checkpoint" not in stopped_text(run, BEFORE_START)
    assert "from the beginning" in stopped_text(run, BEFORE_START)
    assert "saves a checkpoint" in stopped_text(run, "process group 12")


def test_a_resume_says_where_it_starts(tmp_path: Path) -> None:
    run = RunDir.create("r", tmp_path)
    assert "starts from the beginning" in resumed_text(run)
    checkpoint(run, 4)
    assert resumed_text(run) == "Resumed r from its last checkpoint."
    damaged = checkpoint(run, 6)
    (damaged / "optimizer.pt").write_bytes(b"x" * 3)
    assert resumed_text(run) == (
        "checkpoint-6 is damaged (optimizer.pt has 3 of its 10 bytes); resuming from checkpoint-4."
    )
