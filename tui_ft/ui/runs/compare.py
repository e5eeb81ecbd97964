"""Runs side by side: the runs list's marked runs (space marks, `=` opens this), read once from
their run directories (tui_ft.core.compare): each run's facts, the loss and eval-loss curves
overlaid (by step or by tokens seen, `x` switches), the settings that differ, the evaluation
results and the probe answers. With two runs of the same base model, `c` chats with both."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Static

from tui_ft.core.compare.curves import AXES, xy
from tui_ft.core.compare.report import Comparison, compare_runs
from tui_ft.core.compare.text import (
    TextTable,
    config_table,
    evals_table,
    facts_table,
    probe_tables,
    rich_table,
)
from tui_ft.core.errors import UserError
from tui_ft.core.objectives.spec import ChartLine
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.safe_text import safe, safe_text
from tui_ft.ui.runs.metric_chart import MetricChart
from tui_ft.ui.shell.base import TuiFtScreen

# One theme colour per run, cycling; each run's line also has its own mark, so the runs tell
# apart without colour.
RUN_COLORS = ("loss", "eval-loss", "lr", "grad-norm", "throughput", "memory")
RUN_MARKS = ("braille", "●", "+", "x", "◆", "■")
CURVE_TITLES = {"loss": "loss", "eval_loss": "eval loss"}
AXIS_WORDS = {"step": "by step", "tokens": "by tokens seen"}


class Compared(Message):
    def __init__(self, comparison: Comparison | None, error: str = "") -> None:
        super().__init__()
        self.comparison = comparison
        self.error = error  # why the runs could not be compared (one was deleted meanwhile)


class CompareScreen(TuiFtScreen):
    CSS_PATH = "runs.tcss"
    SCREEN_TITLE = "Compare runs"
    HELP = (
        "The marked runs side by side: what each is (model, method, state, steps, tokens seen, "
        "last loss, best eval loss, wall time, peak memory), their loss and eval-loss curves "
        "overlaid, the run.yaml settings that differ (only those), their evaluation results "
        "(tuned, and the change from its base model; the last row names the tasks where each "
        "run's newest scores flag forgetting) and the probe answers at the last step "
        "they all answered. **x** draws the curves by tokens seen instead of steps (runs with "
        "other batch sizes or lengths line up there). Runs of different base models compare "
        "too, with a note saying so. With two runs of the same base model, **c** opens the chat "
        "with both. `tui-ft compare A B … --json` gives the same for scripts."
    )
    BINDINGS = [
        Binding("x", "axis", "Steps/tokens", id="compare.axis", tooltip="Curves by step or tokens"),
        Binding("c", "chat", "Chat both", id="compare.chat", tooltip="The two runs side by side"),
        Binding("r", "reload", "Reload", id="compare.reload", tooltip="Read the runs again"),
    ]

    def __init__(self, runs: list[RunDir]) -> None:
        super().__init__()
        self.runs = runs
        self.comparison: Comparison | None = None
        self.axis = AXES[0]
        self.loaded = False  # the first reading arrived (tests and snapshots wait for it)

    def screen_title(self) -> str:
        return f"Compare · {' · '.join(run.name for run in self.runs)}"

    def compose(self) -> ComposeResult:
        yield self.header()
        with VerticalScroll(id="compare-body"):
            yield Static("Reading the runs…", id="compare-notes")
            yield Static(id="compare-facts", classes="compare-table")
            yield Static(id="compare-axis")
            for name, title in CURVE_TITLES.items():
                yield MetricChart(
                    title, self._lines(), empty=f"{title}: none logged", id=f"compare-{name}"
                )
            yield Static(id="compare-config", classes="compare-table")
            yield Static(id="compare-evals", classes="compare-table")
            yield Static(id="compare-probes", classes="compare-table")
        yield Footer()

    def on_mount(self) -> None:
        self.read_runs()

    @work(thread=True, exclusive=True, group="compare-read", exit_on_error=False)
    def read_runs(self) -> None:
        try:
            paths = [str(run.path) for run in self.runs]
            self.post_message(Compared(compare_runs(paths, now=self.tui_app.clock())))
        except UserError as err:
            self.post_message(Compared(None, f"{err.message} {err.hint}".strip()))

    def on_compared(self, message: Compared) -> None:
        self.loaded = True
        self.comparison = comparison = message.comparison
        if comparison is None:
            self.query_one("#compare-notes", Static).update(safe_text(message.error, "bold"))
            self.refresh_bindings()
            return
        notes = "\n".join(f"Note: {note}" for note in comparison.notes)
        self.query_one("#compare-notes", Static).update(safe_text(notes, "italic"))
        self.query_one("#compare-notes").display = bool(notes)
        self._table("#compare-facts", facts_table(comparison))
        self._table("#compare-config", config_table(comparison))
        self._table("#compare-evals", evals_table(comparison))
        self._tables("#compare-probes", probe_tables(comparison))
        self._draw()
        self.refresh_bindings()

    def _lines(self) -> list[ChartLine]:
        return [
            ChartLine(run.name, safe(run.name), RUN_COLORS[i % len(RUN_COLORS)], _mark(i))
            for i, run in enumerate(self.runs)
        ]

    def _draw(self) -> None:
        comparison = self.comparison
        if comparison is None:
            return
        self.query_one("#compare-axis", Static).update(
            safe_text(f"Curves {AXIS_WORDS[self.axis]} (x switches)", "bold")
        )
        for name, title in CURVE_TITLES.items():
            chart = self.query_one(f"#compare-{name}", MetricChart)
            data = {run: xy(points[name], self.axis) for run, points in comparison.curves.items()}
            chart.set_data(data, title=f"{title} {AXIS_WORDS[self.axis]}")

    def _table(self, selector: str, table: TextTable) -> None:
        self._tables(selector, [table])

    def _tables(self, selector: str, tables: list[TextTable]) -> None:
        from rich.console import Group

        parts = [
            rich_table(t) if t.rows else safe_text(f"{t.title}\n{t.empty}".strip()) for t in tables
        ]
        self.query_one(selector, Static).update(Group(*parts))

    # --- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "chat":
            return (self.comparison is not None and self.comparison.can_chat) or None
        return True

    def action_axis(self) -> None:
        self.axis = AXES[(AXES.index(self.axis) + 1) % len(AXES)]
        self._draw()

    def action_reload(self) -> None:
        self.read_runs()

    def action_chat(self) -> None:
        left, right = self.runs
        self.tui_app.open_chat(right, with_run=left)


def _mark(index: int) -> str:
    """The first run draws a line; the others points of their own mark."""
    mark = RUN_MARKS[index % len(RUN_MARKS)]
    return "" if mark == "braille" else mark
