"""Files that go wrong under a run: a disk that fills up while the model is saved, a newest
checkpoint cut short, a status.json damaged after the run completed. Each is shown as what it
is, in a sentence with the next step, and the run still reaches its planned step."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.faults.conftest import (
    TRAINER_TIMEOUT_S,
    assert_one_history,
    copy_run,
    fault_config,
    run_injected,
)
from tui_ft.core.errors import UserError
from tui_ft.core.runs.control import resume_notes
from tui_ft.core.runs.launch import prepare_run, resume_run
from tui_ft.core.runs.listing import list_runs
from tui_ft.core.runs.liveness import effective_status


def test_disk_full_while_saving_output_fails_as_disk_then_resume_saves(
    tiny_model: str, dataset: str
) -> None:
    run = prepare_run(fault_config(tiny_model, dataset))
    assert run_injected("disk-full-output", run) == 1
    status = run.read_status()
    assert status.state == "failed" and status.error is not None, run.log_path.read_text()[-3000:]
    assert status.error.kind == "disk"
    assert str(run.path) in status.error.message and "is free now" in status.error.message
    assert status.error.hint.startswith("Free space")
    assert f"`tui-ft resume {run.name}`" in status.error.hint
    assert "Traceback" not in status.error.hint and "\n" not in status.error.hint
    assert not run.output_dir.exists()
    assert not (run.path / ".output.tmp").exists()  # the partial save was cleared away

    # Space freed: the last checkpoint is the run's end, so the resume only saves it.
    assert resume_run(run).wait(timeout=TRAINER_TIMEOUT_S) == 0
    assert_one_history(run, 6)
    assert "resumed" in run.read_ledger()
    saved = load_file(run.output_dir / "adapter_model.safetensors")
    trained = load_file(run.checkpoints_dir / "checkpoint-6" / "adapter_model.safetensors")
    assert saved.keys() == trained.keys()
    assert all(torch.equal(saved[name], trained[name]) for name in saved)  # not one step more


def test_a_truncated_newest_checkpoint_is_skipped_with_a_note(
    finished_run: Path, tmp_path: Path
) -> None:
    run = copy_run(finished_run, tmp_path, "truncated")
    optimizer = run.checkpoints_dir / "checkpoint-6" / "optimizer.pt"
    with optimizer.open("r+b") as handle:
        handle.truncate(optimizer.stat().st_size // 2)
    assert run.last_good_checkpoint() == run.checkpoints_dir / "checkpoint-4"
    (note,) = resume_notes(run)
    assert note.startswith("checkpoint-6 is damaged (optimizer.pt has ")
    assert note.endswith("resuming from checkpoint-4.")

    assert resume_run(run, more_steps=2).wait(timeout=TRAINER_TIMEOUT_S) == 0
    assert_one_history(run, 8)
    assert "checkpoint-6 is damaged" in run.log_path.read_text()


def test_an_unreadable_checkpoint_fails_as_checkpoint_and_its_hint_works(
    finished_run: Path, tmp_path: Path
) -> None:
    run = copy_run(finished_run, tmp_path, "garbled")
    newest = run.checkpoints_dir / "checkpoint-6"
    optimizer = newest / "optimizer.pt"
    optimizer.write_bytes(b"\0" * optimizer.stat().st_size)  # same size: the marker agrees
    assert resume_run(run, more_steps=2).wait(timeout=TRAINER_TIMEOUT_S) == 1
    status = run.read_status()
    assert status.state == "failed" and status.error is not None
    assert status.error.kind == "checkpoint", status.error
    assert status.error.message.startswith(f"the checkpoint {newest} cannot be read (")
    assert status.error.hint == (
        f"Set it aside with `mv {newest} {newest}.damaged`; then `tui-ft resume garbled` "
        "continues from checkpoint-4."
    )
    newest.rename(f"{newest}.damaged")  # what the hint says
    assert resume_run(run).wait(timeout=TRAINER_TIMEOUT_S) == 0
    assert_one_history(run, 8)


def test_a_completed_run_with_a_damaged_status_stays_completed(
    finished_run: Path, tmp_path: Path
) -> None:
    run = copy_run(finished_run, tmp_path, "damaged")
    before = files_of(run.path)
    run.status_path.write_text('{"state": "compl')  # cut short by a full disk, say
    shown = effective_status(run, now=run.status_path.stat().st_mtime + 3600)
    assert shown.state == "completed" and shown.step == 6
    (summary,) = list_runs(tmp_path)
    assert summary.status.state == "completed" and summary.progress == 1.0
    assert "output/ is complete" in summary.note
    with pytest.raises(UserError, match="already completed"):
        resume_run(run)
    # A refusal writes nothing (the lock file is the lock itself).
    assert files_of(run.path) == {**before, "status.json": b'{"state": "compl'}
    shutil.rmtree(run.output_dir)  # without output/ it is no longer provably complete
    assert run.read_status().state == "queued"


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != "run.lock"
    }
