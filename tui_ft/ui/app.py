"""The Textual app: wiring only. Screens live in feature packages (ui/runs, ui/wizard, ui/chat,
ui/export, ui/shell); what they act on (runs home, GPU backend, launcher, clock, the runner of
child processes) is injected through `make_app`, so tests run the real app against fakes.
Screens ask for those through ui/shell/services.py, never by importing this module."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState, get_current_worker

from tui_ft.core import paths
from tui_ft.core.chat.client import Callback, ChatClient, ChatClientLike
from tui_ft.core.children.runner import ChildRunner
from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError
from tui_ft.core.hardware.probe import default_backend, probe
from tui_ft.core.hardware.snapshot import HardwareBackend
from tui_ft.core.runs.control import Launcher, ProcessLauncher
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.listing import has_runs
from tui_ft.core.safe_text import safe
from tui_ft.ui.keymap import load_keymap
from tui_ft.ui.runs.screen import RunsScreen
from tui_ft.ui.shell.base import TuiFtScreen
from tui_ft.ui.shell.error_screen import ErrorScreen
from tui_ft.ui.shell.help import HelpScreen
from tui_ft.ui.shell.services import AppRunner, AppServices, HardwareState
from tui_ft.ui.themes import DEFAULT_THEME, DOMAIN_DEFAULTS, ThemeSet, load_all
from tui_ft.ui.wizard import flow as wizard_flow
from tui_ft.ui.wizard.review import ReviewScreen
from tui_ft.ui.wizard.steps import WizardStep

HARDWARE_POLL_S = 1.5


class ProcessRunner(ChildRunner):
    """The real children: a process per `--json` request, and the chat worker's own client."""

    def chat(self, on_event: Callback, models: Sequence[str]) -> ChatClientLike:
        return ChatClient(on_event, models=models)


class HardwareUpdated(Message):
    def __init__(self, state: HardwareState) -> None:
        super().__init__()
        self.state = state


class TuiFtApp(App[None]):
    TITLE = "tui-ft"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("f1", "help", "Help", id="app.help", tooltip="Help for this screen"),
        # Hidden: the footer shows the palette key on its own, at its right end.
        Binding(
            "ctrl+p", "command_palette", "Commands", id="app.palette", show=False, priority=True
        ),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave tui-ft; runs keep going"),
        Binding("escape", "back", "Back", id="app.back", show=False),
    ]

    def __init__(
        self,
        *,
        runs_home: Path,
        hardware_backend: HardwareBackend | None,
        launcher: Launcher,
        themes: ThemeSet,
        theme: str,
        clock: Callable[[], float],
        initial_config: RunConfig | None = None,
        initial_config_path: Path | None = None,
        initial_chat: RunDir | None = None,
        initial_chat_with: RunDir | None = None,
        runner: AppRunner,
    ) -> None:
        super().__init__()
        self.runner = runner
        # `tui-ft --config run.yaml`: review & launch opens over the usual first screen.
        self._initial_config = initial_config
        self._initial_config_path = initial_config_path
        self._initial_chat = initial_chat
        self._initial_chat_with = initial_chat_with
        self.runs_home = runs_home
        self.launcher = launcher
        self.clock = clock
        self.hardware = HardwareState()
        self.hardware_signal: Signal[HardwareState] = Signal(self, "hardware")
        self._backend = hardware_backend
        self._stop_polling = threading.Event()
        self._theme_problems = themes.problems
        # Training runs for hours over SSH: no animation to repaint, no motion to distract.
        self.animation_level = "none"
        self._use_themes(themes, theme)
        self._keymap_problem = self._use_keymap()

    def _use_themes(self, themes: ThemeSet, theme: str) -> None:
        # Only our themes: each defines the domain colours our stylesheets and charts use.
        for name in list(self.available_themes):
            self.unregister_theme(name)
        for item in themes.themes.values():
            self.register_theme(item)
        self.theme = theme

    def _use_keymap(self) -> str:
        keymap, problem = load_keymap()
        if keymap:
            self.set_keymap(keymap)
        return problem

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(DOMAIN_DEFAULTS)

    def get_default_screen(self) -> Screen[None]:
        if has_runs(self.runs_home):
            screen: Screen[None] = RunsScreen(self.runs_home, self.launcher, self.clock)
        else:
            screen = self.wizard(None)
        # Textual reads a pushed screen's CSS_PATH, not the first screen's: read it here.
        for path in screen.css_path:
            self.stylesheet.read(path)
        return screen

    def on_mount(self) -> None:
        for problem in [*self._theme_problems, self._keymap_problem]:
            if problem:
                self.notify(problem, title="Skipped", severity="warning", timeout=12, markup=False)
        self.poll_hardware()
        if self._initial_config is not None:
            self.push_screen(ReviewScreen(self._initial_config, source=self._initial_config_path))
        if self._initial_chat is not None:
            self.open_chat(self._initial_chat, self._initial_chat_with)

    def on_unmount(self) -> None:
        self._stop_polling.set()

    # --- hardware -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="hardware", exit_on_error=False)
    def poll_hardware(self) -> None:
        """One long-lived backend (NVML initialised once), polled until the app ends."""
        worker = get_current_worker()
        backend = self._backend or default_backend()
        try:
            while not worker.is_cancelled:
                self.post_message(HardwareUpdated(_read(backend)))
                if self._stop_polling.wait(HARDWARE_POLL_S):
                    break
        finally:
            if self._backend is None:
                backend.close()

    def on_hardware_updated(self, message: HardwareUpdated) -> None:
        if message.state != self.hardware:
            self.hardware = message.state
            self.hardware_signal.publish(message.state)

    # --- navigation -----------------------------------------------------------------------

    def action_runs(self) -> None:
        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen(self.runs_home, self.launcher, self.clock))

    def wizard(self, config: RunConfig | None) -> Screen[None]:
        # The wizard's screens load only when a new run is being set up.
        return wizard_flow.first(config or RunConfig(model="demo", dataset="demo"))

    @on(WizardStep.Done)
    def wizard_step_done(self, done: WizardStep.Done) -> None:
        wizard_flow.forward(self, done)

    def open_wizard(self, config: RunConfig | None = None) -> None:
        """A new run, step by step; `config` pre-fills it (a clone of an earlier run)."""
        self.push_screen(self.wizard(config))

    def open_export(self, run: RunDir) -> None:
        from tui_ft.ui.export.screen import ExportScreen

        self.push_screen(ExportScreen(run))

    def open_evaluate(self, run: RunDir) -> None:
        from tui_ft.ui.evals.screen import EvaluateScreen

        self.push_screen(EvaluateScreen(run))

    def open_chat(self, run: RunDir, with_run: RunDir | None = None) -> None:
        """The A/B chat for a run (beside the base, or beside `with_run`); a run with no model to
        talk to yet, or two runs that cannot share a chat, is a sentence instead."""
        from tui_ft.core.chat.target import chat_target
        from tui_ft.ui.chat.screen import ChatScreen

        try:
            chat_target(
                run=str(run.path), with_run=None if with_run is None else str(with_run.path)
            )
        except UserError as err:
            self.report_error(err)
            return
        self.push_screen(ChatScreen(run, with_run))

    def open_compare(self, runs: Sequence[RunDir]) -> None:
        from tui_ft.ui.runs.compare import CompareScreen

        self.push_screen(CompareScreen(list(runs)))

    def open_monitor(self, run: RunDir) -> None:
        # Imported here: the charting library loads only once a run is opened.
        from tui_ft.ui.runs.monitor import MonitorScreen

        self.push_screen(MonitorScreen(run, self.launcher, self.clock))

    async def show_new_run(self, run: RunDir) -> None:
        """The monitor on the new run, over the runs list: the wizard's screens are done with,
        so escape from the monitor goes to the list, not back into the wizard. The app's first
        screen stays (Textual cannot replace it): the runs list, or the wizard's start for
        another run."""
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        if not isinstance(self.screen, RunsScreen):
            await self.push_screen(RunsScreen(self.runs_home, self.launcher, self.clock))
        self.open_monitor(run)

    async def action_back(self) -> None:
        if len(self.screen_stack) > 1:  # the first screen has nowhere to go back to
            self.pop_screen()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        if isinstance(screen, TuiFtScreen):
            yield from screen.palette_commands()
        if not isinstance(screen, RunsScreen | WizardStep):  # those offer it already, or are it
            yield SystemCommand("New run", "Set up a new run, step by step", self.open_wizard)
        for name in sorted(self.available_themes):
            yield SystemCommand(
                f"Theme: {name}", f"Switch to the {name} theme", partial(self._set_theme, name)
            )
        yield from super().get_system_commands(screen)

    def _set_theme(self, name: str) -> None:
        self.theme = name

    # --- errors ---------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.report_error(event.worker.error)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification, from any screen, passes here: the ones that quote a file, a run
        or a model's words (with markup=False) can never drive the terminal."""
        super().notify(
            safe(message), title=safe(title), severity=severity, timeout=timeout, markup=markup
        )

    def report_error(self, error: BaseException) -> None:
        """A UserError is a sentence with a next step: a notification says it. Anything else
        is a bug: a modal shows it with a key to copy it for a report."""
        if isinstance(error, UserError):
            text = f"{error.message}\n{error.hint}" if error.hint else error.message
            self.notify(text, severity="error", timeout=12, markup=False)
        else:
            self.push_screen(ErrorScreen(error))


# mypy checks here that the app offers everything screens ask of it.
_SERVICES: type[AppServices] = TuiFtApp


def _read(backend: HardwareBackend) -> HardwareState:
    try:
        return HardwareState(snapshot=probe(backend))
    except UserError as err:  # a fake GPU file gone bad: say so, keep polling
        return HardwareState(error=err.message)


def make_app(
    *,
    runs_home: Path | None = None,
    hardware_backend: HardwareBackend | None = None,
    launcher: Launcher | None = None,
    theme: str | None = None,
    clock: Callable[[], float] | None = None,
    initial_config: RunConfig | None = None,
    initial_config_path: Path | None = None,
    initial_chat: RunDir | None = None,
    initial_chat_with: RunDir | None = None,
    runner: AppRunner | None = None,
) -> TuiFtApp:
    """The app for the CLI (no arguments) and for tests (fakes for each part)."""
    themes = load_all()
    name = theme or DEFAULT_THEME
    if name not in themes.themes:
        known = ", ".join(sorted(themes.themes)) or "none"
        raise UserError(
            f"there is no theme named {name!r}.",
            f"Themes: {known}. Your own go in {paths.config_dir() / 'themes'}.",
        )
    return TuiFtApp(
        runs_home=runs_home or paths.runs_home(),
        hardware_backend=hardware_backend,
        launcher=launcher or ProcessLauncher(),
        themes=themes,
        theme=name,
        clock=clock or time.time,
        initial_config=initial_config,
        initial_config_path=initial_config_path,
        initial_chat=initial_chat,
        initial_chat_with=initial_chat_with,
        runner=runner or ProcessRunner(),
    )


def run(
    theme: str | None = None,
    config: RunConfig | None = None,
    config_path: Path | None = None,
    chat: RunDir | None = None,
    chat_with: RunDir | None = None,
) -> int:
    make_app(
        theme=theme,
        initial_config=config,
        initial_config_path=config_path,
        initial_chat=chat,
        initial_chat_with=chat_with,
    ).run()
    return 0
