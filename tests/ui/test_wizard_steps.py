"""The wizard's first half, driven with Pilot: Model → Method → Dataset with the demo model and
dataset, going back without losing anything, bad input as sentences, and the runs list's
"new run" and "clone". The dataset preview runs from a canned `data inspect` report, except in
one test that runs the real helper process."""

from __future__ import annotations

import copy
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Checkbox, Collapsible, Input, Select, Static
from ui_helpers import FIXTURES, app_for, make_run, running_status, three_runs, wait_for

from tests.fake_children import FakeChild, FakeRunner
from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.errors import UserError
from tui_ft.core.wizard.dataset_preview import PreviewRequest
from tui_ft.ui.runs.screen import RunsScreen
from tui_ft.ui.wizard import dataset as wizard_dataset
from tui_ft.ui.wizard.dataset import DatasetStep
from tui_ft.ui.wizard.method import MethodStep
from tui_ft.ui.wizard.model import ModelStep
from tui_ft.ui.wizard.steps import WizardStep

PAGE = 3  # examples per preview process in these tests (20 in the app)
DEMO_REPORT = json.loads((FIXTURES / "inspect_demo.json").read_text(encoding="utf-8"))


class FakePreview(FakeRunner):
    """Stands in for the `data inspect` helper process: answers from the canned demo report,
    numbering the examples from the page asked for, or fails with `error` as the command
    would; records every request."""

    def __init__(self, report: dict[str, Any] | None = None, error: UserError | None = None):
        super().__init__(lambda request: FakeChild(*self.answer_preview(request)))
        self.report = report or DEMO_REPORT
        self.error = error

    def answer_preview(self, request: PreviewRequest) -> tuple[str, list[str], int]:
        """(stdout, stderr lines, exit status) of `tui-ft data inspect … --json`."""
        if self.error is not None:
            return "", [f"error: {self.error.message}", f"hint: {self.error.hint}"], 1
        report = copy.deepcopy(self.report)
        template = report["rendered"][0]
        report["rendered"] = [
            {**template, "number": n, "where": f"identity.jsonl line {n}"}
            for n in range(request.first_example, request.first_example + PAGE)
            if n <= report["examples"]
        ]
        report["max_length"] = request.max_length
        return json.dumps(report), [], 0


class SettingsStandIn(WizardStep):
    """Where the Dataset step's Next goes (step 4 is another module's; tested there)."""

    STEP = 4

    def __init__(self, config: RunConfig, **data: Any) -> None:
        super().__init__(config)
        self.data = data  # what the Dataset step measured: the token lengths

    def compose(self) -> Any:
        yield from self.wizard_header()


@pytest.fixture
def preview(monkeypatch: pytest.MonkeyPatch) -> FakePreview:
    fake = FakePreview()
    monkeypatch.setattr(wizard_dataset, "EXAMPLES_PER_CALL", PAGE)
    return fake


@pytest.fixture
def settings_step(monkeypatch: pytest.MonkeyPatch) -> type[WizardStep]:
    module = types.ModuleType("tui_ft.ui.wizard.settings")
    module.SettingsStep = SettingsStandIn  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tui_ft.ui.wizard.settings", module)
    return SettingsStandIn


def text_of(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def model_shown(pilot: Any, ref: str = "demo") -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ModelStep))
    await wait_for(pilot, lambda: pilot.app.screen.read_ref == ref, seconds=30)


async def test_no_runs_opens_the_wizard_on_the_demo_model_with_its_details(home: Path) -> None:
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, ModelStep)
        await model_shown(pilot)
        facts = dict(app.screen.facts)
        assert facts["parameters"].startswith("135M") and "30 layers" in facts["shape"]
        assert facts["context"] == "8k tokens" and facts["vocabulary"] == "49,152 tokens"
        assert facts["chat template"] == "yes"
        assert "▸1 Model" in text_of(app, "#wizard-steps")
        await pilot.press("escape")  # the first screen: nowhere to go back to
        assert isinstance(app.screen, ModelStep)


async def test_a_model_that_is_not_there_is_a_sentence_and_next_waits(
    home: Path, tmp_path: Path
) -> None:
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await model_shown(pilot)
        field = app.screen.query_one("#model-input", Input)
        field.value = str(tmp_path / "no-such-model")
        field.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.screen.reading)
        info = text_of(app, "#model-info")
        assert "nothing is there" in info and "Check the path" in info
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: not app.screen.reading)
        assert isinstance(app.screen, ModelStep)  # still here, the typed path still there
        assert field.value == str(tmp_path / "no-such-model")


async def test_next_reads_a_changed_model_first_and_goes_on_only_once_shown(home: Path) -> None:
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await model_shown(pilot)
        field = app.screen.query_one("#model-input", Input)
        field.value = "demo "
        await pilot.pause()
        field.value = ""
        await pilot.pause()  # the field's Changed message first, as when a person types
        await pilot.press("ctrl+n")
        assert "Type a model" in text_of(app, "#model-status")
        field.value = "demo"
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, MethodStep)


async def test_model_path_completion_suggests_folders_and_gguf_files(
    home: Path, tmp_path: Path
) -> None:
    (tmp_path / "models" / "tiny-llama").mkdir(parents=True)
    (tmp_path / "models" / "notes.txt").write_text("")
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await model_shown(pilot)
        screen = app.screen
        assert await screen.suggester.get_suggestion(f"{tmp_path}/mo") == f"{tmp_path}/models/"
        assert (
            await screen.suggester.get_suggestion(f"{tmp_path}/models/")
            == f"{tmp_path}/models/tiny-llama/"
        )
        assert await screen.suggester.get_suggestion("de") == "demo"


async def test_walk_model_method_dataset_and_back_without_losing_anything(
    home: Path, preview: FakePreview, settings_step: type[WizardStep]
) -> None:
    app = app_for(home, runner=preview)
    async with app.run_test(size=(80, 24)) as pilot:
        await model_shown(pilot)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, MethodStep)
        assert "▸2 Method" in text_of(app, "#wizard-steps")
        await pilot.press("down")  # LoRA → QLoRA
        assert app.screen.method == "qlora"
        assert app.screen.query_one("#field-quant_type", Select).display
        # A bad rank is a sentence under the fold, which opens; Next stays.
        app.screen.query_one("#field-rank", Input).value = "many"
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, MethodStep)
        assert not app.screen.query_one("#method-advanced", Collapsible).collapsed
        assert "lora.rank must be a whole number (it is 'many')." in text_of(
            app, "#method-problems"
        )
        assert "one setting needs fixing" in text_of(app, "#method-status")
        app.screen.query_one("#field-rank", Input).value = "8"
        await pilot.pause()
        assert text_of(app, "#method-problems") == ""
        await pilot.press("ctrl+n")

        assert isinstance(app.screen, DatasetStep)
        dataset = app.screen
        assert dataset.config.method == "qlora" and dataset.config.lora.rank == 8
        await wait_for(pilot, lambda: dataset.report is not None)
        facts = text_of(app, "#dataset-facts")
        assert "messages" in facts and "100 (100 usable)" in facts
        assert "no row is cut" in facts
        assert "54–63" in text_of(app, "#dataset-histogram")
        assert preview.requests[-1].model == "demo"
        assert preview.requests[-1].max_length == 1024

        # Examples: ] and [ step; the box says which one.
        example = dataset.query_one("#dataset-example-box")
        assert example.border_title.startswith("Example 1 of 100")
        assert "Meu nome é Wren" in text_of(app, "#dataset-example")
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert example.border_title.startswith("Example 3 of 100")
        await pilot.press("right_square_bracket")  # beyond the page held: the next page
        await wait_for(pilot, lambda: dataset.pending is None and dataset.example_number == 4)
        assert preview.requests[-1].first_example == 4
        assert example.border_title.startswith("Example 4 of 100")
        await pilot.press("left_square_bracket")
        assert example.border_title.startswith("Example 3 of 100")

        # Type another dataset, go back to Method, change the method, come forward again:
        # the dataset typed is still there.
        dataset.query_one("#dataset-input", Input).value = "my-data.jsonl"
        await pilot.press("escape")
        assert isinstance(app.screen, MethodStep)
        assert app.screen.config.dataset == "my-data.jsonl"
        await pilot.press("up")  # QLoRA → LoRA
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, DatasetStep)
        assert app.screen.query_one("#dataset-input", Input).value == "my-data.jsonl"
        assert app.screen.config.method == "lora" and app.screen.config.lora.rank == 8
        await wait_for(pilot, lambda: app.screen.report is not None)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, SettingsStandIn)
        assert app.screen.config.dataset == "my-data.jsonl"
        assert app.screen.config.model == "demo"
        lengths = preview.report["lengths"]
        assert app.screen.data == {"lengths": lengths, "longest_row": max(lengths)}

        # Back from Settings to Dataset and on to Model: each step still holds its choices.
        await pilot.press("escape")
        assert isinstance(app.screen, DatasetStep)
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, ModelStep)
        assert app.screen.config.dataset == "my-data.jsonl"
        assert app.screen.config.method == "lora"


async def test_a_dataset_that_cannot_be_read_is_a_sentence(
    home: Path, settings_step: type[WizardStep]
) -> None:
    fake = FakePreview(error=UserError("nope.jsonl was not found in /data.", "Check the name."))
    app = app_for(home, runner=fake)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(DatasetStep(RunConfig(dataset="nope.jsonl")))
        await wait_for(pilot, lambda: fake.requests and app.screen.pending is None)
        facts = text_of(app, "#dataset-facts")
        assert "nope.jsonl was not found in /data." in facts and "Check the name." in facts
        await pilot.press("ctrl+n")  # tries again, still nothing to go on with
        await wait_for(pilot, lambda: app.screen.pending is None)
        assert isinstance(app.screen, DatasetStep)
        assert app.screen.query_one("#dataset-input", Input).value == "nope.jsonl"


async def test_bad_rows_are_listed_and_next_needs_skip_bad_rows(
    home: Path, settings_step: type[WizardStep]
) -> None:
    report = copy.deepcopy(DEMO_REPORT)
    report.update(
        rows=102,
        problem_count=2,
        problems=[
            {"where": "data.jsonl line 7", "message": "`messages` is empty."},
            {"where": "data.jsonl line 9", "message": "not valid JSON."},
        ],
        truncated=3,
        max_length=64,
    )
    app = app_for(home, runner=FakePreview(report))
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(DatasetStep(RunConfig(dataset="data.jsonl", max_length=64)))
        await wait_for(pilot, lambda: app.screen.report is not None)
        problems = text_of(app, "#dataset-problems")
        assert "2 bad rows" in problems and "data.jsonl line 7: `messages` is empty." in problems
        assert "3 rows are cut" in text_of(app, "#dataset-facts")
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, DatasetStep)
        assert "2 rows are bad" in text_of(app, "#dataset-status")
        app.screen.query_one("#dataset-skip", Checkbox).value = True
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, SettingsStandIn)
        assert app.screen.config.skip_bad_rows


async def test_the_real_preview_process_reads_the_demo(
    home: Path, settings_step: type[WizardStep]
) -> None:
    """`tui-ft data inspect --json` in a helper process, with the demo model's tokenizer."""
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(DatasetStep(RunConfig(model="demo", dataset="demo", max_length=50)))
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetStep))
        step = app.screen
        await wait_for(pilot, lambda: step.pending is None and step.report is not None, 240)
        assert step.report["format"] == "messages" and step.report["examples"] == 100
        assert len(step.examples) == 20  # a page of rendered examples from one process
        assert "rows are cut" in text_of(app, "#dataset-facts")  # max_length 50 cuts some
        assert "<|im_start|>" in text_of(app, "#dataset-example")
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, SettingsStandIn)


async def test_new_run_and_clone_from_the_runs_list(home: Path) -> None:
    run = make_run(home, "earlier-run", running_status(), method="qlora")
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, RunsScreen)
        await wait_for(pilot, lambda: app.screen.loaded)
        await pilot.press("n")
        assert isinstance(app.screen, ModelStep)
        assert app.screen.config == RunConfig(model="demo", dataset="demo")
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)

        await pilot.press("N")
        assert isinstance(app.screen, ModelStep)
        clone = app.screen.config
        assert clone.name == "" and clone.method == "qlora" and clone.max_steps == 300
        await pilot.press("escape")

        save_config(RunConfig(name="x"), run.config_path)
        run.config_path.write_text("method: [", encoding="utf-8")
        await pilot.press("N")
        assert isinstance(app.screen, RunsScreen)
        (note,) = [n.message for n in app._notifications]
        assert "run.yaml" in note and "YAML" in note


async def test_f1_explains_each_step_and_lists_its_keys(home: Path, preview: FakePreview) -> None:
    from textual.widgets import Markdown

    from tui_ft.ui.shell.help import HelpScreen

    app = app_for(home, runner=preview)
    async with app.run_test(size=(80, 24)) as pilot:
        for make, words in (
            (lambda: MethodStep(RunConfig()), "LoRA"),
            (lambda: DatasetStep(RunConfig()), "underlined"),
        ):
            await app.push_screen(make())
            await pilot.press("f1")
            assert isinstance(app.screen, HelpScreen)
            source = app.screen.query_one("#help-text", Markdown).source
            assert words in source and "`wizard.next`" in source and "Ctrl+N" in source
            await pilot.press("escape")
        assert "| [ | The previous example | `dataset.previous` |" in source


async def test_enter_alone_walks_the_defaults(
    home: Path, preview: FakePreview, settings_step: type[WizardStep]
) -> None:
    """A beginner pressing enter: the model's details show, then it goes on; enter on the
    highlighted method goes on with it."""
    app = app_for(home, runner=preview)
    async with app.run_test(size=(80, 24)) as pilot:
        await model_shown(pilot)
        await pilot.press("enter")
        assert isinstance(app.screen, MethodStep)
        await pilot.press("enter")
        assert isinstance(app.screen, DatasetStep)
        assert app.screen.config.method == "lora"


async def test_the_palette_offers_a_new_run_from_other_screens(home: Path) -> None:
    runs = three_runs(home)
    app = app_for(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.loaded)
        app.open_monitor(runs["done"])
        await wait_for(pilot, lambda: type(app.screen).__name__ == "MonitorScreen")
        (new_run,) = [c for c in app.get_system_commands(app.screen) if c.title == "New run"]
        new_run.callback()
        await pilot.pause()
        assert isinstance(app.screen, ModelStep)
        assert not [c for c in app.get_system_commands(app.screen) if c.title == "New run"]
