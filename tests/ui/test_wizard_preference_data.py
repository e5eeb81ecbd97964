"""The wizard's Dataset step with the preference objectives: it offers the demo the objective
can train on, shows a pair as the prompt then the chosen and the rejected answer, and refuses
(with the reason) data the objective cannot use. The objectives are the test ones of
tests/objectives/tiny_pairs.py; the preview answers from canned `data inspect` reports."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from test_wizard_steps import DEMO_REPORT, FakePreview, SettingsStandIn, settings_step, text_of
from ui_helpers import FIXTURES, app_for, wait_for

from tui_ft.core.config import RunConfig
from tui_ft.ui.wizard.dataset import DatasetStep
from tui_ft.ui.wizard.steps import WizardStep

__all__ = ["settings_step"]  # a fixture, used by name

PAIRS_REPORT = json.loads((FIXTURES / "inspect_demo_preference.json").read_text("utf-8"))
DOES_NOT_FIT = {
    "objective": "tiny_pairs",
    "fits": False,
    "sentence": "demo is in the messages format, which objective tiny_pairs does not train on. "
    "Objective tiny_pairs trains on preference data: convert the dataset, or choose another "
    "objective.",
}


@pytest.fixture(autouse=True)
def pair_objectives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUI_FT_OBJECTIVES", "tests.objectives.tiny_pairs")


def with_fit(report: dict[str, Any], fit: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(report), "fit": fit}


@pytest.mark.parametrize(
    ("objective", "demo"), [("tiny_pairs", "demo-preference"), ("sft", "demo")]
)
def test_each_objective_is_offered_the_demo_it_trains_on(objective: str, demo: str) -> None:
    for given in ("demo", "demo-preference"):
        step = DatasetStep(RunConfig(objective=objective, dataset=given))
        assert step.config.dataset == demo
        assert step.suggester.names[0] == demo
    mine = DatasetStep(RunConfig(objective=objective, dataset="mine.jsonl"))
    assert mine.config.dataset == "mine.jsonl"  # only a demo is swapped for the other


async def test_a_pair_shows_the_prompt_then_both_answers_and_goes_on(
    home: Path, settings_step: type[WizardStep]
) -> None:
    fits = {"objective": "tiny_pairs", "fits": True, "sentence": "it fits."}
    preview = FakePreview(with_fit(PAIRS_REPORT, fits))
    app = app_for(home, runner=preview)
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(DatasetStep(RunConfig(objective="tiny_pairs")))
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetStep))
        await wait_for(pilot, lambda: app.screen.report is not None)
        assert preview.requests[-1].dataset == "demo-preference"
        assert preview.requests[-1].objective == "tiny_pairs"
        assert "--objective" in preview.requests[-1].command().argv
        facts = text_of(app, "#dataset-facts")
        assert "preference" in facts and "tiny_pairs" not in facts  # a fit goes unsaid
        example = text_of(app, "#dataset-example")
        answers = PAIRS_REPORT["example"]["answers"]
        prompt_at = example.index("prompt · 37 tokens")
        chosen_at = example.index(f"chosen · {answers[0]['tokens']} tokens")
        rejected_at = example.index(f"rejected · {answers[1]['tokens']} tokens")
        assert prompt_at < example.index("What is the speed of light?") < chosen_at < rejected_at
        assert example.count("What is the speed of light?") == 1
        assert answers[0]["text"] in example and answers[1]["text"][:40] in example
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, SettingsStandIn)
        assert app.screen.config.dataset == "demo-preference"


@pytest.mark.parametrize(
    ("report", "said", "status"),
    [
        (
            with_fit(DEMO_REPORT, DOES_NOT_FIT),
            "which objective tiny_pairs does not train on",
            "Objective tiny_pairs cannot train on this dataset",
        ),
        (
            {**copy.deepcopy(PAIRS_REPORT), "dataset_problem": "every row's `label` is true"},
            "every row's `label` is true.",
            "This dataset cannot be trained on as it is",
        ),
    ],
    ids=["wrong-format", "kto-labels-all-one-value"],
)
async def test_data_the_objective_cannot_use_is_refused_with_the_reason(
    report: dict[str, Any],
    said: str,
    status: str,
    home: Path,
    settings_step: type[WizardStep],
) -> None:
    app = app_for(home, runner=FakePreview(report))
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(DatasetStep(RunConfig(objective="tiny_pairs", dataset="mine.jsonl")))
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetStep))
        await wait_for(pilot, lambda: app.screen.report is not None)
        assert said in " ".join(text_of(app, "#dataset-facts").split())
        app.screen.query_one("#dataset-skip").value = True  # skipping rows cannot help
        await pilot.pause()
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, DatasetStep)
        assert status in text_of(app, "#dataset-status")
