"""What every step of the new-run wizard shares: the step indicator under the header, the Next
and Back keys, the message a finished step posts, and the hand-back of choices when a person
goes back a step.

Each step is a `WizardStep` holding a `RunConfig`. Next posts `Done` with the updated config
and the wizard's flow (`flow.py`, which owns the order) opens the following step; escape goes
back through the flow, which hands the later step's config to the earlier one (`take_back`), so
choices made further on survive a detour: nothing typed is lost.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError
from tui_ft.core.safe_text import safe
from tui_ft.ui.shell.base import TuiFtScreen
from tui_ft.ui.wizard import flow

# Every wizard screen's layout (screens load a stylesheet per feature; widgets keep their own).
# A path from this file: a relative CSS_PATH would be read beside each subclass's module.
WIZARD_CSS = Path(__file__).with_name("wizard.tcss")

# ctrl+n: delivered by every terminal and multiplexer, and free in Input (which takes letters
# and enter). Priority, so it works whichever field has the focus.
NEXT_BINDING = Binding(
    "ctrl+n", "next", "Next", id="wizard.next", priority=True, tooltip="Go on to the next step"
)
BACK_BINDING = Binding(
    "escape", "back", "Back", id="wizard.back", tooltip="The previous step; nothing is lost"
)


def step_content(current: int) -> Content:
    """'1 Model · 2 Method · …' with the current step bold and marked (not by colour alone)."""
    parts: list[Content] = []
    for number, name in enumerate(flow.TITLES, start=1):
        if number == current:
            parts.append(Content.styled(f"▸{number} {name}", "bold reverse $accent"))
        elif number < current:
            parts.append(Content.styled(f"✓{number} {name}", "$text-success"))
        else:
            parts.append(Content.styled(f" {number} {name}", "$text-muted"))
    return Content(" · ").join(parts)


def error_content(error: UserError) -> Content:
    """A UserError shown inline in a step: the sentence in bold, the hint below it."""
    parts: list[Content | str | tuple[str, str]] = [(safe(error.message), "bold $text-error")]
    if error.hint:
        parts += ["\n\n", safe(error.hint)]
    return Content.assemble(*parts)


class StepIndicator(Static):
    """Where in the wizard this screen is."""

    DEFAULT_CSS = """
    StepIndicator {
        height: 1;
        padding: 0 1;
        background: $boost;
    }
    """

    def __init__(self, current: int) -> None:
        super().__init__(step_content(current), id="wizard-steps", markup=False)
        self.current = current


class WizardStep(TuiFtScreen):
    """Base of the wizard's screens. Subclasses set STEP (1-based: `flow.number` of their
    title), compose with `wizard_header()` first, and implement `action_next` (which posts
    `Done` once the step's choices can go on)."""

    STEP: ClassVar[int] = 1
    BINDINGS = [BACK_BINDING, NEXT_BINDING]
    CSS_PATH = WIZARD_CSS

    class Done(flow.StepDone):
        """This step's choices are made: the flow opens the next step on `config`."""

        def __init__(self, step: WizardStep, config: RunConfig) -> None:
            super().__init__(step, step.STEP, config)

    def __init__(self, config: RunConfig) -> None:
        super().__init__()
        self.config = config

    def screen_title(self) -> str:
        return f"New run › {flow.TITLES[self.STEP - 1]}"

    def wizard_header(self) -> ComposeResult:
        yield self.header()
        yield StepIndicator(self.STEP)

    def current_config(self) -> RunConfig:
        """The config with what this screen's fields hold now (valid values only)."""
        return self.config

    def take_back(self, config: RunConfig) -> None:
        """A later step handed back its config on the way back: keep its choices. Subclasses
        that show config values refresh their fields here when they differ."""
        self.config = config

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            # The wizard as the first screen (no runs yet) has nothing behind it.
            return len(self.app.screen_stack) > 1
        return True

    def action_back(self) -> None:
        flow.back(self.app, lambda _: self.current_config())

    def action_next(self) -> None:
        raise NotImplementedError
