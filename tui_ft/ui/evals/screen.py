"""Evaluate a finished run: pick tasks (the built-in `forgetting` suite, tasks used before,
lm-eval task names or task files typed in) and a limit, watch `tui-ft eval` score base and
tuned task by task in a child process (the model libraries never load here), then read the
base / tuned / delta table with the forgetting alarm. Earlier evaluations of the run are listed
and open in the same table."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Input,
    OptionList,
    RichLog,
    SelectionList,
    Static,
)
from textual.widgets.option_list import Option

from tui_ft.core.errors import UserError
from tui_ft.core.evals.forgetting import alarm_sentence, forgotten
from tui_ft.core.evals.hub_tasks import cached_hub_tasks
from tui_ft.core.evals.process import EvalOutcome, EvalProcess, EvalRequest, read_progress
from tui_ft.core.evals.report import EvalReport
from tui_ft.core.evals.store import list_evals
from tui_ft.core.evals.table import COLUMNS, NUMBER_COLUMNS, summary_line, table_rows
from tui_ft.core.evals.tasks import SUITE, parse_tasks
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.safe_text import safe, safe_text
from tui_ft.ui.evals.placement import placement_note
from tui_ft.ui.shell.child_job import ChildJobScreen
from tui_ft.ui.shell.confirm import ConfirmScreen
from tui_ft.ui.shell.safe_input import SafeInput

LOG_LINES = 500
SUITE_LABEL = f"{SUITE}: the built-in offline suite (220 questions)"
STEP_COLUMNS = ("task", "metric", "base", "tuned")


class EvalProgress(Message):
    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line


class EvalFinished(Message):
    def __init__(self, outcome: EvalOutcome) -> None:
        super().__init__()
        self.outcome = outcome


class EvaluateScreen(ChildJobScreen[EvalProcess]):
    CSS_PATH = "evals.tcss"
    JOB = "evaluation"
    STATUS_ID = "#evaluate-status"
    HELP = (
        "Score the run's base and tuned models on the same questions, side by side, with "
        "EleutherAI's lm-evaluation-harness. **forgetting** is the built-in suite: general "
        "knowledge and arithmetic, offline, a minute or two on a CPU, plus the held-out split's "
        "loss. Type more tasks as lm-eval names (arc_easy) or task files (.yaml), "
        "comma-separated.\n\n"
        "A task marked **forgetting** is one where the tuned model fell below its base by more "
        "than the two scores' standard error and a margin: the fine-tune broke something the "
        "model knew. Esc while it runs asks before stopping it; a stopped evaluation leaves "
        "nothing behind. Earlier evaluations are listed below the form: Enter opens one."
    )
    BINDINGS = [
        Binding("x", "start", "Evaluate", id="evaluate.start", tooltip="Score base and tuned"),
        Binding("n", "again", "New", id="evaluate.again", tooltip="Choose other tasks"),
        Binding("escape", "leave", "Back", id="evaluate.back", tooltip="Back (asks while running)"),
        Binding("q", "quit_app", "Quit", id="evaluate.quit", tooltip="Leave tui-ft"),
    ]

    def __init__(self, run: RunDir) -> None:
        super().__init__(run)
        self.request: EvalRequest | None = None
        self.outcome: EvalOutcome | None = None
        self.report: EvalReport | None = None
        self.lines: list[str] = []
        self.steps: dict[str, dict[str, str]] = {}  # task -> side -> "…" or its score, "0.412"
        self.metrics: dict[str, str] = {}  # task -> its metric, once scored
        self.earlier: list[tuple[Path, EvalReport]] = []
        self.cached: list[str] = []  # lm-eval tasks whose data are in the local HF cache

    def screen_title(self) -> str:
        return f"Evaluate {self.run.name}"

    def compose(self) -> ComposeResult:
        yield self.header()
        with Vertical(id="evaluate-form"):
            yield SelectionList[str](id="evaluate-tasks")
            with Horizontal(id="evaluate-row"):
                yield SafeInput(placeholder="more: arc_easy, my-task.yaml", id="evaluate-more")
                yield SafeInput(placeholder="limit", id="evaluate-limit", type="integer")
                yield SafeInput(placeholder="auto", id="evaluate-device")
                yield Button("Evaluate (x)", variant="primary", id="evaluate-start")
            yield Static(id="evaluate-note")
            yield OptionList(id="evaluate-earlier")
        yield Static(id="evaluate-status")
        yield Static(id="evaluate-steps")
        # Wrapped: a long line (where it runs, an error) stays readable at 80 columns.
        yield RichLog(
            max_lines=LOG_LINES, wrap=True, markup=False, highlight=False, id="evaluate-log"
        )
        with Vertical(id="evaluate-result"):
            yield Static(id="evaluate-summary")
            yield DataTable(id="evaluate-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="evaluate-alarm")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#evaluate-tasks").border_title = "Tasks"
        self.query_one("#evaluate-earlier").border_title = "Earlier evaluations (Enter opens)"
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(_aligned(column, column), key=column)
        self._fill_form()
        self.set_job_state("form")
        self.find_cached_tasks()
        # Where it fits follows the GPU readings (the first may come after the screen opens).
        self.tui_app.hardware_signal.subscribe(self, lambda _: self._hardware_changed())

    def _hardware_changed(self) -> None:
        if self.state == "form":
            self._show_note()

    # --- the form -----------------------------------------------------------------------

    def _fill_form(self) -> None:
        self.earlier = list_evals(self.run.path)
        used = [s.task for _, r in self.earlier for s in r.tasks if s.checks_forgetting]
        tasks = self.query_one(SelectionList)
        picked = set(tasks.selected) or {SUITE}
        tasks.clear_options()
        tasks.add_option((SUITE_LABEL, SUITE, SUITE in picked))
        offered = {name: "used before" for name in used if not name.startswith(f"{SUITE}_")}
        offered.update({name: "cached" for name in self.cached if name not in offered})
        for name, why in offered.items():
            tasks.add_option((Content(safe(f"{name} ({why})")), name, name in picked))
        earlier = self.query_one("#evaluate-earlier", OptionList)
        earlier.clear_options()
        earlier.add_options(
            Option(Content(safe(_earlier_label(r))), id=str(n))
            for n, (_, r) in enumerate(self.earlier)
        )
        earlier.display = bool(self.earlier)
        self._show_note()

    @work(thread=True, exclusive=True, group="evaluate-cached", exit_on_error=False)
    def find_cached_tasks(self) -> None:
        """Reading lm-eval's task files takes a moment: off the UI thread."""
        cached = cached_hub_tasks()
        if cached:
            self.app.call_from_thread(self._offer_cached, cached)

    def _offer_cached(self, cached: list[str]) -> None:
        self.cached = cached
        if self.state == "form":
            self._fill_form()

    def chosen_tasks(self) -> str:
        picked = list(self.query_one(SelectionList).selected)
        more = self.query_one("#evaluate-more", Input).value
        return ",".join([*picked, *(part.strip() for part in more.split(",") if part.strip())])

    def _limit(self) -> int | None:
        text = self.query_one("#evaluate-limit", Input).value.strip()
        return int(text) if text.isdigit() and int(text) > 0 else None

    def _device(self) -> str:
        return self.query_one("#evaluate-device", Input).value.strip() or "auto"

    def _show_note(self, problem: str = "") -> None:
        note = self.query_one("#evaluate-note", Static)
        note.set_class(bool(problem), "-problem")
        text = problem or placement_note(self.run, self.tui_app.hardware.snapshot, self._device())
        note.update(Content(safe(text)))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "evaluate-device" and self.state == "form":
            self._show_note()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "evaluate-start":
            self.action_start()

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.action_start()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            folder, report = self.earlier[int(event.option.id)]
            self.outcome = EvalOutcome(report, folder)
            self._show_report(report)

    # --- running ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return self.state == "form" or None
        if action == "again":
            return self.state == "done" or None
        return True

    def action_start(self) -> None:
        if self.state != "form":
            return
        tasks = self.chosen_tasks()
        try:
            parse_tasks(tasks)  # a missing task file is a sentence here, not a failed child
        except UserError as err:
            self._show_note(f"{err.message} {err.hint}".strip())
            return
        self.request = EvalRequest(self.run.path, tasks, self._limit(), self._device())
        self.lines, self.steps, self.metrics, self.outcome = [], {}, {}, None
        self.query_one(RichLog).clear()
        self.start_job()
        self.evaluate(self.request)

    @work(thread=True, exclusive=True, group="evaluate", exit_on_error=False)
    def evaluate(self, request: EvalRequest) -> None:
        try:
            process = EvalProcess(request, self.tui_app.runner)
        except OSError as err:
            outcome = EvalOutcome(None, error=f"the evaluation could not start: {err}.")
            self.post_message(EvalFinished(outcome))
            return
        self.relay(process, EvalProgress, lambda p: EvalFinished(p.finish()))

    def on_eval_progress(self, message: EvalProgress) -> None:
        self.lines.append(message.line)
        self.query_one(RichLog).write(safe_text(message.line))
        progress = read_progress(message.line)
        if progress is not None and progress.task:
            self.steps.setdefault(progress.task, {})[progress.side] = progress.value or "…"
            if progress.metric:
                self.metrics[progress.task] = progress.metric
            self._show_steps()

    def on_eval_finished(self, message: EvalFinished) -> None:
        self.process = None
        self.outcome = message.outcome
        if message.outcome.cancelled:
            self.set_job_state("form")
            self.notify("Evaluation stopped; nothing was saved.", markup=False, timeout=8)
            return
        if message.outcome.report is None:
            self.set_job_state("form")
            self._show_note(message.outcome.error or "The evaluation failed.")
            return
        self._fill_form()
        self._show_report(message.outcome.report)

    def _show_steps(self) -> None:
        """The table to come, filling in: one short row per task (the log below has the
        questions and seconds), so that it fits 80 columns unwrapped."""
        grid = Table(box=None, pad_edge=False, header_style="bold")
        for column in STEP_COLUMNS:
            grid.add_column(column, justify="right" if column in NUMBER_COLUMNS else "left")
        for task, sides in self.steps.items():
            scores = (sides.get(side, "") for side in ("base", "tuned"))
            grid.add_row(*(safe_text(cell) for cell in (task, self.metrics.get(task, ""), *scores)))
        self.query_one("#evaluate-steps", Static).update(grid)

    def _show_report(self, report: EvalReport) -> None:
        self.report = report
        table = self.query_one(DataTable)
        table.clear()
        for row in table_rows(report):
            cells = [_aligned(c, cell) for c, cell in zip(COLUMNS, row.cells(), strict=True)]
            if row.alarm:
                cells[-1] = safe_text(row.alarm, style="bold")  # the word says it, not colour
            table.add_row(*cells, key=row.task)
        when = f"Evaluated {report.created}. " if report.created else ""  # reopened: when
        self.query_one("#evaluate-summary", Static).update(
            Content(safe(when + " ".join([summary_line(report), *report.notes])))
        )
        alarm = alarm_sentence(report.tasks)
        box = self.query_one("#evaluate-alarm", Static)
        box.update(
            Content(
                safe(alarm or "No forgetting: no task fell below the base by more than chance.")
            )
        )
        box.set_class(bool(alarm), "-alarm")
        self.set_job_state("done")

    def running_line(self) -> str:
        assert self.request is not None
        return f"Evaluating {self.request.tasks}"

    def focus_state(self, state: str) -> None:
        if state == "form":
            self.query_one(SelectionList).focus()
        elif state == "running":
            self.query_one(RichLog).focus()  # arrows scroll it; Esc and q stay the screen's
        elif state == "done":
            self.query_one(DataTable).focus()

    def stop_question(self, quitting: bool) -> ConfirmScreen:
        return ConfirmScreen(
            f"Stop the evaluation of {self.run.name}{' and quit' if quitting else ''}?",
            "The evaluation process is killed and nothing of it is saved; earlier evaluations "
            "stay as they were.",
            "Stop evaluation",
        )

    # --- keys ---------------------------------------------------------------------------

    def action_again(self) -> None:
        self.set_job_state("form")
        self._show_note()

    def leave_idle(self) -> None:
        if self.state == "done":  # back to the form first, then out
            self.action_again()
        else:
            self.app.pop_screen()


def _earlier_label(report: EvalReport) -> str:
    """When, what (the suite's tasks as its one name), how many questions, what it flagged."""
    names: list[str] = []
    for score in report.tasks:
        name = SUITE if score.task.startswith(f"{SUITE}_") else score.task
        if score.checks_forgetting and name not in names:
            names.append(name)
    limit = f" · limit {report.limit}" if report.limit else ""
    dropped = [s.task for s in forgotten(report.tasks)]
    alarm = f" · forgetting: {', '.join(dropped)}" if dropped else ""
    return f"{report.created} · {', '.join(names)}{limit}{alarm}"


def _aligned(column: str, cell: str) -> Text:
    """Numbers to the right, so that their points line up; words to the left."""
    text = safe_text(cell)
    text.justify = "right" if column in NUMBER_COLUMNS else "left"
    return text
