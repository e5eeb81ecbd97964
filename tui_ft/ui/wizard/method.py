"""Wizard step 2, Method: full fine-tuning, LoRA or QLoRA, each said in two plain sentences.
Their settings (rank, alpha, dropout, target modules, DoRA; the 4-bit type) sit behind an
"advanced" fold: the defaults work, and a beginner need never open it. Every field is checked
as it is typed, with the same sentences `run.yaml` validation gives."""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Checkbox, Collapsible, Footer, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from tui_ft.core.config import QUANT_TYPES, RunConfig
from tui_ft.core.methods import Method, method_named
from tui_ft.core.objectives import objective_named, objectives
from tui_ft.core.wizard.choices import METHODS, apply_method, method_field_values
from tui_ft.core.wizard.objective_preset import with_objective_preset
from tui_ft.ui.shell.safe_input import SafeInput
from tui_ft.ui.wizard import flow
from tui_ft.ui.wizard.steps import WizardStep

LORA_FIELDS = ("rank", "alpha", "dropout", "targets")
FIELD_LABELS = {
    "rank": "rank",
    "alpha": "alpha",
    "dropout": "dropout",
    "targets": "target modules",
}
FIELD_HINTS = {
    "rank": "adapter size: 8–64; more learns more, costs more",
    "alpha": "scale of the update; usually twice the rank",
    "dropout": "0 to 0.1; guards a small dataset against overfitting",
    "targets": "all-linear, or names such as q_proj, v_proj",
}
DORA_HINT = "splits each update into size and direction: a little better, a little slower"


class MethodStep(WizardStep):
    STEP = flow.number("Method")
    HELP = (
        "How to train: **full** fine-tuning changes every weight (most memory), **LoRA** trains "
        "a small adapter beside the frozen model (the usual choice), **QLoRA** does the same on "
        "a 4-bit copy of the model (largest models per GB of GPU memory). The **objective** above "
        "is what the model learns: the dataset's answers (supervised fine-tuning), or to prefer "
        "one answer of a pair over the other (DPO, ORPO, KTO, SimPO; docs/preference.md).\n\n"
        "↑/↓ choose a method, enter goes on with it. The *Advanced* fold (tab to it, enter "
        "opens it) holds the adapter's settings; their defaults work for most runs, and each "
        "is checked as typed."
    )

    def __init__(self, config: RunConfig) -> None:
        super().__init__(config)
        self.method = config.method

    def compose(self) -> ComposeResult:
        values = method_field_values(self.config)
        yield from self.wizard_header()
        with VerticalScroll(id="method-body"):
            # Which loss: shown once there is a choice (an objective beside sft).
            with Horizontal(id="objective-row"):
                yield Label("Objective")
                yield Select(
                    [(o.title, o.name) for o in objectives().values()],
                    value=self.config.objective,
                    allow_blank=False,
                    compact=True,
                    id="objective",
                )
            yield Static(objective_named(self.config.objective).sentences, id="objective-about")
            yield OptionList(*[self._option(m) for m in METHODS], id="method-options")
            with Collapsible(title="Advanced: method settings", id="method-advanced"):
                yield Static("Full fine-tuning has no method settings.", id="method-none")
                with Grid(id="method-grid"):
                    for name in LORA_FIELDS:
                        yield Label(FIELD_LABELS[name])
                        yield SafeInput(str(values[name]), id=f"field-{name}")
                        yield Static(FIELD_HINTS[name], classes="field-hint")
                with Horizontal(id="dora-row", classes="flags"):
                    yield Checkbox("DoRA", bool(values["dora"]), id="field-dora")
                    yield Static(DORA_HINT, classes="field-hint")
                with Horizontal(id="quant-row", classes="flags"):
                    yield Label("4-bit type", id="quant-label")
                    yield Select(
                        [(q, q) for q in QUANT_TYPES],
                        value=str(values["quant_type"]),
                        allow_blank=False,
                        id="field-quant_type",
                    )
                    yield Checkbox(
                        "double quantization", bool(values["double_quant"]), id="field-double_quant"
                    )
                yield Static("", id="method-problems")
        yield Static("", id="method-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#method-options", OptionList).border_title = "Method"
        self.query_one("#method-options", OptionList).focus()
        self._highlight(self.method)
        choice = len(objectives()) > 1
        self.query_one("#objective-row").display = choice
        self.query_one("#objective-about").display = choice
        self._show_fields()
        # Focusing the method list scrolls it into view, past the objective above it; a
        # beginner should see both choices, the first one first.
        self.call_after_refresh(self.query_one("#method-body").scroll_home, animate=False)

    def _option(self, text: Method) -> Option:
        mark = "◉" if text.name == self.method else "○"
        prompt = Content.assemble(
            (f"{mark} {text.title}", "bold"), "\n", (text.sentences, "$text-muted")
        )
        return Option(prompt, id=text.name)

    def _highlight(self, method: str) -> None:
        options = self.query_one("#method-options", OptionList)
        options.highlighted = options.get_option_index(method)

    # --- choosing -------------------------------------------------------------------------

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # The highlighted method is the chosen one: arrows choose, no extra key to confirm.
        if event.option.id and event.option.id != self.method:
            self.method = event.option.id
            options = self.query_one("#method-options", OptionList)
            for text in METHODS:
                options.replace_option_prompt(text.name, self._option(text).prompt)
            self._show_fields()

    def on_option_list_option_selected(self, _: OptionList.OptionSelected) -> None:
        self.action_next()  # enter on a method: this one, go on

    def _show_fields(self) -> None:
        lora = method_named(self.method).adapter
        self.query_one("#method-none").display = not lora
        self.query_one("#method-grid").display = lora
        self.query_one("#dora-row").display = lora
        self.query_one("#quant-row").display = method_named(self.method).quantized
        self._check()

    def on_input_changed(self, _: Input.Changed) -> None:
        self._check()

    def on_checkbox_changed(self, _: Checkbox.Changed) -> None:
        self._check()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "objective":
            about = objective_named(str(event.value)).sentences
            self.query_one("#objective-about", Static).update(about)
        self._check()

    def _fields(self) -> dict[str, str | bool]:
        fields: dict[str, str | bool] = {
            name: self.query_one(f"#field-{name}", Input).value for name in LORA_FIELDS
        }
        fields["dora"] = self.query_one("#field-dora", Checkbox).value
        fields["double_quant"] = self.query_one("#field-double_quant", Checkbox).value
        fields["quant_type"] = str(self.query_one("#field-quant_type", Select).value)
        return fields

    def _check(self) -> list[str]:
        _, problems = apply_method(self.config, self.method, self._fields())
        self.query_one("#method-problems", Static).update("\n".join(problems))
        if not problems:
            self.query_one("#method-status", Static).update("")
        return problems

    # --- wizard ---------------------------------------------------------------------------

    def current_config(self) -> RunConfig:
        config, _ = apply_method(self.config, self.method, self._fields())
        objective = str(self.query_one("#objective", Select).value)
        if objective != config.objective:  # the other objective's settings mean nothing here
            config = replace(config, objective=objective, objective_settings={})
        # Where this objective starts (grpo: small batches), but what a person set.
        return with_objective_preset(config, self.config)

    def take_back(self, config: RunConfig) -> None:
        super().take_back(config)
        values = method_field_values(config)
        for name in LORA_FIELDS:
            self.query_one(f"#field-{name}", Input).value = str(values[name])
        self.query_one("#field-dora", Checkbox).value = bool(values["dora"])
        self.query_one("#field-double_quant", Checkbox).value = bool(values["double_quant"])
        self.query_one("#field-quant_type", Select).value = str(values["quant_type"])
        self._highlight(config.method)
        self.query_one("#objective", Select).value = config.objective

    def action_next(self) -> None:
        problems = self._check()
        if problems:
            self.query_one("#method-advanced", Collapsible).collapsed = False
            count = "one setting needs" if len(problems) == 1 else f"{len(problems)} settings need"
            self.query_one("#method-status", Static).update(
                f"Advanced: {count} fixing before going on (see above)."
            )
            return
        self.post_message(self.Done(self, self.current_config()))
