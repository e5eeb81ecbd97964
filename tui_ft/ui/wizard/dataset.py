"""Wizard step 3, Dataset: a demo, a file, or a Hugging Face id, checked before training on
it. The format found and why, whether the objective chosen on the Method step trains on it
(Next refuses data it cannot use, with the reason), the row count, the token-length histogram with the max_length
cut, the bad rows as `tui-ft data inspect` lists them, and examples rendered through the
model's chat template with the trained tokens marked, stepped through with [ and ].

The tokenizer lives in a helper process (`tui-ft data inspect --json`): this process never
loads transformers. A loading indicator covers the preview meanwhile, and a newer request
kills the older process."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Checkbox, Footer, Input, Label, Select, Static
from textual.worker import get_current_worker

from tui_ft.core.config import RunConfig, dataset_formats
from tui_ft.core.datasets.demos import DEMO_FORMATS, demos_for, is_demo
from tui_ft.core.errors import UserError
from tui_ft.core.objectives import objective_named
from tui_ft.core.safe_text import safe
from tui_ft.core.wizard.choices import DATASET_SUFFIXES, absolute_ref
from tui_ft.core.wizard.dataset_preview import (
    EXAMPLES_PER_CALL,
    PreviewCancelled,
    PreviewRequest,
    histogram_bars,
    run_preview,
)
from tui_ft.core.wizard.objective_preset import with_objective_preset
from tui_ft.ui.shell.safe_input import SafeInput
from tui_ft.ui.wizard import flow
from tui_ft.ui.wizard.model import NameSuggester
from tui_ft.ui.wizard.steps import BACK_BINDING, NEXT_BINDING, WizardStep, error_content

BAR_CELLS = 14
PROBLEMS_SHOWN = 8


class PreviewDone(Message):
    """A report for `request`, or why there is none."""

    def __init__(
        self, request: PreviewRequest, report: dict[str, Any] | None, error: UserError | None
    ) -> None:
        super().__init__()
        self.request = request
        self.report = report
        self.error = error


class DatasetStep(WizardStep):
    STEP = flow.number("Dataset")
    HELP = (
        "What to train on: `demo` (teaches the demo model a new name), `demo-preference` "
        "(pairs that teach it to answer “In short: …”, for the preference objectives), a "
        "`.jsonl`, `.json`, `.csv`, `.parquet` or `.txt` file, or a Hugging Face dataset id. "
        "Enter checks it: the format found and why, whether the objective trains on it, the "
        "rows, their lengths in tokens against max_length (rows longer are cut), and the rows "
        "that cannot be used.\n\n"
        "The example on the right is rendered through the model's chat template; the "
        "**underlined** text is what the model is trained to write (preference pairs: the "
        "prompt, then the chosen and the rejected answer). `[` and `]` step through the "
        "examples. A file with bad rows goes on only once *skip bad rows* is ticked."
    )
    BINDINGS = [
        BACK_BINDING,
        NEXT_BINDING,
        Binding(
            "left_square_bracket",
            "example(-1)",
            "‹ example",
            id="dataset.previous",
            key_display="[",
            tooltip="The previous example",
        ),
        Binding(
            "right_square_bracket",
            "example(1)",
            "example ›",
            id="dataset.next_example",
            key_display="]",
            tooltip="The next example",
        ),
    ]

    class Done(WizardStep.Done):
        """The dataset is checked: the next step is also given its token lengths (so that
        advice to shorten max_length says what it cuts) and its longest row, when every row
        was measured (the estimate then counts no more tokens per row than that)."""

        def __init__(
            self,
            step: WizardStep,
            config: RunConfig,
            lengths: list[int] | None,
            longest: int | None,
        ) -> None:
            super().__init__(step, config)
            self.lengths = lengths
            self.longest_row = longest

        def handover(self) -> dict[str, object]:
            return {"lengths": self.lengths, "longest_row": self.longest_row}

    def __init__(self, config: RunConfig) -> None:
        formats = objective_named(config.objective).formats
        demos = demos_for(formats)
        if is_demo(config.dataset) and DEMO_FORMATS[config.dataset.strip()] not in formats:
            # The demo the objective can train on (DPO: the preference demo), if there is one,
            # started as its documented run (grpo's demo: core/objectives/grpo.py's preset).
            config = with_objective_preset(replace(config, dataset=demos[0]), config)
        super().__init__(config)
        self.suggester = NameSuggester(DATASET_SUFFIXES)
        self.suggester.names = demos
        self.report: dict[str, Any] | None = None  # the preview shown, for `shown_request`
        self.shown_request: PreviewRequest | None = None
        self.pending: PreviewRequest | None = None  # the preview being fetched
        self.examples: dict[int, dict[str, Any]] = {}  # rendered examples by number
        self.example_number = 1

    def compose(self) -> ComposeResult:
        yield from self.wizard_header()
        with Horizontal(id="dataset-row"):
            yield Label("Dataset")
            yield SafeInput(
                self.config.dataset,
                placeholder="demo, a file, or an HF id",
                suggester=self.suggester,
                id="dataset-input",
            )
            yield Select(
                [
                    (f"format: {f}", f)
                    for f in dataset_formats(objective_named(self.config.objective))
                ],
                value=self.config.dataset_format,
                allow_blank=False,
                id="dataset-format",
            )
        with Horizontal(id="dataset-body"):
            with VerticalScroll(id="dataset-facts-box"):
                yield Static("", id="dataset-facts")
                yield Static("", id="dataset-problems")
                yield Checkbox(
                    "skip bad rows", self.config.skip_bad_rows, id="dataset-skip", compact=True
                )
                yield Static("", id="dataset-histogram")
            with VerticalScroll(id="dataset-example-box"):
                yield Static("", id="dataset-example")
        yield Static("", id="dataset-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#dataset-facts-box").border_title = "Dataset"
        self.query_one("#dataset-example-box").border_title = "Example"
        self.preview()

    # --- fetching the preview -------------------------------------------------------------

    def request(self, first_example: int = 1) -> PreviewRequest:
        return PreviewRequest.for_config(self.current_config(), first_example)

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.preview()

    def on_select_changed(self, event: Select.Changed) -> None:
        # Also posted as the field mounts with its value: only a real change re-reads.
        if event.select.id == "dataset-format" and self.request() not in (
            self.pending,
            self.shown_request,
        ):
            self.preview()

    def on_input_changed(self, event: Input.Changed) -> None:
        if (
            self.shown_request is not None
            and absolute_ref(event.value) != self.shown_request.dataset
        ):
            self._status("Press enter to check this dataset.")

    def on_checkbox_changed(self, _: Checkbox.Changed) -> None:
        self._status("")

    def preview(self, first_example: int = 1) -> None:
        request = self.request(first_example)
        if not request.dataset:
            self._status("Type a dataset: demo, a file, or a Hugging Face id.", error=True)
            return
        self.pending = request
        # A new dataset covers the whole preview; another page of examples only the example.
        whole = first_example == 1
        self.query_one("#dataset-body" if whole else "#dataset-example-box").loading = True
        self._status(f"Reading {request.dataset} with {request.model}'s tokenizer…")
        self._fetch(request)

    @work(thread=True, exclusive=True, group="dataset-preview", exit_on_error=False)
    def _fetch(self, request: PreviewRequest) -> None:
        worker = get_current_worker()
        try:
            report = run_preview(self.tui_app.runner, request, lambda: worker.is_cancelled)
        except PreviewCancelled:
            return  # a newer preview replaced this one
        except UserError as err:
            self.post_message(PreviewDone(request, None, err))
            return
        self.post_message(PreviewDone(request, report, None))

    def on_preview_done(self, message: PreviewDone) -> None:
        if message.request != self.pending:
            return
        self.pending = None
        self.query_one("#dataset-body").loading = False
        self.query_one("#dataset-example-box").loading = False
        if message.error is not None:
            self._show_error(message.request, message.error)
            return
        report = message.report or {}
        for example in report.get("rendered") or []:
            self.examples[int(example["number"])] = example
        if message.request.first_example == 1:
            self.shown_request = message.request
            self.report = report
            self.example_number = 1
            self._show_report(report)
        self._show_example()
        self._status("")
        field = self.query_one("#dataset-input", Input)
        typing = absolute_ref(field.value) != message.request.dataset
        if self.focused is None or (self.focused is field and not typing):
            # Off the text field, so [ and ] step through the examples straight away; not
            # while another dataset is being typed there (the keys would go astray).
            self.query_one("#dataset-example-box").focus()

    def _show_error(self, request: PreviewRequest, error: UserError) -> None:
        if request.first_example == 1:
            self.report, self.shown_request, self.examples = None, None, {}
            self.query_one("#dataset-facts", Static).update(error_content(error))
            self.query_one("#dataset-problems", Static).update("")
            self.query_one("#dataset-histogram", Static).update("")
            self.query_one("#dataset-example", Static).update("")
            self.query_one("#dataset-skip").remove_class("-shown")
        else:
            self._status(error.message, error=True)

    def _show_report(self, report: dict[str, Any]) -> None:
        self.examples = {int(e["number"]): e for e in report.get("rendered") or []}
        # A border title is markup when it is a str: a path like data[1].jsonl is a Content.
        title = Content(safe(str(report.get("dataset", "Dataset"))))
        self.query_one("#dataset-facts-box").border_title = title
        self.query_one("#dataset-facts", Static).update(facts_content(report))
        bad = int(report.get("problem_count") or 0)
        self.query_one("#dataset-skip").set_class(bad > 0, "-shown")
        problems = self.query_one("#dataset-problems", Static)
        problems.update(problems_content(report))
        problems.display = bad > 0
        self.query_one("#dataset-histogram", Static).update(histogram_content(report))

    # --- examples -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "example":
            return bool(self.report and self.report.get("examples")) or None
        return super().check_action(action, parameters)

    def action_example(self, step: int) -> None:
        if self.report is None or self.pending is not None:
            return
        count = int(self.report.get("examples") or 0)
        number = min(max(1, self.example_number + step), count)
        if number == self.example_number:
            return
        self.example_number = number
        if number in self.examples:
            self._show_example()
        else:
            # Fetch the page that holds it (from its start, so ] then [ need no new fetch).
            first = (number - 1) // EXAMPLES_PER_CALL * EXAMPLES_PER_CALL + 1
            self.preview(first_example=first)

    def _show_example(self) -> None:
        box = self.query_one("#dataset-example-box")
        example = self.examples.get(self.example_number)
        count = int(self.report.get("examples") or 0) if self.report else 0
        if example is None:
            box.border_title = "Example"
            box.border_subtitle = ""
            self.query_one("#dataset-example", Static).update(
                Content.styled("No usable example to show.", "$text-muted")
            )
            return
        box.border_title = Content(
            safe(f"Example {example['number']} of {count} · {example['where']}")
        )
        box.border_subtitle = "underlined: trained"
        shown = answers_content(example) if "answers" in example else example_content(example)
        self.query_one("#dataset-example", Static).update(shown)

    # --- wizard ---------------------------------------------------------------------------

    def _status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#dataset-status", Static)
        status.update(Content(safe(text)))
        status.set_class(error, "-error")

    def current_config(self) -> RunConfig:
        dataset = self.query_one("#dataset-input", Input).value.strip()
        fmt = str(self.query_one("#dataset-format", Select).value)
        skip = self.query_one("#dataset-skip", Checkbox).value
        chosen = replace(
            self.config,
            dataset=absolute_ref(dataset) or self.config.dataset,
            dataset_format=fmt,
            skip_bad_rows=skip,
        )
        return with_objective_preset(chosen, self.config)

    def take_back(self, config: RunConfig) -> None:
        before = self.request()
        super().take_back(config)
        self.query_one("#dataset-input", Input).value = config.dataset
        self.query_one("#dataset-format", Select).value = config.dataset_format
        self.query_one("#dataset-skip", Checkbox).value = config.skip_bad_rows
        if self.request() != before:
            self.preview()  # a later step changed what the preview depends on (max_length)

    def action_next(self) -> None:
        request = self.request()
        if self.pending is not None:
            self._status("Still reading the dataset: Next goes on once it is shown.")
            return
        if self.shown_request != request:
            self.preview()
            return
        report = self.report or {}
        bad = int(report.get("problem_count") or 0)
        if not report.get("examples"):
            self._status("This dataset has no usable rows: fix it, or choose another.", True)
            return
        refusal = unusable(report)
        if refusal:
            self._status(refusal, error=True)
            return
        if bad and not self.query_one("#dataset-skip", Checkbox).value:
            rows = "1 row is" if bad == 1 else f"{bad} rows are"
            self._status(f"{rows} bad: fix the file, or tick “skip bad rows”.", error=True)
            return
        lengths = report.get("lengths") or None
        # A sample's longest row may not be the data's: then the estimate keeps max_length.
        longest = max(lengths) if lengths and not report.get("sampled") else None
        self.post_message(self.Done(self, self.current_config(), lengths, longest))


# --- what the preview shows (from the report's plain data) -----------------------------------


def unusable(report: dict[str, Any]) -> str:
    """Why Next cannot go on with this data whatever rows are skipped; "" when it can."""
    fit = report.get("fit") or {}
    if fit and not fit.get("fits"):
        return f"Objective {fit.get('objective')} cannot train on this dataset: see why above."
    if report.get("dataset_problem"):
        return "This dataset cannot be trained on as it is: see why above."
    return ""


def facts_content(report: dict[str, Any]) -> Content:
    lines: list[Content] = []

    def line(label: str, value: str | Content) -> None:
        lines.append(
            Content.assemble(
                (f"{label:<9}", "bold"), safe(value) if isinstance(value, str) else value
            )
        )

    line("format", str(report.get("format", "?")))
    lines.append(Content.styled(safe(str(report.get("reason", ""))), "$text-muted"))
    fit = report.get("fit") or {}
    if fit and not fit.get("fits"):  # a fit goes unsaid: the format line is enough
        lines.append(Content.styled(safe(str(fit.get("sentence", ""))), "bold $text-error"))
    if report.get("dataset_problem"):
        lines.append(Content.styled(safe(f"{report['dataset_problem']}."), "bold $text-error"))
    bad = int(report.get("problem_count") or 0)
    rows = f"{report.get('rows', 0):,} ({report.get('examples', 0):,} usable"
    line("rows", rows + (f", {bad:,} bad)" if bad else ")"))
    tokens = report.get("tokens")
    if tokens:
        line("tokens", f"{tokens['min']}–{tokens['max']}, median {tokens['median']}")
        sampled = report.get("sampled")
        if sampled:
            lines.append(Content.styled(f"from a sample of {sampled:,} rows", "$text-muted"))
        lines.append(_cut_line(report))
    if report.get("template_note"):
        lines.append(Content.styled(safe(str(report["template_note"])), "$text-warning"))
    return Content("\n").join(lines)


def _cut_line(report: dict[str, Any]) -> Content:
    cut = int(report.get("truncated") or 0)
    lost = int(report.get("nothing_left_to_train") or 0)
    text = f"max_length {report.get('max_length')}: "
    if not cut:
        return Content.assemble(("cut ", "bold"), text, ("no row is cut", "$text-success"))
    rows = "1 row is cut" if cut == 1 else f"{cut:,} rows are cut"
    if lost:
        rows += f", {lost:,} of them lose every trained token"
    return Content.assemble(("cut ", "bold"), text, (rows, "bold $text-warning"))


def histogram_content(report: dict[str, Any]) -> Content:
    """Token lengths per row, bins past max_length marked (not by colour alone: ✂)."""
    if not report.get("histogram"):
        return Content("")
    bars = histogram_bars(report, BAR_CELLS)
    # The bins start at 0: leave out the empty ones below the shortest row.
    while len(bars) > 1 and bars[0].count == 0:
        bars.pop(0)
    lines = [Content.styled("tokens per row", "bold")]
    for bar in bars:
        style = "$text-error" if bar.beyond else "$accent"
        mark = " ✂ max_length" if bar.cut else " ✂" if bar.beyond else ""
        lines.append(
            Content.assemble(
                # No-break spaces: wrapping would otherwise eat a line's leading blanks.
                f"{bar.start:>5}–{bar.end:<5} ".replace(" ", "\u00a0"),
                ("█" * bar.width, style),
                f" {bar.count}",
                (mark, "$text-error"),
            )
        )
    return Content("\n").join(lines)


def problems_content(report: dict[str, Any]) -> Content:
    bad = int(report.get("problem_count") or 0)
    if not bad:
        return Content("")
    problems = report.get("problems") or []
    shown = problems[:PROBLEMS_SHOWN]
    title = f"{bad} bad row" + ("s" if bad != 1 else "")
    if len(shown) < bad:
        title += f" (first {len(shown)})"
    lines = [Content.styled(title, "bold $text-error")]
    lines += [
        Content.assemble((safe(f"{p['where']}: "), "bold"), safe(str(p["message"]))) for p in shown
    ]
    return Content("\n").join(lines)


def example_content(example: dict[str, Any]) -> Content:
    """The rendered example: trained text bold and underlined (so it shows without colour),
    special tokens in the accent colour, the rest dimmed."""
    parts: list[tuple[str, str]] = []
    for seg in example.get("segments") or []:
        if seg["trained"]:
            style = "bold underline $text-success"
        elif seg["special"]:
            style = "$text-accent"
        else:
            style = "$text-muted"
        if seg["special"] and seg["trained"]:
            style = "underline $text-accent"
        parts.append((safe(str(seg["text"])), style))
    content = Content.assemble(*parts)
    summary = f"{example.get('tokens', 0)} tokens, {example.get('trained_tokens', 0)} trained" + (
        " · cut at max_length" if example.get("truncated") else ""
    )
    return Content("\n").join([Content.styled(summary, "bold"), content])


def answers_content(example: dict[str, Any]) -> Content:
    """A preference row: the prompt as rendered (dimmed), then each answer under a heading
    with its token count (an unpaired row: its one answer and its label), all trained."""
    prompt = [
        (safe(str(seg["text"])), "$text-accent" if seg["special"] else "$text-muted")
        for seg in example.get("prompt_segments") or []
    ]
    lines = [
        Content.styled(f"prompt · {example.get('prompt_tokens', 0)} tokens", "bold"),
        Content.assemble(*prompt),
    ]
    label = example.get("label")
    for number, answer in enumerate(example.get("answers") or []):
        if number:  # the rendered prompt ends with a line break; the first answer needs none
            lines.append(Content(""))
        heading = f"{answer['side']} · {answer['tokens']} tokens"
        if label is not None:
            heading += " · " + ("desirable" if label else "undesirable")
        if answer.get("truncated"):
            heading += " · cut at max_length"
        good = answer["side"] == "chosen" or (answer["side"] == "completion" and label)
        lines.append(Content.styled(heading, "bold $text-success" if good else "bold $text-error"))
        lines.append(Content.styled(safe(str(answer["text"])), "underline"))
    return Content("\n").join(lines)
