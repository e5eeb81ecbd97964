"""Deleting and stopping runs: what is refused, and why."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tui_ft.core.errors import UserError
from tui_ft.core.runs.control import delete_run, stop_run
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status


def make(home: Path, name: str, status: Status) -> RunDir:
    run = RunDir.create(name, home)
    run.config_path.write_text("model: demo\n")
    run.write_status(status)
    return run


def test_delete_removes_a_finished_run(tmp_path: Path) -> None:
    run = make(tmp_path, "done", Status("completed"))
    (run.checkpoints_dir / "checkpoint-5").mkdir(parents=True)
    delete_run(run, tmp_path)
    assert not run.path.exists()


def test_delete_refuses_an_active_run(tmp_path: Path) -> None:
    run = make(tmp_path, "busy", Status("training", pid=os.getpid(), updated=time.time()))
    with pytest.raises(UserError, match="stop it before deleting"):
        delete_run(run, tmp_path)
    assert run.path.exists()


@pytest.mark.parametrize("where", ["outside", "symlink", "nested", "not-a-run"])
def test_delete_refuses_anything_but_a_run_in_the_home(tmp_path: Path, where: str) -> None:
    home = tmp_path / "runs"
    home.mkdir()
    outside = make(tmp_path, "elsewhere", Status("completed"))
    target = {
        "outside": outside,
        "symlink": RunDir(home / "link"),
        "nested": make(home / "a", "b", Status("completed")),
        "not-a-run": RunDir(home / "plain"),
    }[where]
    if where == "symlink":
        (home / "link").symlink_to(outside.path)
    if where == "not-a-run":
        (home / "plain").mkdir()
    with pytest.raises(UserError, match="not deleting"):
        delete_run(target, home)
    assert outside.path.exists()


def test_stop_refuses_a_finished_run_with_a_next_step(tmp_path: Path) -> None:
    run = make(tmp_path, "stopped-one", Status("stopped"))
    with pytest.raises(UserError, match="nothing to stop") as caught:
        stop_run(run)
    assert "tui-ft resume stopped-one" in caught.value.hint
