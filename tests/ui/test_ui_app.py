"""The app shell: first screen, GPU header, help, palette, themes, NO_COLOR, --theme."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.filter import Monochrome
from textual.widgets import DataTable, Markdown, Static
from ui_helpers import NoGpuBackend, app_for, three_runs, wait_for

from tui_ft.cli import main
from tui_ft.core import paths
from tui_ft.core.errors import UserError
from tui_ft.ui.runs.screen import RunsScreen
from tui_ft.ui.shell.help import HelpScreen
from tui_ft.ui.wizard.dataset import DatasetStep
from tui_ft.ui.wizard.method import MethodStep
from tui_ft.ui.wizard.model import ModelStep


def gpu_line(app: object) -> str:
    return str(app.screen.query_one("#gpus", Static).render())  # type: ignore[attr-defined]


async def test_no_runs_opens_the_wizard(home: Path) -> None:
    app = app_for(home)
    async with app.run_test(size=(80, 24)):
        assert isinstance(app.screen, ModelStep)
        assert app.screen.config.model == "demo" and app.screen.config.dataset == "demo"


async def test_runs_open_the_runs_list_running_first(home: Path) -> None:
    three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, RunsScreen)
        await wait_for(pilot, lambda: app.screen.loaded)
        assert next(iter(app.screen.rows)) == "demo-lora-running"


async def test_header_shows_each_gpu_or_cpu_only(home: Path) -> None:
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "GPU1" in gpu_line(app))
        line = gpu_line(app)
        assert "GPU0 H100 80GB HBM3 0.5/79.6 GiB 0%" in line
        assert "GPU1 H100 80GB HBM3 40.5/79.6 GiB 97%" in line
        assert "fake GPU data" in str(app.screen.query_one("#hw-source", Static).render())
    app = app_for(home, hardware_backend=NoGpuBackend())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "CPU only" in gpu_line(app))
        assert "16 CPUs" in gpu_line(app)


async def test_a_broken_fake_gpu_file_is_a_sentence_in_the_header(
    home: Path, tmp_path: Path
) -> None:
    from tui_ft.core.hardware.snapshot import FakeBackend

    app = app_for(home, hardware_backend=FakeBackend(tmp_path / "missing.json"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "cannot read the fake GPU file" in gpu_line(app))


async def test_f1_help_lists_the_screens_keys_with_their_ids(home: Path) -> None:
    three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        source = app.screen.query_one("#help-text", Markdown).source
        for words in ("# Runs", "`runs.delete`", "`runs.stop`", "`app.quit`", "keys.toml"):
            assert words in source
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_palette_offers_the_screens_actions_and_the_themes(home: Path) -> None:
    three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.loaded)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("Open", "Stop", "Chat", "Theme: light", "Theme: high-contrast"):
            assert title in titles
        assert "Resume" not in titles  # the highlighted run is training: nothing to resume
        await pilot.press("ctrl+p")
        await pilot.press(*"Theme: light")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.theme == "light")
        assert app.theme_variables["loss"] == "#1f5fae"  # the chart colours follow


def test_every_binding_has_an_id_and_uses_safe_keys() -> None:
    from tui_ft.ui.app import TuiFtApp
    from tui_ft.ui.runs.compare import CompareScreen
    from tui_ft.ui.runs.monitor import MonitorScreen
    from tui_ft.ui.shell.confirm import ConfirmScreen
    from tui_ft.ui.shell.error_screen import ErrorScreen

    for owner in (
        TuiFtApp,
        RunsScreen,
        ModelStep,
        MethodStep,
        DatasetStep,
        MonitorScreen,
        CompareScreen,
        HelpScreen,
        ConfirmScreen,
        ErrorScreen,
    ):
        for binding in owner.BINDINGS:
            assert binding.id, f"{owner.__name__}: {binding.key} has no id"
            assert "ctrl+enter" not in binding.key and "ctrl+m" not in binding.key


async def test_a_broken_user_theme_is_reported_and_skipped(home: Path) -> None:
    folder = paths.config_dir() / "themes"
    folder.mkdir(parents=True)
    (folder / "broken.toml").write_text('primary = "not-a-colour"\n')
    (folder / "mine.toml").write_text('primary = "#ff8800"\n')
    app = app_for(home, theme="mine")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "broken" not in app.available_themes
        assert app.theme == "mine"
        (note,) = [n.message for n in app._notifications]
        assert "broken.toml" in note and "not a colour" in note


def test_an_unknown_theme_is_a_sentence(home: Path) -> None:
    with pytest.raises(UserError, match="no theme named 'neon'") as caught:
        app_for(home, theme="neon")
    assert "dark, high-contrast, light" in caught.value.hint


def test_the_theme_option_reaches_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []
    monkeypatch.setattr("tui_ft.ui.app.run", lambda theme=None, **_: seen.append(theme) or 0)
    assert main(["--theme", "light"]) == 0
    assert seen == ["light"]


def test_the_theme_option_refuses_an_unknown_theme(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--theme", "neon"]) == 1
    assert "no theme named 'neon'" in capsys.readouterr().err


async def test_no_color_is_honoured(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.loaded)
        assert app.no_color
        assert any(isinstance(f, Monochrome) and f.enabled for f in app.get_line_filters())
        # The state is a word, not a colour: it survives NO_COLOR.
        assert app.screen.query_one(DataTable).get_row("demo-full-failed")[0].plain == "✗ failed"
