"""The new-run wizard's order, in one place: its steps, which screen each one is, what follows
it, and how going back hands choices to the step behind.

A step never names the one after it. When its choices are made it posts its `Done` message
(a `StepDone`: `WizardStep.Done`, or a subclass carrying what the step measured); the app hands
that to `forward`, which opens the next step on the config and whatever the message hands
over. Back is `back`: the screen goes, and the step behind is given the config to keep, so
nothing typed further on is lost on a detour.

Each step's screen is named here by module and class, and imported only when it is reached:
the wizard loads when a run is being set up, not when tui-ft starts. The step indicator every
step draws needs only the titles, so the screens import this module and not the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Protocol, runtime_checkable

from textual.app import App
from textual.message import Message
from textual.screen import Screen

from tui_ft.core.config import RunConfig


@dataclass(frozen=True)
class Step:
    title: str  # in the step indicator and the screen's title
    module: str  # where its screen lives
    screen: str  # the screen's class there: made with (config, **what the step before hands over)

    def make(self, config: RunConfig, handover: Mapping[str, object]) -> Screen[Any]:
        screen_class = getattr(import_module(self.module), self.screen)
        screen: Screen[Any] = screen_class(config, **handover)
        return screen


STEPS = (
    Step("Model", "tui_ft.ui.wizard.model", "ModelStep"),
    Step("Method", "tui_ft.ui.wizard.method", "MethodStep"),
    Step("Dataset", "tui_ft.ui.wizard.dataset", "DatasetStep"),
    Step("Settings", "tui_ft.ui.wizard.settings", "SettingsStep"),
    Step("Review", "tui_ft.ui.wizard.review", "ReviewScreen"),
)
TITLES = tuple(step.title for step in STEPS)


def number(title: str) -> int:
    """The 1-based place of the step called `title`."""
    return TITLES.index(title) + 1


class StepDone(Message):
    """Step number `step`, shown by `screen`, is done with `config`."""

    def __init__(self, screen: Screen[Any], step: int, config: RunConfig) -> None:
        super().__init__()
        self.screen = screen
        self.step = step
        self.config = config

    def handover(self) -> dict[str, object]:
        """What the next step is given besides the config (what this one measured)."""
        return {}


@runtime_checkable
class TakesBack(Protocol):
    """A step that can be gone back to (every `WizardStep`)."""

    def current_config(self) -> RunConfig: ...

    def take_back(self, config: RunConfig) -> None: ...


def first(config: RunConfig) -> Screen[Any]:
    """The wizard's first step, on `config` (the defaults, or a clone of an earlier run)."""
    return STEPS[0].make(config, {})


def forward(app: App[Any], done: StepDone) -> None:
    """Open the step after the one that is done."""
    if app.screen is not done.screen:
        return  # a second Next, pressed before the first had opened the next step
    if done.step < len(STEPS):  # the last step launches the run: nothing follows it
        app.push_screen(STEPS[done.step].make(done.config, done.handover()))


def back(app: App[Any], hand_back: Callable[[RunConfig], RunConfig] | None) -> None:
    """Leave the current screen for the step behind it, which keeps what `hand_back` makes of
    its own config (None: it keeps its own). The first screen has nowhere to go back to."""
    stack = app.screen_stack
    if len(stack) < 2:
        return
    previous = stack[-2]
    if hand_back is not None and isinstance(previous, TakesBack):
        previous.take_back(hand_back(previous.current_config()))
    app.pop_screen()
