"""What a failed trainer says: a full disk in each writer's own words, an unreadable checkpoint,
each with the free space or the file, and the command that continues."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from safetensors import SafetensorError

from tests.faults.inject import SAFETENSORS_FULL
from tui_ft.core.runs.checkpoints import write_marker
from tui_ft.core.runs.layout import RunDir
from tui_ft.engine.train.failures import classify


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    return RunDir.create("full", tmp_path / "runs")


def _torch_full() -> RuntimeError:
    """torch.save on a full disk (seen on a full tmpfs): a failed stream write, cause unnamed."""
    err = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534")
    err.__context__ = RuntimeError("basic_ios::clear: iostream error")
    return err


@pytest.mark.parametrize(
    "err",
    [
        SafetensorError(SAFETENSORS_FULL),
        _torch_full(),
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
    ],
    ids=["safetensors", "torch", "oserror", "quota"],
)
def test_a_full_disk_is_kind_disk_with_free_space_and_resume(run: RunDir, err: Exception) -> None:
    error = classify(err, "saving", run)
    assert error.kind == "disk"
    assert error.message.startswith(f"the disk holding {run.path} filled up while saving")
    assert "is free now" in error.message
    assert error.hint.startswith("Free space")
    assert error.hint.endswith(
        "then `tui-ft resume full` continues from the last complete checkpoint."
    )


def test_other_runtime_errors_stay_internal_with_the_log(run: RunDir) -> None:
    run.log_path.write_text("line one\nline two\n")
    error = classify(RuntimeError("shapes do not match"), "training", run)
    assert error.kind == "internal" and "shapes do not match" in error.message
    assert "line two" in error.hint


def test_an_unreadable_checkpoint_names_it_and_the_way_on(run: RunDir) -> None:
    for step in (4, 6):
        folder = run.checkpoints_dir / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "optimizer.pt").write_bytes(b"garbage")
        write_marker(folder)
    error = classify(
        RuntimeError("PytorchStreamReader failed reading zip archive"), "checkpoint", run
    )
    newest = run.checkpoints_dir / "checkpoint-6"
    assert error.kind == "checkpoint"
    assert error.message.startswith(f"the checkpoint {newest} cannot be read (RuntimeError: ")
    assert f"`mv {newest} {newest}.damaged`" in error.hint
    assert error.hint.endswith("`tui-ft resume full` continues from checkpoint-4.")
