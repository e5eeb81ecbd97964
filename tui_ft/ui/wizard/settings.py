"""Wizard step 4, Settings: the training settings, the GPU to train on, and whether the run
will fit in its memory.

Left, the settings: a preset, then every field with a line saying what it does and, under it,
the config's own sentence when the value cannot run. Right, the `EstimatePanel`: the GPU
picker and the VRAM estimate of the run on the chosen GPU (or in RAM on the CPU), redrawn a
moment after each edit; when it does not fit, the changes that make it fit, each applied with
enter. This screen owns the config: the form, the presets, which GPU is chosen, and what the
panel is asked to estimate.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Checkbox, Footer, Input, Label, Select, Static

from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError
from tui_ft.core.estimate.advice import Advice
from tui_ft.core.estimate.peak import Estimate, Target, target_from_snapshot
from tui_ft.core.hardware.gpu_choice import default_gpu
from tui_ft.core.hardware.snapshot import HardwareSnapshot
from tui_ft.core.models.info import ModelInfo, read_model_info
from tui_ft.core.models.resolve import resolve_model
from tui_ft.core.safe_text import safe
from tui_ft.core.wizard.presets import (
    PRESET_NAMES,
    PRESETS,
    apply_preset,
    matching_preset,
    memory_tier,
)
from tui_ft.core.wizard.reward_fields import with_default_rewards
from tui_ft.core.wizard.settings_fields import (
    FIELDS,
    Field,
    FieldError,
    field_text,
    field_value,
    fields_for,
    parse_field,
    problems_by_field,
    set_field,
)
from tui_ft.ui.shell.safe_input import SafeInput
from tui_ft.ui.wizard import flow
from tui_ft.ui.wizard.estimate_panel import EstimatePanel
from tui_ft.ui.wizard.gpu_picker import GpuPicker
from tui_ft.ui.wizard.steps import WizardStep

if TYPE_CHECKING:
    from textual.timer import Timer

    from tui_ft.ui.shell.services import HardwareState

DEBOUNCE_S = 0.25  # typing "2e-5" must not redraw the estimate for "2", "2e" and "2e-"
CUSTOM = "custom"
PRESET_HINT = "Sets epochs, learning rate, batch and max length at once, sized for the device."
FORM_HINT = "Tab: next field · ctrl+n: next step · F3: the advice · F1: help"


class ModelRead(Message):
    def __init__(self, info: ModelInfo | None, error: str = "") -> None:
        super().__init__()
        self.info = info
        self.error = error


class SettingsStep(WizardStep):
    STEP = flow.number("Settings")
    HELP = (
        "How long and how hard to train, and where.\n\n"
        "**Preset** sets epochs, learning rate, micro-batch, accumulation and max length at "
        "once, sized for the memory of the chosen GPU (or the CPU); any field can then be "
        "edited, and the preset shows *custom*. Each field says what it does; a value that "
        "cannot run is explained under it in red, and Next waits until it is fixed.\n\n"
        "**Train on** lists each GPU with its free memory, how busy it is and who else holds "
        "memory there; the freest GPU that fits is chosen at first. Without a GPU the run "
        "trains on the CPU, in system RAM: allowed, but slow.\n\n"
        "**Memory estimate**: the run's peak memory, term by term, against the free memory "
        "(the ┃ mark is where it runs out). When it does not fit, a list of changes follows, "
        "each with its own estimate; **enter** on one applies it to the fields.\n\n"
        "**GRPO** runs start from GRPO's own values (batches of 2 prompts; on the GRPO demo, "
        "the demo's documented run), but a value you typed stays. They add their rewards: "
        "**Dataset's rewards** keeps or drops the rewards the dataset comes with (the GRPO "
        "demo's format and exact-match rewards), **Reward files** names your own reward "
        "functions as `file.py:function` (the trainer loads them; docs/rewards.md); "
        "**Generation** is transformers, or vllm on an NVIDIA GPU with the vllm package.\n\n"
        "## The fields\n\n" + "\n".join(f"- **{f.label}** (`{f.key}`): {f.help}" for f in FIELDS)
    )
    BINDINGS = [
        *WizardStep.BINDINGS,
        Binding("f2", "focus_gpus", "GPU", id="settings.gpus", tooltip="Choose the GPU"),
        Binding("f3", "focus_advice", "Advice", id="settings.advice", tooltip="Ways to fit"),
    ]

    def __init__(
        self,
        config: RunConfig,
        *,
        info: ModelInfo | None = None,
        lengths: Sequence[int] | None = None,
        longest_row: int | None = None,
    ) -> None:
        """`info`: the model's, when the Model step has it (else read here, in a thread);
        `lengths`: the dataset's token counts, so that "shorten max length" says what it cuts;
        `longest_row`: the data's longest row, when every row was measured: the estimate
        counts no more tokens per row than that."""
        # A copy: the step behind keeps what it handed over until Back hands this one's back.
        # An objective with rewards starts from the dataset's own (the GRPO demo has some).
        super().__init__(with_default_rewards(copy.deepcopy(config)))
        # The common fields, then the objective's own (the objective was chosen before).
        self.fields = fields_for(self.config)
        self.by_key = {item.key: item for item in self.fields}
        self.info = info
        self.panel = EstimatePanel(lengths=lengths, longest_row=longest_row, id="settings-side")
        self.model_error = ""
        self.snapshot: HardwareSnapshot | None = None
        self.hardware_error = ""
        self.gpu: int | None = None  # the chosen GPU's index; None: not chosen yet, or no GPU
        self.type_errors: dict[str, str] = {}  # text that is not a value of its field at all
        self.problems: dict[str, str] = {}
        self.other_problems: list[str] = []
        self.estimates_made = 0  # tests wait for it to move
        self._timer: Timer | None = None

    # --- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield from self.wizard_header()
        with Horizontal(id="settings-body"):
            with Vertical(id="settings-left"):
                with VerticalScroll(id="settings-form"):
                    yield Static("", id="other-problems")
                    yield from self._preset_row()
                    for item in self.fields:
                        yield from self._field_row(item)
                # The focused field's explanation in full: the lines above are cut at 80 columns.
                yield Static(FORM_HINT, id="field-help", markup=False)
            yield self.panel
        yield Footer()

    def _preset_row(self) -> ComposeResult:
        options = [(name, name) for name in PRESET_NAMES]
        options.append((CUSTOM, CUSTOM))
        with Horizontal(classes="row"):
            yield Label("Preset")
            yield Select(options, value=CUSTOM, allow_blank=False, compact=True, id="preset")
        yield Static(PRESET_HINT, classes="help", id="help-preset", markup=False)

    def _field_row(self, item: Field) -> ComposeResult:
        value = field_value(self.config, item.key)
        control: Any
        if item.kind == "bool":
            control = Checkbox(
                on_off(bool(value)), value=bool(value), compact=True, id=f"field-{item.key}"
            )
        elif item.kind == "choice":
            options = [(choice, choice) for choice in item.choices]
            control = Select(
                options, value=value, allow_blank=False, compact=True, id=f"field-{item.key}"
            )
        else:
            placeholder = "blank: use epochs" if item.key == "max_steps" else ""
            placeholder = (
                "blank: none" if item.key in ("system_prompt", "report_to") else placeholder
            )
            placeholder = (
                "blank: none; rewards.py:my_reward" if item.kind == "reward_files" else placeholder
            )
            control = SafeInput(
                field_text(item, value),
                placeholder=placeholder,
                compact=True,
                id=f"field-{item.key}",
            )
        with Horizontal(classes="row"):
            yield Label(item.label)
            yield control
        yield Static("", classes="problem", id=f"problem-{item.key}", markup=False, expand=False)
        yield Static(item.help, classes="help", id=f"help-{item.key}", markup=False)

    @property
    def estimate(self) -> Estimate | None:
        """The estimate shown; None while there is none (see `_why_no_estimate`)."""
        return self.panel.estimate

    @property
    def advice(self) -> list[Advice]:
        return self.panel.advice

    def on_mount(self) -> None:
        if self.info is None:
            self.read_model()
        app = self.tui_app
        app.hardware_signal.subscribe(self, self.on_hardware)
        self.on_hardware(app.hardware)
        self._check_fields()
        self._estimate_now()

    # --- the model and the hardware -------------------------------------------------------

    @work(thread=True, exclusive=True, group="settings-model", exit_on_error=False)
    def read_model(self) -> None:
        # The Model step read it already, so it is local (or cached): never the network here.
        try:
            info = read_model_info(resolve_model(self.config.model, allow_download=False))
        except UserError as err:
            self.post_message(ModelRead(None, err.message))
            return
        self.post_message(ModelRead(info))

    def on_model_read(self, message: ModelRead) -> None:
        self.info = message.info
        self.model_error = message.error
        self._show_preset()
        self._estimate_now()

    def on_hardware(self, state: HardwareState) -> None:
        self.snapshot = state.snapshot
        self.hardware_error = state.error
        indices = {g.index for g in state.snapshot.gpus} if state.snapshot is not None else set()
        if state.snapshot is not None and self.gpu not in indices:
            self.gpu = None  # no GPU, or the chosen one is gone (CUDA_VISIBLE_DEVICES, MIG)
        self.panel.show_cpu_warning(state.snapshot is not None and not state.snapshot.has_gpu)
        self._estimate_now()

    def _choose_default_gpu(self) -> None:
        """Once, when both the GPUs and the model are known: the GPU the config names (a
        cloned run), else the freest one on which the run fits."""
        snapshot = self.snapshot
        if snapshot is None or not snapshot.has_gpu or self.gpu is not None:
            return
        named = [g for g in snapshot.gpus if self._names(g.index, g.uuid)]
        if named:
            self.gpu = named[0].index
            return
        if self.info is None:
            return
        info = self.info
        chosen = default_gpu(
            snapshot,
            lambda g: bool(
                self.panel.fits(info, self.config, target_from_snapshot(snapshot, g.index))
            ),
        )
        if chosen is not None:
            self.gpu = chosen.index
            self.config.gpus = [str(chosen.index)]

    def _names(self, index: int, uuid: str | None) -> bool:
        return any(
            ref == str(index) or (uuid is not None and len(ref) > 4 and uuid.startswith(ref))
            for ref in self.config.gpus
        )

    def on_gpu_picker_chosen(self, message: GpuPicker.Chosen) -> None:
        self.gpu = message.index
        self.config.gpus = [] if message.index is None else [str(message.index)]
        self._show_preset()
        self._estimate_now()

    def target(self) -> Target | None:
        if self.snapshot is None:
            return None
        if not self.snapshot.has_gpu:
            return target_from_snapshot(self.snapshot)
        if self.gpu is None:
            return None
        return target_from_snapshot(self.snapshot, self.gpu)

    # --- fields ---------------------------------------------------------------------------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        key = (event.widget.id or "").removeprefix("field-")
        item = self.by_key.get(key)
        if item is not None:
            text = f"{item.label}: {item.help}"
        elif key == "preset":
            text = str(self.query_one("#help-preset", Static).render())
        else:
            text = FORM_HINT
        self.query_one("#field-help", Static).update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._field_changed(event.input.id, event.value)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "preset":
            # Only a real change applies: showing the preset the fields already follow is no
            # reason to rewrite them (and "custom" is a state, not a choice).
            if event.value not in (CUSTOM, self.current_preset()):
                self.apply_preset(str(event.value))
            return
        self._field_changed(event.select.id, str(event.value))

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.checkbox.label = on_off(event.value)
        self._field_changed(event.checkbox.id, "true" if event.value else "false")

    def _field_changed(self, widget_id: str | None, text: str) -> None:
        key = (widget_id or "").removeprefix("field-")
        item = self.by_key.get(key)
        if item is None:
            return
        try:
            value = parse_field(item, text)
        except FieldError as err:
            # The text stays in the field to be corrected; the config keeps its last value.
            self.type_errors[key] = str(err)
        else:
            self.type_errors.pop(key, None)
            set_field(self.config, key, value)
        self._check_fields()
        self._show_preset()
        self._schedule_estimate()

    def _check_fields(self) -> None:
        self.problems, self.other_problems = problems_by_field(self.config)
        self.problems |= self.type_errors
        for item in self.fields:
            widget = self.query_one(f"#problem-{item.key}", Static)
            sentence = self.problems.get(item.key, "")
            widget.update(safe(f"✘ {sentence}") if sentence else "")
            widget.set_class(bool(sentence), "-shown")
        others = self.query_one("#other-problems", Static)
        others.update(Content(safe("\n".join(f"✘ {p}" for p in self.other_problems))))
        others.display = bool(self.other_problems)

    def _fill_fields(self) -> None:
        """Show the config's values in the fields (after a preset or an advice)."""
        with self.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
            for item in self.fields:
                value = field_value(self.config, item.key)
                if item.kind == "bool":
                    box = self.query_one(f"#field-{item.key}", Checkbox)
                    box.value, box.label = bool(value), on_off(bool(value))
                elif item.kind == "choice":
                    self.query_one(f"#field-{item.key}", Select).value = value
                else:
                    self.query_one(f"#field-{item.key}", Input).value = field_text(item, value)
        self.type_errors.clear()
        self._check_fields()
        self._show_preset()

    def take_back(self, config: RunConfig) -> None:
        super().take_back(copy.deepcopy(config))
        self._fill_fields()
        self._estimate_now()

    # --- presets --------------------------------------------------------------------------

    def current_preset(self) -> str | None:
        """The preset the fields follow on the chosen device; None: edited, or no device yet."""
        target = self.target()
        if target is None:
            return None
        tier = memory_tier(target.device, target.total)
        return matching_preset(self.config, tier, self._max_context())

    def _show_preset(self) -> None:
        target = self.target()
        name = self.current_preset()
        with self.prevent(Select.Changed):
            self.query_one("#preset", Select).value = name or CUSTOM
        hint = PRESET_HINT
        if name is not None and target is not None:
            tier = memory_tier(target.device, target.total).label
            hint = f"{name}: {PRESETS[name].summary}; sized for {tier}."
        self.query_one("#help-preset", Static).update(hint)

    def _max_context(self) -> int | None:
        return self.info.max_context if self.info is not None else None

    def apply_preset(self, name: str) -> None:
        target = self.target()
        if target is None:
            self.notify("The GPUs are still being read; pick the preset again in a moment.")
            self._show_preset()
            return
        tier = memory_tier(target.device, target.total)
        changed = apply_preset(self.config, name, tier, self._max_context())
        for key in ("epochs", "learning_rate", "batch_size", "grad_accum", "max_length"):
            setattr(self.config, key, getattr(changed, key))
        self.config.max_steps = changed.max_steps
        self._fill_fields()
        self._estimate_now()
        self.notify(f"Preset {name} for {tier.label}.", markup=False)

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield from super().palette_commands()
        for name in PRESET_NAMES:
            yield SystemCommand(
                f"Preset: {name}", PRESETS[name].summary, partial(self.apply_preset, name)
            )

    # --- the estimate ---------------------------------------------------------------------

    def _schedule_estimate(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_S, self._estimate_now)

    def _estimate_now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._choose_default_gpu()
        self._show_preset()  # the device (so the tier) may be known only now
        why = self._why_no_estimate()
        self.panel.show(self.info, self.config, self.target(), why)
        self.panel.show_gpus(self.snapshot, self.gpu, self.info, self.config, estimable=not why)
        self.estimates_made += 1

    def _why_no_estimate(self) -> str:
        if self.model_error:
            return f"No estimate: {self.model_error}"
        if self.hardware_error:
            return f"No estimate: {self.hardware_error}"
        if self.info is None:
            return "Reading the model's size…"
        if self.snapshot is None:
            return "Reading the GPUs…"
        if self.target() is None:
            return "Choose a GPU to see the estimate."
        if self.problems or self.other_problems:
            return "Fix the settings marked ✘ to see the estimate."
        return ""

    def on_estimate_panel_advice_chosen(self, message: EstimatePanel.AdviceChosen) -> None:
        advice = message.advice
        if not advice.changes:  # another model: a choice the Model step makes
            self.notify(
                f"{advice.why} Escape goes back to the Model step; your settings here are kept.",
                markup=False,
            )
            return
        self.config = message.config
        self._fill_fields()
        self._estimate_now()
        # The list may be gone now (it fits): show where the change landed instead.
        changed = next((key for key in advice.changes if key in self.by_key), None)
        if changed is not None:
            self.query_one(f"#field-{changed}").focus()
        if "method" in advice.changes:
            self.notify(
                f"Method is now {self.config.method}; the Method step shows it when you go back.",
                markup=False,
            )
        self.notify(f"Applied: {advice.title}.", markup=False)

    # --- keys -----------------------------------------------------------------------------

    def action_focus_gpus(self) -> None:
        self.query_one(GpuPicker).focus()

    def action_focus_advice(self) -> None:
        if not self.panel.focus_advice():
            self.notify("No advice: the estimate needs no change.")

    def current_config(self) -> RunConfig:
        return self.config

    def action_next(self) -> None:
        if self.problems or self.other_problems:
            first = next(iter(self.problems.values()), None) or self.other_problems[0]
            self.notify(f"Fix this first: {first}", severity="error", markup=False)
            return
        if self.estimate is not None and self.estimate.fits is False:
            self.notify(
                "The estimate says this will run out of memory; the pre-flight check on the "
                "next screen measures it for sure.",
                severity="warning",
                markup=False,
            )
        self.post_message(self.Done(self, copy.deepcopy(self.config)))


def on_off(value: bool) -> str:
    """A checkbox's state in words: its mark alone is too faint in some themes."""
    return "on" if value else "off"
