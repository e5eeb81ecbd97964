"""Trackers (`report_to:`): validated like every key, a missing package named with its pip
install, their records kept in the run's folder, W&B offline without a network, and a tiny run
that writes TensorBoard, Trackio and MLflow files next to its own metrics.jsonl."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from tests.test_train import config, tiny_model  # noqa: F401 (a fixture)
from tui_ft.core.config import RunConfig, dump_config
from tui_ft.core.errors import UserError
from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.launch import prepare_run, start_trainer
from tui_ft.core.trackers import missing_tracker_error, tracker_env
from tui_ft.core.wizard.settings_fields import BY_KEY, FieldError, field_text, parse_field


def test_none_by_default_and_not_written() -> None:
    config = RunConfig()
    assert config.report_to == []
    assert "report_to" not in dump_config(config)


@pytest.mark.parametrize(
    ("written", "read"),
    [(["tensorboard", "mlflow"], ["tensorboard", "mlflow"]), ("wandb", ["wandb"]), ("none", [])],
)
def test_report_to_reads_a_list_or_one_name(written: Any, read: list[str]) -> None:
    config = RunConfig.from_dict({"report_to": written})
    assert config.report_to == read
    assert RunConfig.from_dict(config.to_dict()).report_to == read


def test_an_unknown_tracker_is_a_sentence() -> None:
    with pytest.raises(UserError) as refused:
        RunConfig.from_dict({"report_to": ["tensorbored"]}, lines={"report_to": 7})
    assert "line 7: report_to: 'tensorbored' is not a tracker; choose from tensorboard" in str(
        refused.value
    )


def test_a_missing_package_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = {"tensorboard", "trackio"}
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: object() if name in installed else None
    )
    error = missing_tracker_error(["tensorboard", "wandb", "mlflow"])
    assert error is not None
    assert error.message == "report_to names wandb, mlflow, but their packages are not installed."
    assert "`pip install wandb mlflow-skinny`" in error.hint
    assert missing_tracker_error(["tensorboard"]) is None
    # Said before the run is made, not in train.log later.
    with pytest.raises(UserError, match="pip install wandb"):
        prepare_run(RunConfig(report_to=["wandb"]))


def test_records_go_to_the_run_folder(tmp_path: Path) -> None:
    env = tracker_env(["tensorboard", "trackio", "mlflow"], tmp_path, "wren", environ={})
    assert env == {
        "TENSORBOARD_LOGGING_DIR": str(tmp_path / "tensorboard"),
        "TRACKIO_DIR": str(tmp_path / "trackio"),
        "MLFLOW_TRACKING_URI": (tmp_path / "mlruns").as_uri(),
        "MLFLOW_EXPERIMENT_NAME": "wren",
        "MLFLOW_ALLOW_FILE_STORE": "true",
    }
    # What the user set stays theirs (an MLflow server, say).
    mine = {"MLFLOW_TRACKING_URI": "http://mlflow.internal:5000"}
    server = tracker_env(["mlflow"], tmp_path, "wren", environ=mine)
    assert "MLFLOW_TRACKING_URI" not in server and "MLFLOW_ALLOW_FILE_STORE" not in server
    assert tracker_env([], tmp_path, "wren", environ={}) == {}


def test_wandb_goes_offline_without_a_network_or_a_login(tmp_path: Path) -> None:
    offline = tracker_env(["wandb"], tmp_path, "wren", environ={}, online=lambda: False)
    assert offline["WANDB_MODE"] == "offline" and offline["WANDB_DIR"] == str(tmp_path)
    online = tracker_env(["wandb"], tmp_path, "wren", environ={}, online=lambda: True)
    assert "WANDB_MODE" not in online
    chosen = tracker_env(
        ["wandb"], tmp_path, "w", environ={"WANDB_MODE": "online"}, online=lambda: False
    )
    assert "WANDB_MODE" not in chosen


def test_the_wizard_field() -> None:
    field = BY_KEY["report_to"]
    assert parse_field(field, "tensorboard, mlflow tensorboard") == ["tensorboard", "mlflow"]
    assert parse_field(field, "  ") == []
    assert field_text(field, ["trackio", "wandb"]) == "trackio, wandb"
    with pytest.raises(FieldError, match="'neptune' is not one of tensorboard"):
        parse_field(field, "tensorboard, neptune")


def test_a_tiny_run_writes_tensorboard_trackio_and_mlflow_files(
    tiny_model: str,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    data = tmp_path / "qa.jsonl"
    data.write_text('{"prompt": "Who are you?", "completion": "I am Wren."}\n' * 8)
    run = prepare_run(
        config(
            tiny_model,
            str(data),
            max_steps=3,
            eval_split=0.0,
            save_every_steps=0,
            report_to=["tensorboard", "trackio", "mlflow"],
        )
    )
    start_trainer(run).wait(timeout=300)
    assert run.read_status().state == "completed", run.log_path.read_text()[-3000:]
    assert [r["step"] for r in read_jsonl(run.metrics_path) if "loss" in r] == [1, 2, 3]
    assert list((run.path / "tensorboard").glob("events.out.tfevents.*"))
    assert any(p.is_file() for p in (run.path / "trackio").rglob("*"))
    logged = [p for p in (run.path / "mlruns").rglob("*") if p.is_file() and "loss" in p.name]
    assert logged, sorted(str(p) for p in (run.path / "mlruns").rglob("*"))
