"""Wizard step 1, Model: the built-in demo, a model in the Hugging Face cache, a local folder
or GGUF file, or a hub id. What it is (parameters, layers, context, vocabulary, chat template)
is read from its config or GGUF header in a thread, never by loading weights, and shown before
Next goes on: a person should know what they are about to train."""

from __future__ import annotations

from dataclasses import replace

from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError
from tui_ft.core.models.info import read_model_info
from tui_ft.core.models.resolve import resolve_model
from tui_ft.core.safe_text import safe, safe_text
from tui_ft.core.wizard.choices import (
    MODEL_SUFFIXES,
    ModelChoice,
    absolute_ref,
    complete,
    model_choices,
)
from tui_ft.core.wizard.choices import model_facts as facts_of
from tui_ft.ui.shell.safe_input import SafeInput
from tui_ft.ui.wizard import flow
from tui_ft.ui.wizard.steps import WizardStep, error_content


class ChoicesListed(Message):
    def __init__(self, choices: list[ModelChoice]) -> None:
        super().__init__()
        self.choices = choices


class ModelRead(Message):
    """The details of `ref`, or why there are none."""

    def __init__(
        self, ref: str, facts: list[tuple[str, str]] | None, title: str, error: UserError | None
    ) -> None:
        super().__init__()
        self.ref = ref
        self.facts = facts
        self.title = title
        self.error = error


class NameSuggester(Suggester):
    """Completes known names (demo, cached ids) and paths on disk as the person types."""

    def __init__(self, suffixes: tuple[str, ...]) -> None:
        # No cache: the folder being typed into can change between two keystrokes.
        super().__init__(use_cache=False, case_sensitive=True)
        self.names: list[str] = []
        self.suffixes = suffixes

    async def get_suggestion(self, value: str) -> str | None:
        return complete(value, self.names, self.suffixes)


class ModelStep(WizardStep):
    STEP = flow.number("Model")
    HELP = (
        "Choose the model to fine-tune: `demo` (a small model that trains on a CPU, built in), "
        "one listed from your Hugging Face cache, a folder holding config.json and weights, a "
        "`.gguf` file, or a Hugging Face id such as `Qwen/Qwen2.5-0.5B-Instruct`.\n\n"
        "Type in the field (→ takes the grey completion, enter reads the model, enter again "
        "goes on) or pick from the list with enter. Its details are read from its config, "
        "without loading weights; Next goes on once they are shown."
    )

    def __init__(self, config: RunConfig) -> None:
        super().__init__(config)
        self.suggester = NameSuggester(MODEL_SUFFIXES)
        self.read_ref = ""  # the model whose details are shown ("" while none are)
        self.reading = ""  # the model being read now
        self.facts: list[tuple[str, str]] = []  # what is shown about `read_ref`

    def compose(self) -> ComposeResult:
        yield from self.wizard_header()
        yield Label(
            "Model: [b]demo[/b], a folder, a .gguf file, or a Hugging Face id (org/name)",
            id="model-prompt",
        )
        yield SafeInput(
            self.config.model,
            placeholder="demo",
            suggester=self.suggester,
            id="model-input",
        )
        with Horizontal(id="model-body"):
            yield OptionList(id="model-choices")
            with VerticalScroll(id="model-info-box"):
                yield Static("", id="model-info")
        yield Static("", id="model-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#model-choices", OptionList).border_title = "On this machine"
        self.list_choices()
        self.read_model(self.config.model)

    # --- the list of models ---------------------------------------------------------------

    @work(thread=True, exclusive=True, group="model-choices", exit_on_error=False)
    def list_choices(self) -> None:
        self.post_message(ChoicesListed(model_choices()))

    def on_choices_listed(self, message: ChoicesListed) -> None:
        self.suggester.names = [c.ref for c in message.choices]
        options = [
            Option(
                Content.assemble((safe(c.label), "bold"), "\n  ", (safe(c.detail), "$text-muted")),
                id=c.ref,
            )
            for c in message.choices
        ]
        self.query_one("#model-choices", OptionList).set_options(options)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        ref = event.option.id or ""
        self.query_one("#model-input", Input).value = ref
        if ref == self.read_ref and not self.reading:
            self.action_next()  # its details are already shown: enter goes on
        else:
            self.read_model(ref)

    # --- reading a model's details --------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # Enter reads the model; enter again, once its details are shown, goes on.
        if event.value.strip() == self.read_ref and not self.reading:
            self.action_next()
        else:
            self.read_model(event.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        stale = event.value.strip() != self.read_ref
        self.query_one("#model-info-box").set_class(stale and bool(self.read_ref), "-stale")
        if not event.value.strip():
            self._status("Type a model, or pick one from the list.")
        elif stale and self.read_ref and not self.reading:
            self._status("Press enter to read this model's details.")
        elif not stale:
            self._status("")

    def read_model(self, ref: str) -> None:
        ref = ref.strip()
        if not ref:
            self._status("Type a model, or pick one from the list.", error=True)
            return
        self.reading = ref
        self.query_one("#model-info-box").loading = True
        self._status(f"Reading {ref}…")
        self._read(ref)

    @work(thread=True, exclusive=True, group="model-info", exit_on_error=False)
    def _read(self, ref: str) -> None:
        try:
            resolved = resolve_model(ref)
            info = read_model_info(resolved)
        except UserError as err:
            self.post_message(ModelRead(ref, None, "", err))
            return
        self.post_message(ModelRead(ref, facts_of(info, resolved), info.name, None))

    def on_model_read(self, message: ModelRead) -> None:
        if message.ref != self.reading:
            return  # an older read finishing after a newer one started
        self.reading = ""
        box = self.query_one("#model-info-box")
        box.loading = False
        box.remove_class("-stale")
        info = self.query_one("#model-info", Static)
        if message.error is not None:
            self.read_ref = ""
            self.facts = []
            box.border_title = "Not usable"
            info.update(error_content(message.error))
            self._status("")
            return
        self.read_ref = message.ref
        self.facts = message.facts or []
        box.border_title = Content(safe(message.title))  # not markup: a model name
        info.update(_facts_content(message.facts or []))
        self._status("")

    def _status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#model-status", Static)
        status.update(Content(safe(text)))
        status.set_class(error, "-error")

    # --- wizard ---------------------------------------------------------------------------

    def current_config(self) -> RunConfig:
        ref = self.query_one("#model-input", Input).value.strip()
        return replace(self.config, model=absolute_ref(ref)) if ref else self.config

    def take_back(self, config: RunConfig) -> None:
        super().take_back(config)
        field = self.query_one("#model-input", Input)
        if config.model != absolute_ref(field.value):
            field.value = config.model
            self.read_model(config.model)

    def action_next(self) -> None:
        ref = self.query_one("#model-input", Input).value.strip()
        if not ref:
            self._status("Type a model, or pick one from the list.", error=True)
        elif self.reading:
            self._status(f"Still reading {self.reading}: Next goes on once it is shown.")
        elif ref != self.read_ref:
            self.read_model(ref)
        else:
            self.post_message(self.Done(self, self.current_config()))


def _facts_content(facts: list[tuple[str, str]]) -> Table:
    # A two-column grid: a long value (the source's description) wraps under itself, not
    # under the labels.
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for label, value in facts:
        table.add_row(safe_text(label), safe_text(value))  # a description may hold [brackets]
    return table
