"""The Settings step's side panel: the GPU to train on, the VRAM estimate of the run there (or
in RAM on the CPU), and, when it does not fit, the changes that make it fit, each with its own
estimate; when it fits easily, the larger batch there is room for.

The panel works out and shows; the step owns the config. Enter on a change posts
`AdviceChosen` with the config that change makes (`apply_changes`); the step takes it into its
fields. The GPU picker inside posts `GpuPicker.Chosen`, which the step handles too.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError
from tui_ft.core.estimate.advice import Advice, advise, apply_changes, larger_batch
from tui_ft.core.estimate.peak import (
    Estimate,
    EstimateOptions,
    Target,
    estimate_training,
    run_options,
    target_from_snapshot,
)
from tui_ft.core.hardware.snapshot import HardwareSnapshot
from tui_ft.core.models.info import ModelInfo
from tui_ft.core.safe_text import safe
from tui_ft.core.units import format_bytes
from tui_ft.ui.wizard.gpu_picker import CPU_WARNING, GpuPicker
from tui_ft.ui.wizard.vram_bar import VramBar


class EstimatePanel(VerticalScroll):
    DEFAULT_CSS = """
    EstimatePanel .title {
        text-style: bold;
        color: $primary;
    }
    EstimatePanel #cpu-warning {
        color: $text-warning;
        margin-bottom: 1;
    }
    EstimatePanel #estimate-of {
        color: $text-muted;
    }
    EstimatePanel #estimate-notes {
        color: $text-muted;
    }
    EstimatePanel #advice-title {
        margin-top: 1;
    }
    EstimatePanel #advice {
        height: auto;
        max-height: 40vh;  /* whole in view at 80x24 once focused: the panel ends with it */
        border: none;
        padding: 0;
    }
    EstimatePanel #advice:focus {
        border: none;
        background-tint: $foreground 5%;
    }
    """

    class AdviceChosen(Message):
        """Enter on a piece of advice: `config` is the run's config with its changes made
        (the same config when it has none: another model is a choice of the Model step)."""

        def __init__(self, advice: Advice, config: RunConfig) -> None:
            super().__init__()
            self.advice = advice
            self.config = config

    def __init__(
        self,
        *,
        lengths: Sequence[int] | None = None,
        longest_row: int | None = None,
        id: str | None = None,
    ) -> None:
        """`lengths`: the dataset's token counts, so that "shorten max length" says what it
        cuts; `longest_row`: the data's longest row, when every row was measured: the
        estimate counts no more tokens per row than that."""
        super().__init__(id=id)
        self.lengths = lengths
        self.longest_row = longest_row
        self.config: RunConfig | None = None  # what the estimate shown is of
        self.estimate: Estimate | None = None
        self.advice: list[Advice] = []
        self._advice_keys: list[str] = []  # a new poll keeps the highlight on the same advice
        self._advice_shown: list[str] = []

    def compose(self) -> ComposeResult:
        yield Label("Train on", classes="title")
        yield GpuPicker(id="gpu-picker")
        warning = Static(f"⚠ {CPU_WARNING}", id="cpu-warning")
        warning.display = False  # until the hardware says there is no GPU
        yield warning
        yield Label("Memory estimate", classes="title", id="estimate-title")
        yield Static("", id="estimate-of", markup=False)
        yield VramBar(id="vram-bar")
        yield Static("", id="estimate-notes")
        yield Static("", id="advice-title")
        yield OptionList(id="advice")

    # --- estimating -----------------------------------------------------------------------

    def options(self, config: RunConfig) -> EstimateOptions:
        return run_options(config, self.longest_row)

    def fits(self, info: ModelInfo, config: RunConfig, target: Target) -> bool | None:
        """Whether `config` fits on `target`; None when it cannot be estimated."""
        try:
            return estimate_training(info, config, target, self.options(config)).fits
        except UserError:
            return None

    def show(
        self, info: ModelInfo | None, config: RunConfig, target: Target | None, why_not: str
    ) -> None:
        """The estimate of `config` on `target`, or `why_not` when there is none to make.
        Pure arithmetic (well under a millisecond per estimate): done here, not in a thread,
        so the picture never lags behind the fields."""
        self.config = config
        bar = self.query_one(VramBar)
        self.estimate, self.advice = None, []
        if why_not or info is None or target is None:
            bar.show(None, why_not)
        else:
            try:
                self.estimate = estimate_training(info, config, target, self.options(config))
            except UserError as err:
                bar.show(None, f"No estimate: {err.message}")
            else:
                bar.show(self.estimate)
                self.advice = self._advise(info, config, target, self.estimate)
        self._show_text(info, config)

    def _advise(
        self, info: ModelInfo, config: RunConfig, target: Target, current: Estimate
    ) -> list[Advice]:
        options = self.options(config)
        if current.fits is False:
            return advise(info, config, target, current, options, lengths=self.lengths)
        rows = len(self.lengths) if self.lengths else None
        roomy = larger_batch(info, config, target, current, options, rows)
        return [roomy] if roomy is not None else []

    def show_gpus(
        self,
        snapshot: HardwareSnapshot | None,
        chosen: int | None,
        info: ModelInfo | None,
        config: RunConfig,
        estimable: bool,
    ) -> None:
        """Every GPU, the chosen one marked, and (when the run can be estimated) whether it
        fits on each."""
        if snapshot is None:
            return
        fits: dict[int, bool | None] = {}
        if info is not None and snapshot.has_gpu and estimable:
            for gpu in snapshot.gpus:
                if gpu.error is None:
                    fits[gpu.index] = self.fits(
                        info, config, target_from_snapshot(snapshot, gpu.index)
                    )
        self.query_one(GpuPicker).show(snapshot, chosen, fits)

    def show_cpu_warning(self, shown: bool) -> None:
        self.query_one("#cpu-warning").display = shown

    def _show_text(self, info: ModelInfo | None, config: RunConfig) -> None:
        of = self.query_one("#estimate-of", Static)
        if info is not None and self.estimate is not None:
            # The precision matters: "auto" means fp32 on the CPU, bf16 or fp16 on a GPU.
            precision = self.estimate.precision
            of.update(
                safe(f"{info.name} · {config.method} · {precision.name} ({precision.reason})")
            )
        elif info is not None:
            of.update(safe(f"{info.name} · {config.method}"))
        notes = self.query_one("#estimate-notes", Static)
        notes.update(Content(safe("\n".join(self.estimate.notes))) if self.estimate else "")
        notes.display = bool(self.estimate and self.estimate.notes)
        self._show_advice()

    # --- the advice -----------------------------------------------------------------------

    def _show_advice(self) -> None:
        heading = self.query_one("#advice-title", Static)
        options = self.query_one("#advice", OptionList)
        if not self.advice or self.estimate is None:
            heading.display = options.display = False
            options.clear_options()
            self._advice_shown = []
            return
        heading.display = options.display = True
        if self.estimate.fits:
            heading.update("There is room for more (enter applies it):")
        else:
            heading.update(Content.styled("To make it fit (enter applies one):", "bold"))
        prompts = [advice_prompt(item) for item in self.advice]
        if [str(p) for p in prompts] == self._advice_shown:
            return  # the same advice again (a hardware poll): keep the list as it is
        self._advice_shown = [str(p) for p in prompts]
        keys = [item.key for item in self.advice]
        highlighted = options.highlighted if keys == self._advice_keys else None
        self._advice_keys = keys
        options.set_options(Option(prompt, id=str(n)) for n, prompt in enumerate(prompts))
        if highlighted is None and options.has_focus:
            highlighted = self._first_fit()
        # Unfocused and new, nothing is highlighted: the list reads from its top, and
        # focusing it puts the highlight on the change that fits first.
        options.highlighted = highlighted

    def _first_fit(self) -> int:
        return next((i for i, a in enumerate(self.advice) if a.first_fit), 0)

    def focus_advice(self) -> bool:
        """Focus the advice; False when there is none to focus."""
        options = self.query_one("#advice", OptionList)
        if options.display:
            options.focus()
        return bool(options.display)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        advice = event.widget
        if isinstance(advice, OptionList) and advice.id == "advice" and advice.highlighted is None:
            advice.highlighted = self._first_fit()  # F3, enter: the change that fits

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id != "advice" or event.option_id is None or self.config is None:
            return
        event.stop()
        advice = self.advice[int(event.option_id)]
        self.post_message(self.AdviceChosen(advice, apply_changes(self.config, advice.changes)))


def advice_prompt(advice: Advice) -> Content:
    if advice.estimate is None:
        return Content.assemble(("• ", "bold"), advice.title, "\n  ", (advice.why, "$text-muted"))
    need = "up to " + format_bytes(advice.estimate.required_high_bytes)  # what fits is judged on
    if advice.fits:
        mark = Content.styled(f"✔ {need}, fits", "$vram-ok")
    else:
        mark = Content.styled(f"✘ {need}, still too much", "$vram-over")
    first = Content.styled(" (first that fits)", "bold") if advice.first_fit else ""
    return Content.assemble(
        ("• ", "bold"), advice.title, "\n  ", mark, first, " · ", (advice.why, "$text-muted")
    )
