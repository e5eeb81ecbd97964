"""Every run in the runs home, active ones first, refreshed every two seconds; open one to watch
it, resume, stop or delete it. Runs started elsewhere (another shell, yesterday's session) show
up by themselves: the run directory is the only state. Space marks runs: `=` compares the
marked ones, and with two marked, `c` chats with both side by side."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from tui_ft.core.errors import UserError
from tui_ft.core.evals.forgetting import run_alarm
from tui_ft.core.runs.control import Launcher, delete_run
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.listing import last_loss, list_runs
from tui_ft.core.runs.text import (
    NONE,
    loss_text,
    method_text,
    progress_text,
    short_model,
    state_label,
)
from tui_ft.core.safe_text import safe_text
from tui_ft.core.units import format_age
from tui_ft.ui.runs.actions import (
    NOT_YET,
    ActionDone,
    clone_config,
    confirm_delete,
    confirm_stop,
    resumed_text,
    stopped_text,
)
from tui_ft.ui.runs.detail import RunDetail, RunRow
from tui_ft.ui.shell.base import TuiFtScreen
from tui_ft.ui.shell.confirm import when_confirmed
from tui_ft.ui.shell.state_style import state_style

REFRESH_S = 2.0
NAME_WIDTH = 30  # longer names are cut in the table; the detail pane shows them whole
OTHER_COLUMNS = 90
COLUMNS = ("state", "run", "progress", "loss", "updated", "method", "model", "dataset")
RESUMABLE = ("stopped", "crashed", "failed")
MARK = "● "  # before a marked run's name, without colour (✓ is the state "completed")


class RunsLoaded(Message):
    def __init__(self, rows: list[RunRow]) -> None:
        super().__init__()
        self.rows = rows


class RunsScreen(TuiFtScreen):
    CSS_PATH = "runs.tcss"
    SCREEN_TITLE = "Runs"
    HELP = (
        "Every run in the runs home, active first. Runs keep going when tui-ft closes; their "
        "state comes from each run's folder, refreshed every two seconds. A run whose trainer "
        "vanished shows as *crashed* and can be resumed from its last checkpoint.\n\n"
        "**Space** marks a run (again: unmarks it). With two or more marked, **=** puts them "
        "side by side (settings that differ, curves, evaluations, probe answers); with two "
        "marked, **c** opens the chat with both, the first marked on the left."
    )
    BINDINGS = [
        # Enter reaches the table first (a selected row opens); "o" is the same for the footer.
        Binding("o", "open", "Open", id="runs.open", key_display="enter", tooltip="Watch it live"),
        Binding("n", "new_run", "New", id="runs.new", tooltip="Set up a new run, step by step"),
        Binding("r", "resume", "Resume", id="runs.resume", tooltip="Continue from a checkpoint"),
        Binding("s", "stop", "Stop", id="runs.stop", tooltip="Stop the run (it saves first)"),
        Binding("d", "delete", "Delete", id="runs.delete", tooltip="Delete the run's folder"),
        # "Chat", not "Chat A/B" as elsewhere: at 80 columns "f1 Help" must still fit.
        Binding("c", "chat", "Chat", id="runs.chat", tooltip="Base and tuned side by side"),
        # In the footer once two runs are marked (check_action); marking is in F1 and the palette.
        Binding(
            "equals_sign",
            "compare",
            "Compare",
            id="runs.compare",
            key_display="=",
            tooltip="The marked runs side by side",
        ),
        Binding(
            "space",
            "mark",
            "Mark",
            id="runs.mark",
            tooltip="Mark the run to compare (or chat with two)",
            show=False,
        ),
        Binding("e", "export", "Export", id="runs.export", tooltip="Export the finished model"),
        # Not in the footer (no room at 80 columns): F1 and the palette list them.
        Binding(
            "v",
            "evaluate",
            "Evaluate",
            id="runs.evaluate",
            tooltip="Base and tuned on benchmarks: what it forgot",
            show=False,
        ),
        Binding(
            "N",
            "clone",
            "Clone",
            id="runs.clone",
            tooltip="A new run set up like this one",
            show=False,
        ),
    ]

    def __init__(self, runs_home: Path, launcher: Launcher, clock: Callable[[], float]) -> None:
        super().__init__()
        self.runs_home = runs_home
        self.launcher = launcher
        self.clock = clock
        self.rows: dict[str, RunRow] = {}
        self.marked: list[str] = []  # run names, in the order they were marked
        self.loaded = False  # the first listing has arrived (tests and snapshots wait for it)

    def compose(self) -> ComposeResult:
        yield self.header()
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static(safe_text(f"No runs in {self.runs_home}."), id="runs-empty")
        yield RunDetail(id="run-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self.app.theme_changed_signal.subscribe(
            self, lambda _: self._fill(list(self.rows.values()))
        )
        self.load_runs()
        self.set_interval(REFRESH_S, self.load_runs)

    def on_screen_resume(self) -> None:
        self.load_runs()  # back from a monitor: its run may have changed meanwhile

    # --- listing --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="runs-load", exit_on_error=False)
    def load_runs(self) -> None:
        summaries = list_runs(self.runs_home, now=self.clock())
        rows = [
            RunRow(
                summary,
                last_loss(RunDir(summary.path)),
                run_alarm(summary.path) if summary.status.state == "completed" else "",
            )
            for summary in summaries
        ]
        self.post_message(RunsLoaded(rows))

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        self._fill(message.rows)
        self.loaded = True

    def _fill(self, rows: list[RunRow]) -> None:
        table = self.query_one(DataTable)
        selected = self.current()
        self.rows = {row.summary.name: row for row in rows}
        self.marked = [name for name in self.marked if name in self.rows]  # deleted meanwhile
        table.clear()
        for row in rows:
            table.add_row(*self._cells(row), key=row.summary.name)
        if selected is not None and selected.summary.name in self.rows:
            table.move_cursor(row=table.get_row_index(selected.summary.name), animate=False)
        self.query_one("#runs-empty").display = not rows
        table.display = bool(rows)
        self._show_detail()

    def _cells(self, row: RunRow) -> list[Text]:
        s = row.summary
        # The other columns take about OTHER_COLUMNS cells: a wide terminal shows whole names
        # (from the next refresh after a resize).
        width = max(NAME_WIDTH, self.size.width - OTHER_COLUMNS)
        name = s.name if len(s.name) <= width else s.name[: width - 1] + "…"
        if s.name in self.marked:
            name = MARK + name
        return [
            safe_text(state_label(s.status.state), style=state_style(self.app, s.status.state)),
            safe_text(name),
            Text(progress_text(s), justify="right"),
            Text(loss_text(row.loss), justify="right"),
            Text(format_age(s.age_s), justify="right"),
            safe_text(method_text(s)),
            safe_text(short_model(s.model) or NONE),
            safe_text(short_model(s.dataset) or NONE),
        ]

    def current(self) -> RunRow | None:
        table = self.query_one(DataTable)
        if not self.rows or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.rows.get(key or "")

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, _: DataTable.RowSelected) -> None:
        self.action_open()

    def _show_detail(self) -> None:
        self.query_one(RunDetail).show(self.current())
        self.refresh_bindings()

    # --- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        row = self.current()
        state = row.summary.status.state if row else ""
        if action == "open":
            return row is not None or None
        # Resume and Stop never apply to the same run: the one that does not is hidden, not
        # greyed, so that the footer fits 80 columns.
        if action == "resume":
            return state in RESUMABLE
        if action == "stop":
            return row is not None and row.summary.status.active
        if action == "delete":
            return (row is not None and not row.summary.status.active) or None
        if action in ("clone", "chat", "mark"):
            return row is not None or None
        if action == "compare":
            return len(self.marked) >= 2  # hidden until then: the footer has no room to spare
        if action in ("export", "evaluate"):
            return state == "completed" or None
        return True

    def selected_run(self) -> RunDir | None:
        row = self.current()
        return RunDir(row.summary.path) if row is not None else None

    def action_open(self) -> None:
        if (run := self.selected_run()) is not None:
            self.tui_app.open_monitor(run)

    def action_not_yet(self, what: str) -> None:
        run = self.selected_run()
        self.notify(NOT_YET[what].format(name=run.name if run else "RUN"), markup=False)

    def action_chat(self) -> None:
        """Two runs marked: both side by side, the first marked on the left (in the base's
        place); otherwise the run under the cursor beside its base model."""
        if len(self.marked) == 2:
            left, right = (RunDir(self.rows[name].summary.path) for name in self.marked)
            self.tui_app.open_chat(right, with_run=left)
        elif (run := self.selected_run()) is not None:
            self.tui_app.open_chat(run)

    def action_mark(self) -> None:
        row = self.current()
        if row is None:
            return
        name = row.summary.name
        if name in self.marked:
            self.marked.remove(name)
        else:
            self.marked.append(name)
        self._fill(list(self.rows.values()))
        self.refresh_bindings()
        self.notify(marked_text(self.marked), markup=False, timeout=4)

    def action_compare(self) -> None:
        if len(self.marked) >= 2:
            self.tui_app.open_compare([RunDir(self.rows[n].summary.path) for n in self.marked])

    def action_new_run(self) -> None:
        self.tui_app.open_wizard()

    def action_clone(self) -> None:
        if (run := self.selected_run()) is not None:
            try:
                config = clone_config(run)
            except UserError as err:  # its run.yaml no longer loads: say why, open nothing
                self.tui_app.report_error(err)
                return
            self.tui_app.open_wizard(config)

    def action_export(self) -> None:
        if (run := self.selected_run()) is not None:
            self.tui_app.open_export(run)

    def action_evaluate(self) -> None:
        if (run := self.selected_run()) is not None:
            self.tui_app.open_evaluate(run)

    def action_resume(self) -> None:
        if (run := self.selected_run()) is not None:
            self.resume(run)

    @work(thread=True, exclusive=True, group="runs-resume", exit_on_error=False)
    def resume(self, run: RunDir) -> None:
        self.launcher.resume(run)
        self.post_message(ActionDone(resumed_text(run), run))

    def action_stop(self) -> None:
        if (run := self.selected_run()) is not None:
            self.app.push_screen(confirm_stop(run), when_confirmed(lambda: self.stop(run)))

    @work(thread=True, exclusive=True, group="runs-stop", exit_on_error=False)
    def stop(self, run: RunDir) -> None:
        target = self.launcher.stop(run)
        self.post_message(ActionDone(stopped_text(run, target)))

    def action_delete(self) -> None:
        if (run := self.selected_run()) is not None:
            self.app.push_screen(confirm_delete(run), when_confirmed(lambda: self.delete(run)))

    @work(thread=True, exclusive=True, group="runs-delete", exit_on_error=False)
    def delete(self, run: RunDir) -> None:
        delete_run(run, self.runs_home)
        self.post_message(ActionDone(f"Deleted {run.name}."))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, markup=False)
        self.load_runs()
        if message.open_run is not None:
            self.tui_app.open_monitor(message.open_run)


def marked_text(marked: list[str]) -> str:
    if not marked:
        return "No run marked."
    if len(marked) == 1:
        return f"Marked {marked[0]}: mark another to compare the two (=) or chat with both (c)."
    what = "= compares them, c chats with both" if len(marked) == 2 else "= compares them"
    return f"{len(marked)} marked ({', '.join(marked)}): {what}."
