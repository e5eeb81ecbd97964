"""Review & launch: the YAML and command shown, problems blocking the launch, the pre-flight
check through stand-in child processes, launch through a fake launcher into the monitor, and
`tui-ft --config`. Real runs on the tiny model are at the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.syntax import Syntax
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, Input, Static
from ui_helpers import NOW, FakeLauncher, app_for, wait_for

from tests.fake_children import StandIn
from tui_ft.cli import main
from tui_ft.core.config import RunConfig, dump_config, save_config
from tui_ft.core.errors import UserError
from tui_ft.core.runs.launch import prepare_run
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.listing import new_run_name
from tui_ft.ui.runs.monitor import MonitorScreen
from tui_ft.ui.runs.screen import RunsScreen
from tui_ft.ui.wizard.preflight_panel import PreflightPanel
from tui_ft.ui.wizard.review import ReviewScreen
from tui_ft.ui.wizard.steps import WizardStep

PREFLIGHT_JSON = {
    "precision": "fp32",
    "rows_per_step": 4,
    "longest_row_tokens": 111,
    "step_time_s": 1.25,
    "planned_steps": 60,
    "run_time_upper_s": 75.0,
    "run_time_estimate_s": 61.0,
    "peak_rss_bytes": 2_254_857_830,
}
DEMO = RunConfig(model="demo", dataset="demo", max_steps=60)
DEMO_NAME = new_run_name("demo", "lora", NOW)


class LaunchingFake(FakeLauncher):
    """Makes the run folder as the real launcher does (run.yaml, `queued`), starts nothing."""

    def __init__(self, error: UserError | None = None) -> None:
        super().__init__()
        self.launched: list[RunConfig] = []
        self.error = error

    def launch(self, config: RunConfig, home: Path | None = None) -> RunDir:
        self.launched.append(config)
        if self.error is not None:
            raise self.error
        return prepare_run(config, home)


class SettingsStandIn(WizardStep):
    """The wizard's settings step below the review screen: records what is handed back."""

    STEP = 4

    def __init__(self) -> None:
        super().__init__(RunConfig(model="demo", dataset="demo", max_steps=60))
        self.handed_back: list[RunConfig] = []

    def take_back(self, config: RunConfig) -> None:
        super().take_back(config)
        self.handed_back.append(config)


def stand_in(code: str) -> StandIn:
    """The app's runner, with a Python script in place of `tui-ft train --preflight --json`."""
    return StandIn(code)


def answers(result: dict[str, Any]) -> StandIn:
    return stand_in(f"print({json.dumps(result)!r})")


async def open_review(pilot: Pilot[Any], config: RunConfig, **kwargs: Any) -> ReviewScreen:
    app = pilot.app
    app.push_screen(SettingsStandIn())
    screen = ReviewScreen(config, **kwargs)
    app.push_screen(screen)
    await wait_for(pilot, lambda: app.screen is screen and screen.is_mounted)
    # The header's GPU line has been read (snapshots show it).
    await wait_for(pilot, lambda: "reading" not in str(screen.query_one("#gpus").render()))
    await pilot.pause()
    return screen


def text_of(parent: Widget, selector: str) -> str:
    return str(parent.query_one(selector, Static).render())


async def refused_launch(pilot: Pilot[Any], screen: ReviewScreen) -> str:
    """Launch, and the problems panel once the launcher has refused."""
    await pilot.press("l")
    await wait_for(pilot, lambda: screen.launch_error is not None)
    await pilot.pause()
    return text_of(screen, "#review-problems")


def yaml_of(screen: ReviewScreen) -> str:
    syntax = screen.query_one("#review-yaml", Static).content
    assert isinstance(syntax, Syntax) and syntax.lexer is not None  # coloured as YAML
    return syntax.code


async def test_shows_the_yaml_that_will_run_and_copies_the_command(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = app_for(home)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_review(pilot, DEMO)
        assert screen.run_name == DEMO_NAME  # generated as launch would
        assert f"name: {DEMO_NAME}" in yaml_of(screen)
        assert "max_steps: 60" in yaml_of(screen)
        assert yaml_of(screen).strip() == dump_config(screen.config).strip()
        command = f"tui-ft train {tmp_path / DEMO_NAME}.yaml"
        assert command in text_of(screen, "#review-command")
        assert not screen.query_one("#review-problems").display
        await pilot.press("c")
        assert app.clipboard == command
        await pilot.press("s")  # saves the YAML where the command expects it
        await wait_for(pilot, lambda: (tmp_path / f"{DEMO_NAME}.yaml").is_file())
        saved = (tmp_path / f"{DEMO_NAME}.yaml").read_text()
        assert saved == dump_config(screen.config)
        await pilot.press("s")  # a second save never overwrites
        assert (tmp_path / f"{DEMO_NAME}.yaml").read_text() == saved
        await pilot.press("escape")
        assert isinstance(app.screen, SettingsStandIn)


async def test_the_name_is_editable_and_a_bad_one_blocks_the_launch(home: Path) -> None:
    launcher = LaunchingFake()
    app = app_for(home, launcher=launcher)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_review(pilot, DEMO)
        await pilot.press("n")
        name = screen.query_one("#review-name", Input)
        assert screen.focused is name
        name.value = "../escape"
        await pilot.pause()
        assert screen.query_one("#review-problems").display
        assert "not a valid run name" in text_of(screen, "#review-problems")
        assert screen.query_one("#review-launch", Button).disabled
        await pilot.press("escape")  # leaves the field, stays on the screen
        assert app.screen is screen and screen.focused is not name
        await pilot.press("l")
        assert launcher.launched == []
        await pilot.press("n")
        name.value = "my-first-run"
        await pilot.press("enter")  # done with the name: focus on Launch
        assert screen.focused is screen.query_one("#review-launch", Button)
        assert "name: my-first-run" in yaml_of(screen)
        assert not screen.query_one("#review-problems").display
        await pilot.press("escape")  # back to the settings: the typed name goes with it
        settings = app.screen
        assert isinstance(settings, SettingsStandIn)
        assert [c.name for c in settings.handed_back] == ["my-first-run"]
        assert settings.config.max_steps == 60  # and nothing else changed


async def test_an_invalid_config_blocks_launch_and_pre_flight(home: Path) -> None:
    launcher = LaunchingFake()
    app = app_for(home, launcher=launcher, runner=answers(PREFLIGHT_JSON))
    async with app.run_test(size=(100, 30)) as pilot:
        bad = RunConfig(learning_rate=-1.0, batch_size=0)
        screen = await open_review(pilot, bad)
        problems = text_of(screen, "#review-problems")
        assert "learning_rate must be > 0 (it is -1.0)." in problems
        assert "batch_size must be at least 1 (it is 0)." in problems
        assert "escape goes back to the settings" in problems
        await pilot.press("l", "p")
        await pilot.pause()
        assert launcher.launched == []
        assert screen.query_one(PreflightPanel).state == "idle"
        assert not screen.check_action("launch", ())


async def test_launch_opens_the_monitor_over_the_runs_list(home: Path) -> None:
    launcher = LaunchingFake()
    app = app_for(home, launcher=launcher)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_review(pilot, DEMO)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        assert [c.name for c in launcher.launched] == [DEMO_NAME]
        assert launcher.launched[0].max_steps == 60
        run = app.screen.run
        assert run.path == home / DEMO_NAME and run.config_path.is_file()
        # The wizard is gone: escape from the monitor goes to the runs list.
        assert not any(isinstance(s, (SettingsStandIn, ReviewScreen)) for s in app.screen_stack)
        assert [type(s) for s in app.screen_stack[-2:]] == [RunsScreen, MonitorScreen]
        assert len(app.screen_stack) <= 3  # at most the app's first screen below
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_a_taken_name_is_numbered_and_says_so(home: Path) -> None:
    launcher = LaunchingFake()
    app = app_for(home, launcher=launcher)
    prepare_run(RunConfig(name="same-name"), home)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_review(pilot, RunConfig(name="same-name"))
        assert "That name is taken" in text_of(screen, "#review-actions-hint")
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        assert app.screen.run.name == "same-name-2"


async def test_enter_on_the_launch_button_launches(home: Path) -> None:
    launcher = LaunchingFake()
    app = app_for(home, launcher=launcher)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_review(pilot, DEMO)
        assert screen.focused is screen.query_one("#review-launch", Button)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        assert len(launcher.launched) == 1


async def test_a_launch_refused_shows_its_sentence_and_hint(home: Path) -> None:
    error = UserError("no space left in /data/runs.", "Free some space or set TUI_FT_HOME.")
    launcher = LaunchingFake(error)
    app = app_for(home, launcher=launcher)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_review(pilot, DEMO)
        shown = await refused_launch(pilot, screen)
        assert "Launch failed: no space left in /data/runs." in shown
        assert "Free some space or set TUI_FT_HOME." in shown
        assert app.screen is screen and not screen.launching
        assert screen.check_action("launch", ())  # it can be tried again


async def test_pre_flight_shows_the_measured_numbers(home: Path) -> None:
    app = app_for(home, runner=answers(PREFLIGHT_JSON))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_review(pilot, DEMO)
        panel = screen.query_one(PreflightPanel)
        await pilot.press("p")
        await wait_for(pilot, lambda: panel.state == "done")
        shown = text_of(panel, "#preflight-text")
        assert "Pre-flight passed: 2 steps on the longest rows (111 tokens)" in shown
        assert "peak process memory (RSS, no GPU) 2.1 GiB, 1.25 s a step." in shown
        assert "Whole run (60 steps): about 1m01s, at most 1m15s." in shown


async def test_a_pre_flight_error_shows_its_sentence(home: Path) -> None:
    code = (
        "import sys\n"
        "print('error: CUDA ran out of memory at step 1 (batch 4 x 1024 tokens).', "
        "file=sys.stderr)\n"
        "print('hint: Lower batch_size to 2 or turn on gradient_checkpointing.', file=sys.stderr)\n"
        "sys.exit(1)"
    )
    app = app_for(home, runner=stand_in(code))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_review(pilot, DEMO)
        panel = screen.query_one(PreflightPanel)
        await pilot.press("p")
        await wait_for(pilot, lambda: panel.state == "failed")
        shown = text_of(panel, "#preflight-text")
        assert "CUDA ran out of memory at step 1 (batch 4 x 1024 tokens)." in shown
        assert "Lower batch_size to 2 or turn on gradient_checkpointing." in shown
        assert screen.check_action("preflight", ())  # it can be run again


async def test_escape_cancels_a_running_pre_flight(home: Path) -> None:
    app = app_for(home, runner=stand_in("import time; time.sleep(300)"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_review(pilot, DEMO)
        panel = screen.query_one(PreflightPanel)
        await pilot.press("p")
        assert panel.state == "running"
        assert "Pre-flight running: 0 s (escape cancels)" in text_of(panel, "#preflight-elapsed")
        process = screen._preflight
        assert process is not None
        await wait_for(pilot, lambda: process._child is not None)
        await pilot.press("escape")
        await wait_for(pilot, lambda: panel.state == "cancelled")
        assert process._child is not None and process._child.process.returncode == -9
        assert app.screen is screen  # escape cancelled; it did not go back


async def test_quitting_the_app_ends_a_running_pre_flight(home: Path) -> None:
    app = app_for(home, runner=stand_in("import time; time.sleep(300)"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_review(pilot, DEMO)
        await pilot.press("p")
        process = screen._preflight
        assert process is not None
        await wait_for(pilot, lambda: process._child is not None)
        await pilot.press("q")
    assert process._child is not None
    assert process._child.process.wait(timeout=60) == -9  # killed (the timeout only guards a hang)


async def test_config_flag_opens_review_over_the_first_screen(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    save_config(RunConfig(name="expert-run", max_steps=5), path)
    app = app_for(
        home, initial_config=RunConfig(name="expert-run", max_steps=5), initial_config_path=path
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await pilot.pause()
        assert f"tui-ft train {path}" in text_of(screen, "#review-command")
        assert "--name" not in text_of(screen, "#review-command")  # the file names it already
        await pilot.press("n")
        screen.query_one("#review-name", Input).value = "expert-run-2"
        await pilot.press("enter")
        assert f"tui-ft train {path} --name expert-run-2" in text_of(screen, "#review-command")
        assert not screen.check_action("save_yaml", ())  # the file is there already
        await pilot.press("escape")
        assert not isinstance(app.screen, ReviewScreen)


def test_config_flag_with_a_bad_file_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "run.yaml"
    bad.write_text("model: demo\nlearning_rate: [1, 2\n")
    assert main(["--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad} line 3:") and "hint: Fix the YAML syntax" in err
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 1
    assert "error: no config file at" in capsys.readouterr().err


def test_review_screen_snapshot(
    snap_compare: Any, fixed_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(fixed_home.parent.parent)  # the command names a file in the cwd

    async def before(pilot: Pilot[Any]) -> None:
        await open_review(pilot, DEMO)

    assert snap_compare(app_for(fixed_home), terminal_size=(80, 24), run_before=before)


def test_review_snapshot_blocked_with_a_pre_flight_answer(
    snap_compare: Any, fixed_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(fixed_home.parent.parent)

    async def before(pilot: Pilot[Any]) -> None:
        screen = await open_review(pilot, DEMO)
        await pilot.press("p")
        await wait_for(pilot, lambda: screen.query_one(PreflightPanel).state == "done")
        await pilot.press("n", "end", "/", "escape")  # a slash: not a valid run name

    assert snap_compare(
        app_for(fixed_home, runner=answers(PREFLIGHT_JSON)),
        terminal_size=(80, 24),
        run_before=before,
    )
