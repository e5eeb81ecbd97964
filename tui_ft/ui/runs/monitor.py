"""One run, live: progress, health, charts, probe answers and the log, replayed from the start
of the run directory on open and then tailed. Closing the screen (or the app) never touches the
trainer; reopening replays everything again."""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Log, Static
from textual.worker import get_current_worker

from tui_ft.core.evals.forgetting import run_alarm
from tui_ft.core.rewards.spec import run_reward_labels
from tui_ft.core.runs.charts import charts_for, run_objective, run_settings
from tui_ft.core.runs.control import Launcher
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.series import RunSeries
from tui_ft.core.runs.status import Status
from tui_ft.core.runs.watch import RunUpdate, RunWatch
from tui_ft.core.safe_text import safe
from tui_ft.ui.runs.actions import NOT_YET, ActionDone, confirm_stop, stopped_text
from tui_ft.ui.runs.chart_panel import ChartPanel
from tui_ft.ui.runs.completions_panel import CompletionsPanel
from tui_ft.ui.runs.health_line import HealthLine
from tui_ft.ui.runs.probe_answers import ProbeAnswers
from tui_ft.ui.runs.progress import RunProgress
from tui_ft.ui.shell.base import TuiFtScreen
from tui_ft.ui.shell.confirm import when_confirmed
from tui_ft.ui.shell.error_panel import ErrorPanel

LOG_LINES = 200
WIDE = (120, 40)  # columns, rows
FINISHED_TEXT = (
    "Finished: c opens the A/B chat (base vs tuned), v evaluates it, e exports the model."
)


class RunUpdated(Message):
    def __init__(self, update: RunUpdate) -> None:
        super().__init__()
        self.update = update


class MonitorScreen(TuiFtScreen):
    CSS_PATH = "runs.tcss"
    POLL_S = 0.5  # tests shorten it
    HELP = (
        "The run as it trains: where it is, whether it is healthy, its charts, the model's "
        "answers to fixed prompts at each evaluation, and the trainer's log. Leaving this "
        "screen or quitting tui-ft does not stop the run; opening it again replays everything.\n\n"
        "The health line watches for a NaN/inf loss, grad-norm spikes, an eval loss rising "
        "three evaluations in a row (overfitting), a throughput drop and a silent trainer, "
        "and for what matters to the run's objective (preference runs: a reward accuracy "
        "stuck at 0.5, both answers unlearned, a loss near 0 from the start; GRPO runs: no "
        "learning signal, every completion clipped, one reward dominating, the KL running "
        "away); the terminal bell rings once for each new alarm.\n\n"
        "GRPO runs chart each reward function by its name and show, above the probe answers, "
        "the latest step's sampled completions with each reward's score."
    )
    BINDINGS = [
        Binding("s", "stop", "Stop", id="monitor.stop", tooltip="Stop the run (it saves first)"),
        Binding("l", "toggle_log", "Log/answers", id="monitor.log", tooltip="Log or probes"),
        Binding("c", "chat", "Chat A/B", id="monitor.chat", tooltip="Base and tuned side by side"),
        Binding("e", "export", "Export", id="monitor.export", tooltip="Export the model"),
        # Not in the footer (no room at 80 columns): the finished line names it, F1 lists it.
        Binding(
            "v",
            "evaluate",
            "Evaluate",
            id="monitor.evaluate",
            tooltip="Base and tuned on tasks",
            show=False,
        ),
        *(
            Binding(
                str(number),
                f"chart({number})",
                f"Chart {number}",
                id=f"monitor.chart-{number}",
                show=False,
                tooltip=f"Show chart {number} (its number is on its tab)",
            )
            for number in range(1, 10)
        ),
    ]

    def __init__(self, run: RunDir, launcher: Launcher, clock: Callable[[], float]) -> None:
        super().__init__()
        self.run = run
        self.launcher = launcher
        self.clock = clock
        self.objective = run_objective(run)
        self.settings = run_settings(run, self.objective)
        self.series = RunSeries(metrics=[metric.key for metric in self.objective.metrics])
        self.status = Status("queued")
        self.alarm_keys: set[str] = set()
        self.replayed = False  # the whole history so far is on screen
        self.bells = 0
        self._update_taken = threading.Event()
        self._stop_watching = threading.Event()

    def screen_title(self) -> str:
        return self.run.name

    def compose(self) -> ComposeResult:
        yield self.header()
        yield RunProgress(id="run-progress")
        yield HealthLine(id="health")
        yield ErrorPanel(id="error-panel")
        yield Static(FINISHED_TEXT, id="finished")
        yield ChartPanel(charts_for(self.objective, self.settings), id="charts")
        with Horizontal(id="bottom"):
            with VerticalScroll(id="probes-box"):
                if self.objective.samples:
                    yield CompletionsPanel(run_reward_labels(self.settings), id="completions")
                yield ProbeAnswers(id="probes")
            yield Log(max_lines=LOG_LINES, id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#finished").display = False
        self.query_one("#error-panel").display = False
        self.query_one("#bottom").add_class("-probes")
        self.watch_run()

    def on_unmount(self) -> None:
        self._stop_watching.set()

    def on_resize(self) -> None:
        # Room for the probe answers and the log side by side, and for every chart at once.
        self.set_class(self.size.width >= WIDE[0] and self.size.height >= WIDE[1], "-wide")

    # --- the watcher thread ---------------------------------------------------------------

    @work(thread=True, exclusive=True, group="monitor-watch", exit_on_error=False)
    def watch_run(self) -> None:
        worker = get_current_worker()
        watch = RunWatch(self.run, self.clock, self.objective, self.settings)
        while not worker.is_cancelled and not self._stop_watching.is_set():
            update = watch.poll()
            if update is not None:
                self._update_taken.clear()
                self.post_message(RunUpdated(update))
                # Back-pressure: one update in flight; the next poll gathers what came meanwhile.
                while not self._update_taken.wait(self.POLL_S):
                    if self._stop_watching.is_set():
                        return
            if self._stop_watching.wait(self.POLL_S):
                return

    def on_run_updated(self, message: RunUpdated) -> None:
        try:
            self._apply(message.update)
        finally:
            self._update_taken.set()

    def _apply(self, update: RunUpdate) -> None:
        changed = self.series.add(update.metrics)
        if changed or update.first:
            self.query_one(ChartPanel).show_series(self.series, changed)
        self.query_one(ProbeAnswers).add(update.probes)
        if update.samples is not None and self.objective.samples:
            self.query_one(CompletionsPanel).show(update.samples)
        if update.log_lines:
            self.query_one(Log).write_lines([safe(line) for line in update.log_lines])
        self._show_status(update.status, update.first)
        self._show_alarms(update, update.status.active)
        self.replayed = True

    def _show_status(self, status: Status, first: bool) -> None:
        changed = status.state != self.status.state
        self.status = status
        self.query_one(RunProgress).show(status)
        self.query_one(ErrorPanel).show(status)
        self.query_one("#finished").display = status.state == "completed"
        if status.state == "completed" and (changed or first):
            self._show_finished()
        self.set_class(status.error is not None and not status.active, "-failed")
        if (changed or first) and status.error is not None and not status.active:
            self._show_bottom(log=True)  # a failed run: the log says why
        if changed or first:
            self.refresh_bindings()

    def _show_finished(self) -> None:
        """What a finished run offers, and the forgetting alarm of its evaluations."""
        alarm = run_alarm(self.run.path)
        text = Content(FINISHED_TEXT)
        if alarm:
            text = Content.assemble(text, "\n", (safe(alarm), "bold $warning"))
        self.query_one("#finished", Static).update(text)

    def on_screen_resume(self) -> None:
        if self.status.state == "completed":
            self._show_finished()  # back from the Evaluate screen: a new result may be there

    def _show_alarms(self, update: RunUpdate, active: bool) -> None:
        self.query_one(HealthLine).show(update.alarms, active)
        keys = {alarm.key for alarm in update.alarms}
        # The history replayed on open is not news: only alarms raised while watching ring.
        if keys - self.alarm_keys and not update.first:
            self.bells += 1
            self.app.bell()
        self.alarm_keys = keys

    # --- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.status.active or None
        if action in ("not_yet", "export", "chat", "evaluate"):
            return self.status.state == "completed" or None
        return True

    def action_chart(self, number: int) -> None:
        panel = self.query_one(ChartPanel)
        if number <= len(panel.charts):
            panel.select(panel.charts[number - 1].name)

    def action_toggle_log(self) -> None:
        self._show_bottom(log=self.query_one("#bottom").has_class("-probes"))

    def _show_bottom(self, log: bool) -> None:
        bottom = self.query_one("#bottom")
        bottom.set_class(log, "-log")
        bottom.set_class(not log, "-probes")

    def action_not_yet(self, what: str) -> None:
        self.notify(NOT_YET[what].format(name=self.run.name), markup=False)

    def action_chat(self) -> None:
        self.tui_app.open_chat(self.run)

    def action_export(self) -> None:
        self.tui_app.open_export(self.run)

    def action_evaluate(self) -> None:
        self.tui_app.open_evaluate(self.run)

    def action_stop(self) -> None:
        self.app.push_screen(confirm_stop(self.run), when_confirmed(self.stop_run))

    @work(thread=True, exclusive=True, group="monitor-stop", exit_on_error=False)
    def stop_run(self) -> None:
        target = self.launcher.stop(self.run)
        self.post_message(ActionDone(stopped_text(self.run, target)))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, markup=False)
