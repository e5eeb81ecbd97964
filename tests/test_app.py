"""The app opens and closes; the wizard issue replaces the welcome screen."""

from __future__ import annotations

from textual.widgets import Markdown

from tui_ft.ui.app import make_app


async def test_welcome_screen_names_what_works_and_q_quits() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        welcome = app.query_one("#welcome", Markdown)
        assert "tui-ft train run.yaml" in welcome.source
        await pilot.press("q")
    assert app.return_code == 0
