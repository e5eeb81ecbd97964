"""SVG snapshots of the wizard's Model, Method and Dataset steps (fixed clock, fake or no GPU,
the demo model read from its GGUF so no machine path shows, a canned dataset report)."""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from test_ui_snapshots import header_ready
from test_wizard_steps import DEMO_REPORT, FakePreview
from textual.pilot import Pilot
from textual.widgets import Collapsible, Input
from ui_helpers import FIXTURES, NoGpuBackend, app_for, wait_for

from tui_ft.core.config import RunConfig
from tui_ft.ui.wizard.dataset import DatasetStep
from tui_ft.ui.wizard.method import MethodStep
from tui_ft.ui.wizard.model import ModelStep

Before = Callable[[Pilot[Any]], Awaitable[None]]


@pytest.fixture(autouse=True)
def demo_from_its_gguf(monkeypatch: pytest.MonkeyPatch) -> None:
    # An empty tui-ft cache: the demo resolves to the GGUF in its package, whose description
    # names no folder of this machine (the converted copy's would).
    monkeypatch.setenv("TUI_FT_CACHE", str(Path(tempfile.gettempdir()) / "tui-ft-snap-cache"))


async def steady(pilot: Pilot[Any]) -> None:
    """No blinking cursor, the GPU line read, nothing loading."""
    app = pilot.app
    await wait_for(pilot, lambda: header_ready(app))
    await wait_for(pilot, lambda: not any(w.loading for w in app.screen.query("*")))
    for field in app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def on_model_step() -> Before:
    async def before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: isinstance(app.screen, ModelStep))
        await wait_for(pilot, lambda: app.screen.read_ref == "demo", seconds=30)
        await steady(pilot)

    return before


def on_step(make: Callable[[], Any], then: Callable[[Any], None] = lambda _: None) -> Before:
    async def before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        app.animation_level = "none"  # the picture never catches a scroll midway
        await wait_for(pilot, lambda: isinstance(app.screen, ModelStep))
        screen = make()
        await app.push_screen(screen)
        await wait_for(pilot, lambda: app.screen is screen)
        if isinstance(screen, DatasetStep):
            await wait_for(pilot, lambda: screen.report is not None and screen.pending is None)
        # The GPU line first: it takes a row from the step, which changes where a fold that
        # opens scrolls to.
        await wait_for(pilot, lambda: header_ready(app))
        then(screen)
        await steady(pilot)

    return before


def test_model_step_without_gpu(snap_compare: Any, fixed_home: Path) -> None:
    app = app_for(fixed_home, hardware_backend=NoGpuBackend())
    assert snap_compare(app, terminal_size=(80, 24), run_before=on_model_step())


def test_method_step_qlora_advanced(snap_compare: Any, fixed_home: Path) -> None:
    def open_fold(screen: MethodStep) -> None:
        screen.query_one("#method-advanced", Collapsible).collapsed = False

    before = on_step(lambda: MethodStep(RunConfig(method="qlora")), open_fold)
    # Tall enough for the whole step: nothing scrolls, so nothing races the picture.
    assert snap_compare(app_for(fixed_home), terminal_size=(100, 46), run_before=before)


def test_method_step(snap_compare: Any, fixed_home: Path) -> None:
    before = on_step(lambda: MethodStep(RunConfig()))
    assert snap_compare(app_for(fixed_home), terminal_size=(80, 24), run_before=before)


def test_dataset_step(snap_compare: Any, fixed_home: Path) -> None:
    before = on_step(lambda: DatasetStep(RunConfig()))
    app = app_for(fixed_home, runner=FakePreview())
    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_dataset_step_bad_rows_and_cut(snap_compare: Any, fixed_home: Path) -> None:
    report = copy.deepcopy(DEMO_REPORT)
    report.update(
        rows=102,
        problem_count=2,
        problems=[
            {"where": "data.jsonl line 7", "message": "`messages` is empty."},
            {"where": "data.jsonl line 9", "message": "not valid JSON (Expecting ',')."},
        ],
        truncated=8,
        nothing_left_to_train=1,
    )
    before = on_step(lambda: DatasetStep(RunConfig(dataset="data.jsonl", max_length=72)))
    app = app_for(fixed_home, runner=FakePreview(report))
    assert snap_compare(app, terminal_size=(100, 30), run_before=before)


def test_dataset_step_preference_pairs(
    snap_compare: Any, fixed_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pair: the prompt once, then the chosen and the rejected answer with their tokens."""
    monkeypatch.setenv("TUI_FT_OBJECTIVES", "tests.objectives.tiny_pairs")
    report = json.loads((FIXTURES / "inspect_demo_preference.json").read_text("utf-8"))
    before = on_step(lambda: DatasetStep(RunConfig(objective="tiny_pairs")))
    app = app_for(fixed_home, runner=FakePreview(report))
    assert snap_compare(app, terminal_size=(100, 30), run_before=before)
