"""The wizard's Settings step: presets fill the fields, a bad value is explained and blocks Next,
the estimate's advice makes a run fit, the freest GPU is chosen, Next hands the edited config to
the review; and its pictures without a GPU and on a 24 GB GPU (fitting and not)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Checkbox, Input, OptionList, Select, Static
from ui_helpers import FIXTURES, NoGpuBackend, app_for, wait_for

from tui_ft.core.config import RunConfig
from tui_ft.core.hardware.snapshot import FakeBackend
from tui_ft.core.wizard.settings_fields import FIELDS
from tui_ft.ui.app import TuiFtApp
from tui_ft.ui.shell.help import HelpScreen, help_text
from tui_ft.ui.wizard.gpu_picker import GpuPicker
from tui_ft.ui.wizard.settings import SettingsStep
from tui_ft.ui.wizard.vram_bar import VramBar

ONE_24GB = FIXTURES / "fake_gpu_24gb.json"
TWO_H100 = FIXTURES / "fake_gpu_2xh100.json"

QWEN2_05B = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
    "max_position_embeddings": 32768,
}
QWEN2_7B = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "vocab_size": 152064,
    "tie_word_embeddings": False,
    "max_position_embeddings": 131072,
}


def model_folder(root: Path, name: str, config: dict[str, Any]) -> str:
    folder = root / "models" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"\0" * 1000)
    return str(folder)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def small_model(tmp_path: Path) -> str:
    return model_folder(tmp_path, "qwen2-0.5b", QWEN2_05B)


@pytest.fixture
def big_model(tmp_path: Path) -> str:
    return model_folder(tmp_path, "qwen2-7b", QWEN2_7B)


def settled(screen: SettingsStep) -> bool:
    return screen.is_current and screen.estimate is not None and screen._timer is None


async def open_settings(pilot: Pilot[Any], config: RunConfig, **kwargs: Any) -> SettingsStep:
    app = pilot.app
    screen = SettingsStep(config, **kwargs)
    await app.push_screen(screen)
    await wait_for(pilot, lambda: settled(screen))
    await pilot.pause()
    return screen


def field(screen: SettingsStep, key: str) -> Input:
    return screen.query_one(f"#field-{key}", Input)


def problem(screen: SettingsStep, key: str) -> str:
    return str(screen.query_one(f"#problem-{key}", Static).render())


async def type_into(pilot: Pilot[Any], widget: Input, text: str) -> None:
    widget.focus()
    await pilot.pause()
    widget.clear()
    await pilot.press(*text)


# --- behaviour ----------------------------------------------------------------------------


async def test_preset_changes_the_fields_for_the_gpus_tier(home: Path, small_model: str) -> None:
    app = app_for(home, hardware_backend=FakeBackend(ONE_24GB))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_settings(pilot, RunConfig(model=small_model, dataset="demo"))
        preset = screen.query_one("#preset", Select)
        # RunConfig's defaults: a quick try here too (a 24 GB card splits it the same way).
        assert preset.value == "quick try"
        preset.focus()
        await pilot.press("enter", "down", "down", "enter")  # quick try → balanced → thorough
        await wait_for(pilot, lambda: settled(screen) and screen.config.epochs == 5)
        config = screen.config
        # A 24 GB card: 4096 tokens per example, 2 per micro-batch, 32 per optimizer step.
        assert (config.max_length, config.batch_size, config.grad_accum) == (4096, 2, 16)
        assert config.learning_rate == pytest.approx(1e-4)
        assert field(screen, "max_length").value == "4096"
        assert field(screen, "grad_accum").value == "16"
        assert preset.value == "thorough"
        await type_into(pilot, field(screen, "epochs"), "2")
        await wait_for(pilot, lambda: screen.config.epochs == 2)
        assert preset.value == "custom"  # an edited field: no longer the preset


async def test_invalid_value_shows_the_sentence_and_blocks_next(
    home: Path, small_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pushed = fake_review(monkeypatch)
    app = app_for(home, hardware_backend=FakeBackend(ONE_24GB))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_settings(pilot, RunConfig(model=small_model, dataset="demo"))
        await type_into(pilot, field(screen, "batch_size"), "0")
        await wait_for(pilot, lambda: screen.estimate is None)
        assert "batch_size must be at least 1 (it is 0)." in problem(screen, "batch_size")
        assert "Fix the settings" in str(screen.query_one(VramBar).render())
        await type_into(pilot, field(screen, "learning_rate"), "fast")
        await pilot.pause()
        assert "learning_rate must be a number" in problem(screen, "learning_rate")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert pushed == [] and app.screen is screen
        assert field(screen, "learning_rate").value == "fast"  # what was typed stays
        # Fixed: the sentences go and Next goes on.
        await type_into(pilot, field(screen, "batch_size"), "2")
        await type_into(pilot, field(screen, "learning_rate"), "1e-4")
        await wait_for(pilot, lambda: settled(screen))
        assert problem(screen, "batch_size") == problem(screen, "learning_rate") == ""
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: pushed)
        assert (pushed[0].batch_size, pushed[0].learning_rate) == (2, 1e-4)


async def test_advice_for_a_run_that_does_not_fit_makes_it_fit(home: Path, big_model: str) -> None:
    app = app_for(home, hardware_backend=FakeBackend(ONE_24GB))
    async with app.run_test(size=(100, 40)) as pilot:
        lengths = [100] * 90 + [900] * 10  # what the Dataset step measured
        config = RunConfig(model=big_model, method="full")
        screen = await open_settings(pilot, config, lengths=lengths)
        assert screen.estimate is not None and screen.estimate.fits is False
        advice = screen.query_one("#advice", OptionList)
        assert advice.display and advice.option_count == len(screen.advice) > 1
        shorter = next(item for item in screen.advice if item.key == "max_length")
        assert shorter.why.startswith("Truncates 10 of 100 examples")
        first_fit = next(i for i, item in enumerate(screen.advice) if item.first_fit)
        await pilot.press("f3")
        assert screen.focused is advice
        assert advice.highlighted == first_fit  # enter applies the change that fits first
        changes = screen.advice[first_fit].changes
        await pilot.press("enter")
        await wait_for(pilot, lambda: settled(screen) and screen.estimate.fits)
        for key, value in changes.items():
            assert getattr(screen.config, key) == value
        focused = screen.focused.id if screen.focused is not None else ""
        assert (focused or "").removeprefix("field-") in changes  # where the change landed
        if "batch_size" in changes:
            assert field(screen, "batch_size").value == str(changes["batch_size"])
        assert "Fits" in str(screen.query_one(VramBar).render())


async def test_lots_of_room_offers_a_larger_batch(home: Path, small_model: str) -> None:
    app = app_for(home, hardware_backend=FakeBackend(TWO_H100))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_settings(pilot, RunConfig(model=small_model, max_length=512))
        assert screen.estimate is not None and screen.estimate.fits
        assert [item.key for item in screen.advice] == ["larger_batch"]
        larger = screen.advice[0].changes["batch_size"]
        assert larger > 4
        assert "room for more" in str(screen.query_one("#advice-title", Static).render())
        await pilot.press("f3", "enter")
        await wait_for(pilot, lambda: screen.config.batch_size == larger and settled(screen))
        assert screen.estimate.fits and field(screen, "batch_size").value == str(larger)


async def test_the_smaller_model_advice_says_where_to_go(home: Path, big_model: str) -> None:
    app = app_for(home, hardware_backend=FakeBackend(ONE_24GB))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_settings(pilot, RunConfig(model=big_model, method="full"))
        before = screen.config.to_dict()
        await pilot.press("f3", "end", "enter")
        await pilot.pause()
        assert screen.advice[-1].key == "smaller_model"
        assert screen.config.to_dict() == before
        assert any("Model step" in str(n.message) for n in app._notifications)


async def test_the_data_s_longest_row_caps_the_estimate(home: Path, small_model: str) -> None:
    app = app_for(home, hardware_backend=FakeBackend(ONE_24GB))
    config = RunConfig(model=small_model, max_length=2048)
    async with app.run_test(size=(100, 40)) as pilot:
        unknown = await open_settings(pilot, config)
        short_rows = await open_settings(pilot, config, lengths=[60, 90, 104], longest_row=104)
        assert unknown.estimate is not None and short_rows.estimate is not None
        assert short_rows.estimate.required_bytes < unknown.estimate.required_bytes / 2


async def test_a_switch_redraws_the_estimate(home: Path, small_model: str) -> None:
    app = app_for(home, hardware_backend=FakeBackend(ONE_24GB))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_settings(pilot, RunConfig(model=small_model))
        assert screen.estimate is not None
        before = screen.estimate.required_bytes
        box = screen.query_one("#field-gradient_checkpointing", Checkbox)
        box.focus()
        await pilot.press("space")
        await wait_for(pilot, lambda: settled(screen) and screen.config.gradient_checkpointing)
        assert str(box.label) == "on"
        assert screen.estimate.required_bytes < before


async def test_gpu_picker_defaults_to_the_freest_gpu(
    home: Path, small_model: str, tmp_path: Path
) -> None:
    # GPU 1 is the free one here: the default must not simply be the first.
    data = json.loads(TWO_H100.read_text())
    first, second = data["gpus"]
    for key in ("memory_free", "memory_used", "utilization_pct", "processes"):
        first[key], second[key] = second[key], first[key]
    swapped = tmp_path / "gpus.json"
    swapped.write_text(json.dumps(data))
    app = app_for(home, hardware_backend=FakeBackend(swapped))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_settings(pilot, RunConfig(model=small_model))
        picker = screen.query_one(GpuPicker)
        assert screen.gpu == 1 and screen.config.gpus == ["1"]
        assert picker.highlighted == 1
        assert "alice" in str(picker.get_option_at_index(0).prompt)  # who holds GPU 0
        await pilot.press("f2", "up")
        await wait_for(pilot, lambda: screen.gpu == 0 and settled(screen))
        assert screen.config.gpus == ["0"]
        assert screen.estimate is not None and screen.estimate.target.index == 0


async def test_a_gpu_that_goes_away_is_replaced_by_one_still_there(
    home: Path, small_model: str, tmp_path: Path
) -> None:
    gpus = tmp_path / "gpus.json"
    data = json.loads(TWO_H100.read_text())
    gpus.write_text(json.dumps(data))
    app = app_for(home, hardware_backend=FakeBackend(gpus))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_settings(pilot, RunConfig(model=small_model))
        assert screen.gpu == 0
        data["gpus"] = data["gpus"][1:]  # the next poll sees GPU 1 only
        gpus.write_text(json.dumps(data))
        await wait_for(
            pilot, lambda: screen.snapshot is not None and len(screen.snapshot.gpus) == 1
        )
        await wait_for(pilot, lambda: settled(screen))
        assert screen.gpu == 1 and screen.config.gpus == ["1"]
        assert screen.estimate is not None and screen.estimate.target.index == 1


async def test_cpu_only_estimates_against_ram_and_warns(home: Path, small_model: str) -> None:
    app = app_for(home, hardware_backend=NoGpuBackend())
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_settings(pilot, RunConfig(model=small_model))
        assert screen.estimate is not None and screen.estimate.target.device == "cpu"
        assert screen.config.gpus == []
        assert screen.query_one("#cpu-warning").display
        assert "CPU only" in str(screen.query_one(GpuPicker).get_option_at_index(0).prompt)
        assert screen.query_one("#preset", Select).value == "quick try"


async def test_f1_explains_every_field(home: Path, small_model: str) -> None:
    app = app_for(home, hardware_backend=NoGpuBackend())
    async with app.run_test(size=(100, 40)) as pilot:
        await open_settings(pilot, RunConfig(model=small_model))
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = help_text(app.screen_stack[-2])
        for item in FIELDS:
            assert f"`{item.key}`): {item.help}" in text
        assert "settings.advice" in text  # the screen's own keys, remappable by id


def fake_review(monkeypatch: pytest.MonkeyPatch) -> list[RunConfig]:
    """Replace the review step: record the config it is given."""
    pushed: list[RunConfig] = []

    class FakeReview(Screen[None]):
        def __init__(self, config: RunConfig) -> None:
            super().__init__()
            pushed.append(config)

    monkeypatch.setattr("tui_ft.ui.wizard.review.ReviewScreen", FakeReview)
    return pushed


async def test_next_pushes_review_with_the_edited_config_and_back_keeps_it(
    home: Path, small_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pushed = fake_review(monkeypatch)
    app = app_for(home, hardware_backend=FakeBackend(ONE_24GB))
    given = RunConfig(model=small_model, dataset="demo", method="lora")
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_settings(pilot, given)
        await type_into(pilot, field(screen, "save_every_steps"), "25")
        await type_into(pilot, field(screen, "system_prompt"), "Be brief.")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: pushed)
        config = pushed[0]
        assert (config.save_every_steps, config.system_prompt) == (25, "Be brief.")
        assert (config.model, config.dataset, config.method) == (small_model, "demo", "lora")
        assert config.gpus == ["0"]
        assert given.save_every_steps == 50  # the step behind keeps what it handed over
        app.pop_screen()
        await wait_for(pilot, lambda: app.screen is screen)
        assert field(screen, "save_every_steps").value == "25"


# --- pictures -----------------------------------------------------------------------------

Before = Callable[[Pilot[Any]], Awaitable[None]]


async def layout_at_rest(pilot: Pilot[Any], screen: SettingsStep) -> None:
    """The side panel's lists size themselves a frame after they fill (its scrollbar shows
    it): wait until a pause changes nothing."""
    side = screen.query_one("#settings-side")
    sizes: list[object] = []

    def still() -> bool:
        sizes.append((side.virtual_size, screen.query_one("#advice").size))
        return len(sizes) > 2 and sizes[-1] == sizes[-2] == sizes[-3]

    await wait_for(pilot, still)


def showing(config: RunConfig, *keys: str) -> Before:
    async def before(pilot: Pilot[Any]) -> None:
        screen = await open_settings(pilot, config)
        await layout_at_rest(pilot, screen)
        if keys:
            await pilot.press(*keys)
            # Focus scrolls the side panel after a refresh: let it come to rest at its end,
            # where the advice list is.
            side = pilot.app.screen.query_one("#settings-side")
            await pilot.wait_for_scheduled_animations()
            await wait_for(pilot, lambda: side.max_scroll_y and side.scroll_y == side.max_scroll_y)
        await pilot.pause()

    return before


def snapshot_app(home: Path, backend: Any) -> TuiFtApp:
    return app_for(home, hardware_backend=backend)


def test_snapshot_cpu_only(snap_compare: Any, fixed_home: Path) -> None:
    model = model_folder(fixed_home.parent, "qwen2-0.5b", QWEN2_05B)
    app = snapshot_app(fixed_home, NoGpuBackend())
    config = RunConfig(model=model)
    assert snap_compare(app, terminal_size=(80, 24), run_before=showing(config))


def test_snapshot_24gb_fits(snap_compare: Any, fixed_home: Path) -> None:
    model = model_folder(fixed_home.parent, "qwen2-0.5b", QWEN2_05B)
    app = snapshot_app(fixed_home, FakeBackend(ONE_24GB))
    config = RunConfig(model=model)
    assert snap_compare(app, terminal_size=(80, 24), run_before=showing(config))


def test_snapshot_24gb_does_not_fit(snap_compare: Any, fixed_home: Path) -> None:
    model = model_folder(fixed_home.parent, "qwen2-7b", QWEN2_7B)
    app = snapshot_app(fixed_home, FakeBackend(ONE_24GB))
    config = RunConfig(model=model, method="full")
    assert snap_compare(app, terminal_size=(80, 24), run_before=showing(config, "f3"))


def test_snapshot_24gb_does_not_fit_wide(snap_compare: Any, fixed_home: Path) -> None:
    model = model_folder(fixed_home.parent, "qwen2-7b", QWEN2_7B)
    app = snapshot_app(fixed_home, FakeBackend(ONE_24GB))
    config = RunConfig(model=model, method="full")
    assert snap_compare(app, terminal_size=(160, 48), run_before=showing(config))
