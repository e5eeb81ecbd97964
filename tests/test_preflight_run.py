"""The app's pre-flight runner against stand-in child processes: numbers read back, the child's
error sentence passed on, a killed child explained, and cancel kills the child."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fake_children import StandIn
from tui_ft.core.children.runner import ChildResult
from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.errors import UserError
from tui_ft.core.runs.preflight import (
    PreflightCancelled,
    PreflightProcess,
    PreflightReport,
    error_from_output,
    preflight_argv,
)

RESULT = {
    "precision": "fp32",
    "rows_per_step": 4,
    "longest_row_tokens": 57,
    "step_time_s": 0.42,
    "planned_steps": 300,
    "run_time_upper_s": 126.0,
    "run_time_estimate_s": 95.5,
    "peak_rss_bytes": 1_610_612_736,
}


def test_the_real_command_is_tui_ft_train_preflight_json() -> None:
    argv = preflight_argv(Path("/tmp/run.yaml"))
    assert argv[1:] == ["-m", "tui_ft.cli", "train", "/tmp/run.yaml", "--preflight", "--json"]


def test_numbers_come_back_and_the_child_gets_the_config() -> None:
    seen: list[Path] = []

    def code(request: Any) -> str:
        seen.append(request.path)
        return (
            "import json, sys\n"
            f"text = open({str(request.path)!r}).read()\n"
            "assert 'model: tiny-one' in text, text\n"
            f"print(json.dumps({RESULT!r}))"
        )

    report = PreflightProcess(RunConfig(model="tiny-one"), StandIn(code)).run()
    assert report.peak_bytes == RESULT["peak_rss_bytes"] and not report.on_gpu
    assert report.planned_steps == 300
    text = "\n".join(report.lines())
    assert "1.5 GiB" in text and "0.42 s a step" in text and "about 1m35s" in text
    assert not seen[0].exists()  # the temporary copy is gone afterwards


def test_a_gpu_peak_is_named_as_such() -> None:
    data = {**RESULT, "peak_reserved_bytes": 2**34}
    del data["peak_rss_bytes"]
    report = PreflightReport.from_json(json.dumps(data))
    assert report.on_gpu and "GPU memory (torch reserved) 16.0 GiB" in report.lines()[0]


def test_the_childs_error_sentence_and_hint_are_passed_on() -> None:
    code = (
        "import sys\n"
        "print('Loading the model', file=sys.stderr)\n"
        "print('error: CUDA ran out of memory at step 1.', file=sys.stderr)\n"
        "print('hint: Lower batch_size to 2.', file=sys.stderr)\n"
        "sys.exit(1)"
    )
    with pytest.raises(UserError) as caught:
        PreflightProcess(RunConfig(), StandIn(code)).run()
    assert caught.value.message == "pre-flight: CUDA ran out of memory at step 1."
    assert caught.value.hint == "Lower batch_size to 2."


def test_unreadable_output_and_a_silent_crash_are_sentences() -> None:
    with pytest.raises(UserError, match="unreadable"):
        PreflightProcess(RunConfig(), StandIn("print('not json')")).run()
    error = error_from_output(ChildResult("", "Traceback ...\nRuntimeError: boom\n", 1))
    assert error.message == "the pre-flight check failed (exit code 1): RuntimeError: boom"
    killed = error_from_output(ChildResult("", "", -9))
    assert killed.message == "the pre-flight check was killed by SIGKILL."
    assert "out of memory" in killed.hint


def test_cancel_kills_the_child() -> None:
    process = PreflightProcess(RunConfig(), StandIn("import time; time.sleep(300)"))
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            process.run()
        except (PreflightCancelled, UserError) as err:
            outcome.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    while process._child is None:  # started: now there is a child to kill
        time.sleep(0.01)
    process.cancel()
    thread.join()
    assert isinstance(outcome[0], PreflightCancelled)
    assert process._child.process.returncode == -9


def test_cancel_before_start_starts_nothing() -> None:
    runner = StandIn("raise SystemExit(3)")
    process = PreflightProcess(RunConfig(), runner)
    process.cancel()
    with pytest.raises(PreflightCancelled):
        process.run()
    assert process._child is None and runner.requests == []


def test_the_temporary_yaml_loads_back_as_the_same_config(tmp_path: Path) -> None:
    copied = tmp_path / "copy.yaml"
    config = RunConfig(model="demo", learning_rate=1e-4, max_steps=7)
    runner = StandIn(
        lambda request: (
            f"import shutil, sys; shutil.copy({str(request.path)!r}, {str(copied)!r}); sys.exit(2)"
        )
    )
    with pytest.raises(UserError):
        PreflightProcess(config, runner).run()
    assert load_config(copied) == config


def test_the_check_runs_on_the_gpu_the_run_will_use() -> None:
    # The stand-in reports the devices it was given, as its error sentence.
    code = "import os, sys; sys.exit('error: ' + os.environ['CUDA_VISIBLE_DEVICES'])"
    wanted: list[list[str]] = []

    def devices(config: RunConfig) -> str:
        wanted.append(config.gpus)
        return "GPU-1234abcd"

    process = PreflightProcess(RunConfig(gpus=["1"]), StandIn(code), devices)
    with pytest.raises(UserError) as caught:
        process.run()
    assert caught.value.message == "pre-flight: GPU-1234abcd"
    assert wanted == [["1"]]
