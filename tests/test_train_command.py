"""`tui-ft train` in the foreground: a trainer that ended without recording how is explained
from its exit status, with the command that continues."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tui_ft.commands.train import _report_end
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    made = RunDir.create("gone", tmp_path / "runs")
    made.write_status(Status("training", pid=1 << 22, step=7, max_steps=20, updated=1.0))
    return made


def test_killed_by_sigkill_names_the_signal_the_oom_killer_and_resume(
    run: RunDir, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _report_end(run, -signal.SIGKILL) == 1
    err = capsys.readouterr().err
    assert "error: the trainer was killed by signal 9 (SIGKILL) at step 7" in err
    assert "out-of-memory killer" in err
    assert "`tui-ft resume gone` continues from its last complete checkpoint." in err
    assert "ended as" not in err


def test_killed_by_another_signal(run: RunDir, capsys: pytest.CaptureFixture[str]) -> None:
    assert _report_end(run, -signal.SIGTERM) == 1
    err = capsys.readouterr().err
    assert "error: the trainer was killed by signal 15 (SIGTERM) at step 7." in err
    assert "hint: `tui-ft resume gone`" in err


def test_an_exit_without_a_final_state(run: RunDir, capsys: pytest.CaptureFixture[str]) -> None:
    assert _report_end(run, 1) == 1
    err = capsys.readouterr().err
    assert "the trainer exited with status 1 at step 7 without recording why." in err
    assert f"{run.log_path} holds its last output" in err
