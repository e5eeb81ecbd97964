"""The wizard sets up a GRPO run: the Method step offers grpo, the Dataset step the GRPO demo,
and the Settings step starts from the demo's rewards (format and exact match), which a person
keeps, and takes their own reward file; the launched run.yaml holds all three, the file by its
absolute path. The `data inspect` preview answers from a canned report; nothing trains."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from test_review import LaunchingFake
from test_wizard_steps import DEMO_REPORT, FakePreview
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select
from ui_helpers import app_for, wait_for

from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.datasets.demos import demo_rewards
from tui_ft.core.runs.layout import RunDir
from tui_ft.ui.wizard.dataset import DatasetStep
from tui_ft.ui.wizard.method import MethodStep
from tui_ft.ui.wizard.review import ReviewScreen
from tui_ft.ui.wizard.settings import SettingsStep

REWARD_FILE = '''"""A reward of the person's own."""


def short(prompts, completions, **kwargs):
    return [1.0 if len(str(c)) < 40 else 0.0 for c in completions]
'''


def grpo_report() -> dict[str, Any]:
    report = copy.deepcopy(DEMO_REPORT)
    report.update(
        dataset="demo-grpo",
        format="prompt_only",
        fit={"objective": "grpo", "fits": True, "sentence": "it fits."},
    )
    return report


async def type_into(pilot: Pilot[Any], box: Input, text: str) -> None:
    box.focus()
    await pilot.pause()
    await pilot.press("end", "ctrl+u", *text)


async def test_a_grpo_run_with_the_demo_rewards_and_a_reward_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine.py").write_text(REWARD_FILE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the file is typed relative to where tui-ft started
    launcher = LaunchingFake()
    preview = FakePreview(grpo_report())
    app = app_for(home, launcher=launcher, runner=preview)
    async with app.run_test(size=(110, 40)) as pilot:
        await app.push_screen(MethodStep(RunConfig()))
        await wait_for(pilot, lambda: isinstance(app.screen, MethodStep))
        app.screen.query_one("#objective", Select).value = "grpo"
        await pilot.pause()
        await pilot.press("ctrl+n")

        await wait_for(pilot, lambda: isinstance(app.screen, DatasetStep))
        data = app.screen
        assert isinstance(data, DatasetStep)
        await wait_for(pilot, lambda: data.report is not None)
        assert preview.requests[-1].dataset == "demo-grpo"
        await pilot.press("ctrl+n")

        await wait_for(pilot, lambda: isinstance(app.screen, SettingsStep))
        settings = app.screen
        assert isinstance(settings, SettingsStep)
        # No dead end: the demo's rewards are there, kept, and nothing is wrong.
        assert settings.config.setting("rewards") == demo_rewards("demo-grpo")
        assert settings.query_one("#field-default_rewards", Checkbox).value
        assert not settings.problems and not settings.other_problems

        files = settings.query_one("#field-reward_file", Input)
        await type_into(pilot, files, "nowhere.py:short")
        await wait_for(pilot, lambda: "reward_file" in settings.problems)
        assert "there is no file nowhere.py" in settings.problems["reward_file"]
        await type_into(pilot, files, "mine.py:short")
        await wait_for(pilot, lambda: "reward_file" not in settings.problems)
        await pilot.press("ctrl+n")

        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        review = app.screen
        assert isinstance(review, ReviewScreen)
        assert not review.problems, review.problems
        await pilot.press("l")
        await wait_for(pilot, lambda: launcher.launched)

    (launched,) = launcher.launched
    run = RunDir.open(launched.name, home)
    config = load_config(run.config_path)
    assert config.objective == "grpo" and config.dataset == "demo-grpo"
    assert config.setting("rewards") == [
        *demo_rewards("demo-grpo"),
        {"python": f"{tmp_path / 'mine.py'}:short"},
    ]


async def test_without_the_demo_a_reward_file_is_asked_for(home: Path, tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(REWARD_FILE, encoding="utf-8")
    app = app_for(home)
    async with app.run_test(size=(110, 40)) as pilot:
        own = RunConfig(objective="grpo", dataset=str(tmp_path / "problems.jsonl"))
        await app.push_screen(SettingsStep(own))
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsStep))
        settings = app.screen
        assert isinstance(settings, SettingsStep)
        assert not settings.query("#field-default_rewards")  # the data comes with none
        await wait_for(pilot, lambda: "reward_file" in settings.problems)
        assert settings.problems["reward_file"].startswith("rewards must be a list")
        await type_into(
            pilot, settings.query_one("#field-reward_file", Input), f"{tmp_path}/mine.py:short"
        )
        await wait_for(pilot, lambda: not settings.problems)
        assert settings.config.setting("rewards") == [{"python": f"{tmp_path}/mine.py:short"}]
