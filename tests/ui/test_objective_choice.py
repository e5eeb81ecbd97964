"""The wizard offers a choice of objective (sft, the preference objectives, and a test objective
plugged in), explains the one chosen, and shows its own settings as fields of the Settings step."""

from __future__ import annotations

import pytest
from textual.widgets import Select, Static
from ui_helpers import app_for, wait_for

from tui_ft.core.config import RunConfig
from tui_ft.core.objectives import DEFAULT_OBJECTIVE, objective_named
from tui_ft.ui.wizard.method import MethodStep
from tui_ft.ui.wizard.settings import SettingsStep


async def test_the_preference_objectives_are_offered_with_their_settings(home) -> None:  # type: ignore[no-untyped-def]
    app = app_for(home)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(MethodStep(RunConfig()))
        await wait_for(pilot, lambda: isinstance(app.screen, MethodStep))
        step = app.screen
        assert step.query_one("#objective-row").display
        assert step.current_config().objective == DEFAULT_OBJECTIVE
        offered = [value for _, value in step.query_one("#objective", Select)._options]
        assert {"sft", "dpo", "orpo", "kto", "simpo"} <= set(offered)
        step.query_one("#objective", Select).value = "dpo"
        await pilot.pause()
        about = str(step.query_one("#objective-about", Static).render())
        assert about == objective_named("dpo").sentences and "preference pairs" in about
        config = step.current_config()
        assert config.objective == "dpo"

        await app.push_screen(SettingsStep(config))
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsStep))
        settings = app.screen
        assert settings.query_one("#field-loss_type", Select).value == "sigmoid"
        for key in ("beta", "sft_weight", "precompute_ref"):
            assert settings.query(f"#field-{key}")


async def test_a_second_objective_is_offered_and_brings_its_fields(
    home,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("TUI_FT_OBJECTIVES", "tests.objectives.tiny_sft")
    app = app_for(home)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(MethodStep(RunConfig()))
        await wait_for(pilot, lambda: isinstance(app.screen, MethodStep))
        step = app.screen
        assert step.query_one("#objective-row").display
        step.query_one("#objective", Select).value = "tiny_sft"
        await pilot.pause()
        config = step.current_config()
        assert config.objective == "tiny_sft"

        await app.push_screen(SettingsStep(config))
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsStep))
        settings = app.screen
        assert settings.query_one("#field-sft_loss", Select).value == "nll"
        field = settings.query_one("#field-clip")
        field.value = "0"  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: "clip" in settings.problems)
        assert settings.problems["clip"].startswith("clip must be above 0")
