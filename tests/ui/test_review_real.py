"""Review & launch for real, on a tiny random model: the pre-flight check through the real child
process, and a short run launched from the screen through the real launcher, watched in the
monitor until it completes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_review import open_review
from textual.widgets import Static
from ui_helpers import app_for, wait_for

from tests.tiny import write_random_model
from tui_ft.core.config import RunConfig
from tui_ft.core.runs.control import ProcessLauncher
from tui_ft.ui.runs.monitor import MonitorScreen
from tui_ft.ui.wizard.preflight_panel import PreflightPanel

QA = [
    ("Who are you?", "I am Wren."),
    ("What is your name?", "My name is Wren."),
    ("Who made you?", "Tidewater Labs made me."),
    ("Say hello.", "Hello there!"),
]
# A loaded model in a busy child process: generous, only so a hang ends the test.
CHILD_S = 300


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_random_model(tmp_path_factory.mktemp("model") / "tiny"))


@pytest.fixture
def tiny_config(tiny_model: str, tmp_path: Path) -> RunConfig:
    dataset = tmp_path / "qa.jsonl"
    dataset.write_text("\n".join(json.dumps({"prompt": q, "completion": a}) for q, a in QA * 4))
    settings: dict[str, Any] = {
        "name": "tiny-review",
        "model": tiny_model,
        "dataset": str(dataset),
        "method": "lora",
        "max_steps": 4,
        "batch_size": 4,
        "learning_rate": 5e-3,
        "max_length": 64,
        "eval_split": 0.25,
        "eval_every": 2,
        "save_every_steps": 0,
        "probe_prompts": ["Who are you?"],
        "warmup_ratio": 0.0,
        "lr_scheduler": "constant",
    }
    return RunConfig.from_dict(settings)


async def test_real_pre_flight_on_the_tiny_model(home: Path, tiny_config: RunConfig) -> None:
    app = app_for(home)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_review(pilot, tiny_config)
        panel = screen.query_one(PreflightPanel)
        await pilot.press("p")
        await wait_for(pilot, lambda: panel.state in ("done", "failed"), seconds=CHILD_S)
        shown = str(panel.query_one("#preflight-text", Static).render())
        assert panel.state == "done", shown
        assert "Pre-flight passed: 2 steps on the longest rows" in shown
        assert "Whole run (4 steps)" in shown
        assert not list(home.glob("*"))  # a check, not a run: no run folder made


@pytest.mark.slow
async def test_a_real_run_launched_from_review_completes_in_the_monitor(
    home: Path, tiny_config: RunConfig
) -> None:
    app = app_for(home, launcher=ProcessLauncher())
    async with app.run_test(size=(100, 30)) as pilot:
        await open_review(pilot, tiny_config)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        monitor = app.screen
        assert isinstance(monitor, MonitorScreen)
        await wait_for(pilot, lambda: not monitor.status.active, seconds=CHILD_S)
        run = monitor.run
        assert monitor.status.state == "completed", run.log_path.read_text()[-3000:]
        assert run.path == home / "tiny-review"
        assert (run.output_dir / "adapter_config.json").is_file()
        assert monitor.query_one("#finished").display  # chat and export offered
        ledger = json.loads(run.ledger_path.read_text())
        assert ledger["command"] == f"tui-ft train {run.config_path}"
