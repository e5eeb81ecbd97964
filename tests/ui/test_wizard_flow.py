"""The whole wizard as a new user walks it: `tui-ft` with no runs opens on the Model step, the
defaults are taken with enter and ctrl+n through Method, Dataset and Settings to Review, and
launch starts the run (a fake launcher makes its folder, nothing trains) in the monitor. The
dataset preview answers from the canned demo report."""

from __future__ import annotations

from pathlib import Path

from test_wizard_steps import FakePreview, model_shown
from ui_helpers import FakeLauncher, app_for, wait_for

from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.runs.launch import prepare_run
from tui_ft.core.runs.layout import RunDir
from tui_ft.ui.runs.monitor import MonitorScreen
from tui_ft.ui.wizard.dataset import DatasetStep
from tui_ft.ui.wizard.method import MethodStep
from tui_ft.ui.wizard.review import ReviewScreen
from tui_ft.ui.wizard.settings import SettingsStep


class RecordingLauncher(FakeLauncher):
    """Makes the run folder as the real launcher does (run.yaml, `queued`), starts nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.launched: list[RunConfig] = []

    def launch(self, config: RunConfig, home: Path | None = None) -> RunDir:
        self.launched.append(config)
        return prepare_run(config, home)


async def test_a_new_user_walks_the_wizard_to_a_launched_run(home: Path) -> None:
    launcher = RecordingLauncher()
    app = app_for(home, launcher=launcher, runner=FakePreview())
    async with app.run_test(size=(80, 24)) as pilot:
        await model_shown(pilot)
        await pilot.press("enter")  # the demo's details are shown: enter goes on
        assert isinstance(app.screen, MethodStep)
        await pilot.press("down")  # QLoRA, to see a non-default choice reach run.yaml
        await pilot.press("enter")
        assert isinstance(app.screen, DatasetStep)
        await wait_for(pilot, lambda: app.screen.report is not None)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, SettingsStep)
        await wait_for(pilot, lambda: app.screen.estimate is not None, seconds=30)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), seconds=30)

    (config,) = launcher.launched
    assert (config.model, config.method, config.dataset) == ("demo", "qlora", "demo")
    run = RunDir(home / config.name)
    assert load_config(run.config_path) == config
