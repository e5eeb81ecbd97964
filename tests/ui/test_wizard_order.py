"""The wizard's order lives in `ui/wizard/flow.py` alone: each step's screen is where the table
says and numbers itself from it; a step that is done opens the one after it, once however
often it says so; going back hands the config to the step behind."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from test_wizard_steps import FakePreview
from ui_helpers import app_for, wait_for

from tui_ft.core.config import RunConfig
from tui_ft.ui.wizard import flow
from tui_ft.ui.wizard.dataset import DatasetStep
from tui_ft.ui.wizard.method import MethodStep
from tui_ft.ui.wizard.model import ModelStep
from tui_ft.ui.wizard.steps import WizardStep


def test_each_step_in_the_table_is_a_screen_numbered_from_it() -> None:
    assert flow.TITLES == ("Model", "Method", "Dataset", "Settings", "Review")
    for number, step in enumerate(flow.STEPS, start=1):
        screen = getattr(import_module(step.module), step.screen)
        assert flow.number(step.title) == number
        if issubclass(screen, WizardStep):  # Review also opens alone, for `--config`
            assert number == screen.STEP


async def test_done_opens_the_next_step_once(home: Path) -> None:
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelStep))
        step = app.screen
        assert isinstance(step, ModelStep)
        config = RunConfig(model="demo", dataset="demo", method="qlora")
        # Next twice before the first has opened the Method step: one Method step.
        step.post_message(step.Done(step, config))
        step.post_message(step.Done(step, config))
        await wait_for(pilot, lambda: isinstance(app.screen, MethodStep))
        await pilot.pause()
        assert len(app.screen_stack) == 2
        assert isinstance(app.screen, MethodStep) and app.screen.config.method == "qlora"


async def test_back_hands_the_config_to_the_step_behind(home: Path) -> None:
    app = app_for(home, runner=FakePreview())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelStep))
        method = MethodStep(RunConfig(model="demo", dataset="demo"))
        await app.push_screen(method)
        dataset = DatasetStep(RunConfig(model="demo", dataset="mine.jsonl", method="full"))
        await app.push_screen(dataset)
        flow.back(app, lambda behind: RunConfig(model=behind.model, dataset="handed.jsonl"))
        await wait_for(pilot, lambda: app.screen is method)
        assert method.config.dataset == "handed.jsonl"
        flow.back(app, None)  # the Model step keeps its own config
        await wait_for(pilot, lambda: isinstance(app.screen, ModelStep))
        assert isinstance(app.screen, ModelStep)
        assert app.screen.config == RunConfig(model="demo", dataset="demo")
        flow.back(app, None)  # the first screen: nowhere to go
        await pilot.pause()
        assert isinstance(app.screen, ModelStep)
