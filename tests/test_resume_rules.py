"""`tui-ft resume --more-steps / --more-epochs`: ranges checked, run.yaml re-validated before it
is written, and nothing written on a refusal."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.errors import UserError
from tui_ft.core.runs.checkpoints import COMPLETE_MARKER
from tui_ft.core.runs.launch import check_extension, extended_config, resume_run
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status


def make(tmp_path: Path, state: str = "completed", **settings: object) -> RunDir:
    run = RunDir.create("grown", tmp_path / "runs")
    config = RunConfig.from_dict({"model": "demo", "dataset": "demo", "name": "grown", **settings})
    save_config(config, run.config_path)
    run.write_status(Status(state, step=8, max_steps=8))
    checkpoint = run.checkpoints_dir / "checkpoint-8"
    checkpoint.mkdir(parents=True)
    (checkpoint / COMPLETE_MARKER).write_text("")
    return run


@pytest.mark.parametrize(
    ("epochs", "steps", "words"),
    [
        (None, -3, "--more-steps must be a whole number of at least 1 (it is -3)"),
        (None, 0, "--more-steps must be a whole number of at least 1 (it is 0)"),
        (-100.0, None, "--more-epochs must be a number above 0 (it is -100)"),
        (0.0, None, "--more-epochs must be a number above 0 (it is 0)"),
        (math.nan, None, "--more-epochs must be a number above 0 (it is nan)"),
        (math.inf, None, "--more-epochs must be a number above 0 (it is inf)"),
    ],
)
def test_out_of_range_extensions_are_refused_and_nothing_changes(
    tmp_path: Path, epochs: float | None, steps: int | None, words: str
) -> None:
    run = make(tmp_path, max_steps=8)
    before = run.config_path.read_bytes(), run.status_path.read_bytes()
    with pytest.raises(UserError) as refused:
        resume_run(run, more_epochs=epochs, more_steps=steps)
    assert refused.value.message == f"{words}."
    assert (run.config_path.read_bytes(), run.status_path.read_bytes()) == before


def test_more_epochs_on_a_run_that_counts_steps_is_refused(tmp_path: Path) -> None:
    run = make(tmp_path, max_steps=8)
    before = run.config_path.read_bytes()
    with pytest.raises(UserError, match=r"max_steps 8.*more epochs would not") as refused:
        resume_run(run, more_epochs=1.0)
    assert "--more-steps N" in refused.value.hint
    assert run.config_path.read_bytes() == before


def test_more_steps_add_to_the_steps_planned(tmp_path: Path) -> None:
    by_epochs = make(tmp_path, epochs=2.0)
    config = extended_config(by_epochs, by_epochs.read_status(), 8, None, 3)
    assert config.max_steps == 11  # status.max_steps (8, the planned total) + 3
    assert extended_config(by_epochs, Status("crashed"), 6, None, 3).max_steps == 9
    grown = extended_config(by_epochs, by_epochs.read_status(), 8, 1.5, None)
    assert grown.epochs == 3.5 and grown.max_steps is None


def test_a_run_yaml_edited_into_an_invalid_one_is_not_extended(tmp_path: Path) -> None:
    run = make(tmp_path, epochs=2.0)
    text = run.config_path.read_text().replace("learning_rate: 0.0002", "learning_rate: -1")
    assert text != run.config_path.read_text()
    run.config_path.write_text(text)
    with pytest.raises(UserError, match="learning_rate must be > 0"):
        resume_run(run, more_steps=2)
    assert run.config_path.read_text() == text


def test_check_extension_accepts_what_makes_sense() -> None:
    check_extension(None, None)
    check_extension(0.5, None)
    check_extension(None, 1)


def test_a_run_that_trained_steps_without_a_checkpoint_is_refused(tmp_path: Path) -> None:
    run = make(tmp_path, "stopped", max_steps=8)
    run.write_status(Status("stopped", step=3, max_steps=8))
    for folder in run.checkpoints_dir.iterdir():
        (folder / COMPLETE_MARKER).unlink()
    before = run.config_path.read_bytes(), run.status_path.read_bytes()
    with pytest.raises(UserError, match="has no complete checkpoint to resume from") as refused:
        resume_run(run)
    assert "`tui-ft train " in refused.value.hint
    assert (run.config_path.read_bytes(), run.status_path.read_bytes()) == before
