"""The wizard sets up a GRPO run: the Method step offers grpo, the Dataset step the GRPO demo,
and the Settings step starts from the demo's rewards (format and exact match), which a person
keeps, and takes their own reward file; the launched run.yaml holds all three, the file by its
absolute path. The demo starts as docs/rewards.md runs it (grpo's preset), a value typed by
hand survives a change of dataset, and vLLM generation without a GPU is refused at launch with
its sentence. The `data inspect` preview answers from a canned report; nothing trains."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from test_review import LaunchingFake, refused_launch
from test_wizard_steps import DEMO_REPORT, FakePreview
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select
from ui_helpers import app_for, wait_for

from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.datasets.demos import demo_rewards
from tui_ft.core.runs import launch
from tui_ft.core.runs.layout import RunDir
from tui_ft.ui.wizard.dataset import DatasetStep
from tui_ft.ui.wizard.method import MethodStep
from tui_ft.ui.wizard.review import ReviewScreen
from tui_ft.ui.wizard.settings import SettingsStep

ROOT = Path(__file__).resolve().parents[2]
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


def documented_demo_run() -> dict[str, Any]:
    """The demo's run.yaml as docs/rewards.md shows it."""
    text = (ROOT / "docs" / "rewards.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    run: dict[str, Any] = next(yaml.safe_load(b) for b in blocks if "dataset: demo-grpo" in b)
    return run


async def choose_grpo_on_its_demo(pilot: Pilot[Any]) -> SettingsStep:
    """Method: grpo; Dataset: the demo it offers; the Settings step."""
    app = pilot.app
    await app.push_screen(MethodStep(RunConfig()))
    await wait_for(pilot, lambda: isinstance(app.screen, MethodStep))
    app.screen.query_one("#objective", Select).value = "grpo"
    await pilot.pause()
    await pilot.press("ctrl+n")
    await wait_for(pilot, lambda: isinstance(app.screen, DatasetStep))
    data = app.screen
    assert isinstance(data, DatasetStep)
    await wait_for(pilot, lambda: data.report is not None)
    await pilot.press("ctrl+n")
    await wait_for(pilot, lambda: isinstance(app.screen, SettingsStep))
    assert isinstance(app.screen, SettingsStep)
    return app.screen


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
        settings = await choose_grpo_on_its_demo(pilot)
        assert preview.requests[-1].dataset == "demo-grpo"
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


async def test_the_demo_starts_as_the_rewards_page_runs_it(home: Path) -> None:
    launcher = LaunchingFake()
    app = app_for(home, launcher=launcher, runner=FakePreview(grpo_report()))
    async with app.run_test(size=(110, 40)) as pilot:
        settings = await choose_grpo_on_its_demo(pilot)
        # The fields show the demo's run, not supervised fine-tuning's starting values.
        shown = {
            key: settings.query_one(f"#field-{key}", Input).value
            for key in ("max_steps", "batch_size", "learning_rate", "temperature")
        }
        assert shown == {
            "max_steps": "10",
            "batch_size": "2",
            "learning_rate": "0.0005",
            "temperature": "0.7",
        }
        assert not settings.problems and not settings.other_problems
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        await pilot.press("l")
        await wait_for(pilot, lambda: launcher.launched)

    (launched,) = launcher.launched
    config = load_config(RunDir.open(launched.name, home).config_path)
    for key, value in documented_demo_run().items():
        held = getattr(config, key) if hasattr(config, key) else config.setting(key)
        assert held == value, key


async def test_a_value_typed_by_hand_survives_another_dataset(home: Path, tmp_path: Path) -> None:
    problems = tmp_path / "problems.jsonl"
    problems.write_text('{"prompt": "2+3?", "answer": "5"}\n', encoding="utf-8")
    app = app_for(home, runner=FakePreview(grpo_report()))
    async with app.run_test(size=(110, 40)) as pilot:
        settings = await choose_grpo_on_its_demo(pilot)
        await type_into(pilot, settings.query_one("#field-temperature", Input), "0.9")
        await wait_for(pilot, lambda: settings.config.setting("temperature") == 0.9)
        settings.action_back()
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetStep))
        data = app.screen
        assert isinstance(data, DatasetStep)
        await type_into(pilot, data.query_one("#dataset-input", Input), str(problems))
        await pilot.press("ctrl+n")  # shows the new data first
        await wait_for(pilot, lambda: data.pending is None and data.shown_request == data.request())
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsStep))
        own = app.screen
        assert isinstance(own, SettingsStep)
        # Typed: kept. The demo's own run (its 10 steps, its short answers): gone with it.
        assert own.config.setting("temperature") == 0.9
        assert own.query_one("#field-temperature", Input).value == "0.9"
        assert own.config.max_steps is None and own.config.setting("max_completion_length") == 64
        assert own.config.batch_size == 2  # grpo's, on any data


async def test_vllm_generation_without_a_gpu_is_refused_at_launch(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(launch, "probe", lambda: SimpleNamespace(has_gpu=False))
    launcher = LaunchingFake()
    app = app_for(home, launcher=launcher, runner=FakePreview(grpo_report()))
    async with app.run_test(size=(110, 40)) as pilot:
        settings = await choose_grpo_on_its_demo(pilot)
        settings.query_one("#field-generation", Select).value = "vllm"
        await wait_for(pilot, lambda: settings.config.setting("generation") == "vllm")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        review = app.screen
        assert isinstance(review, ReviewScreen)
        shown = await refused_launch(pilot, review)
        assert "Launch failed: vLLM generation needs an NVIDIA GPU" in shown
        assert "Use generation: transformers on this machine" in shown
    assert not list(home.glob("*/run.yaml"))  # refused before the run was made
