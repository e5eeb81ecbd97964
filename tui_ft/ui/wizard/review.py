"""The last step before a run: the YAML that will run, the problems that block it, the equivalent
`tui-ft train` command, an optional pre-flight check in a child process, and launch. Pushed by
the wizard (its step after Settings), or straight away by `tui-ft --config run.yaml`."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.syntax import Syntax
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Footer, Input, Label, Static
from textual.worker import Worker, WorkerState

from tui_ft.core import paths
from tui_ft.core.config import RunConfig, dump_config, save_config
from tui_ft.core.errors import UserError
from tui_ft.core.runs.command import train_command
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.listing import new_run_name
from tui_ft.core.runs.preflight import PreflightCancelled, PreflightProcess, PreflightReport
from tui_ft.core.safe_text import safe
from tui_ft.ui.shell.base import TuiFtScreen
from tui_ft.ui.shell.safe_input import SafeInput
from tui_ft.ui.wizard import flow
from tui_ft.ui.wizard.preflight_panel import PreflightPanel
from tui_ft.ui.wizard.steps import WIZARD_CSS, StepIndicator

if TYPE_CHECKING:
    from textual.timer import Timer

PREFLIGHT = "review-preflight"
LAUNCH = "review-launch"


class ReviewScreen(TuiFtScreen):
    SCREEN_TITLE = "Review & launch"
    # Not the name field: letters typed there would be text, not the screen's keys.
    AUTO_FOCUS = None
    HELP = (
        "The run exactly as it will start: its YAML (saved as run.yaml in the run's folder), "
        "the `tui-ft train` command that does the same from a shell, and its name.\n\n"
        "**n** edits the name (enter or escape when done). **c** copies the command through "
        "the terminal (OSC 52: works over SSH where the terminal allows it); **s** saves the "
        "YAML in the current folder under the name the command shows.\n\n"
        "**p** runs an optional pre-flight check in a separate process: two training steps on "
        "the longest rows, which measure the peak memory and the time per step, so an "
        "out-of-memory shows up now rather than an hour into the run. Escape cancels it.\n\n"
        "**l** launches the run in the background: it keeps going when tui-ft closes or the "
        "SSH connection drops, and the monitor opens on it. Problems listed in red block the "
        "launch: escape goes back to change the settings."
    )
    BINDINGS = [
        Binding("l", "launch", "Launch", id="review.launch", tooltip="Start the run (detached)"),
        Binding("p", "preflight", "Pre-flight", id="review.preflight", tooltip="Two test steps"),
        Binding("c", "copy_command", "Copy cmd", id="review.copy", tooltip="Copy the command"),
        Binding("s", "save_yaml", "Save YAML", id="review.save", tooltip="Save the YAML here"),
        Binding("n", "edit_name", "Name", id="review.name", tooltip="Edit the run name"),
        # Escape first cancels a pre-flight or leaves the name field; only then goes back.
        Binding("escape", "escape", "Back", id="review.back", show=False),
    ]
    CSS_PATH = WIZARD_CSS

    def __init__(self, config: RunConfig, *, source: Path | None = None) -> None:
        super().__init__()
        # A copy: renaming here must not change what the wizard step behind holds.
        self.config = copy.deepcopy(config)
        self.source = source  # the YAML file it came from (`tui-ft --config`), if any
        self._source_name = config.name  # the name that file gives, maybe none
        self.default_name = ""
        self.problems: list[str] = []
        self.launch_error: UserError | None = None
        self.launching = False
        self.launched: RunDir | None = None
        self._preflight: PreflightProcess | None = None
        self._preflight_started = 0.0
        self._ticker: Timer | None = None

    # --- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        self.default_name = self.config.name or new_run_name(
            self.config.model, self.config.method, self.tui_app.clock()
        )
        self.config.name = self.default_name
        yield self.header()
        if self.source is None:  # the wizard's last step; `--config` skipped the wizard
            yield StepIndicator(flow.number("Review"))
        with Horizontal(id="review-name-row"):
            yield Label("Run name:")
            yield SafeInput(
                self.default_name, placeholder=self.default_name, id="review-name", compact=True
            )
        yield Static("", id="review-problems")
        yield Static("", id="review-command")
        yield PreflightPanel(id="review-preflight")
        with VerticalScroll(id="review-yaml-box"):
            yield Static("", id="review-yaml")
        with Horizontal(id="review-actions"):
            yield Button("Launch", id="review-launch", variant="primary", compact=True)
            yield Static("", id="review-actions-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _: self._show_yaml())
        self._refresh_all()
        self._focus_launch()

    def on_unmount(self) -> None:
        if self._preflight is not None:
            self._preflight.cancel()  # leaving the screen leaves no model-loading child behind

    # --- what is shown --------------------------------------------------------------------

    @property
    def run_name(self) -> str:
        return self.config.name

    def command_path(self) -> Path:
        """The YAML the shown command runs: the `--config` file, else `NAME.yaml` here."""
        return self.source or Path.cwd() / f"{self.run_name}.yaml"

    def command(self) -> str:
        if self.source is None:
            return train_command(self.command_path())
        # `--name` only when this run's name is not the file's own (edited, or generated).
        same = self.run_name == self._source_name
        return train_command(self.source, name="" if same else self.run_name)

    def _refresh_all(self) -> None:
        self.problems = self._find_problems()
        self._show_problems()
        self._show_command()
        self._show_yaml()
        self._show_actions()
        self.refresh_bindings()

    def _find_problems(self) -> list[str]:
        problems = list(self.config.validate())
        try:
            paths.run_dir(self.run_name, self.tui_app.runs_home)  # resolves only, creates nothing
        except UserError as err:
            problems.insert(0, f"{err.message} {err.hint}".strip())
        return problems

    def _show_problems(self) -> None:
        panel = self.query_one("#review-problems", Static)
        lines: list[Content] = []
        if self.problems:
            back = (
                f"fix them in {self.source} and open it again, or edit the name here"
                if self.source is not None
                else "escape goes back to the settings, n edits the name"
            )
            lines.append(
                Content.assemble(
                    ("Launch is blocked until these are fixed ", "bold"), safe(f"({back}):")
                )
            )
            lines += [Content(safe(f"• {problem}")) for problem in self.problems]
        error = self.launch_error
        if error is not None:
            lines.append(Content.assemble(("Launch failed: ", "bold"), safe(error.message)))
            if error.hint:
                lines.append(Content.assemble(("What to do: ", "bold"), safe(error.hint)))
        panel.update(Content("\n").join(lines))
        panel.display = bool(lines)

    def _show_command(self) -> None:
        saved = self.source is not None or self.command_path().is_file()
        text = Content.assemble(("Command: ", "bold"), (safe(self.command()), "$text-accent"))
        if not saved:
            text = Content("\n").join([text, Content("(that file is not there yet: s saves it)")])
        self.query_one("#review-command", Static).update(text)

    def _show_yaml(self) -> None:
        # ANSI colours: the terminal's own palette, readable on its background in any theme.
        theme = "ansi_dark" if self.app.current_theme.dark else "ansi_light"
        syntax = Syntax(safe(dump_config(self.config)), "yaml", theme=theme)
        self.query_one("#review-yaml", Static).update(syntax)

    def _show_actions(self) -> None:
        if self.launching:
            hint = "Launching…"
        elif self.problems:
            hint = "Blocked: see the problems above."
        elif (self.tui_app.runs_home / self.run_name).exists():
            # The launcher never reuses a folder: it numbers the new one (name-2, name-3 ...).
            hint = "That name is taken: this run gets -2 (or next) added; n renames."
        else:
            hint = "Starts in the background; closing tui-ft does not stop it."
        self.query_one("#review-actions-hint", Static).update(hint)
        self.query_one("#review-launch", Button).disabled = bool(self.problems) or self.launching

    # --- the name -------------------------------------------------------------------------

    @on(Input.Changed, "#review-name")
    def name_changed(self, event: Input.Changed) -> None:
        # Empty means the generated name, as the placeholder shows.
        self.config.name = event.value.strip() or self.default_name
        self.launch_error = None
        self._refresh_all()

    @on(Input.Submitted, "#review-name")
    def name_done(self) -> None:
        self._focus_launch()

    def _focus_launch(self) -> None:
        """Launch when it can, else the YAML (scrollable): never the name field, where the
        screen's letter keys would be typed as text."""
        launch = self.query_one("#review-launch", Button)
        (self.query_one("#review-yaml-box") if launch.disabled else launch).focus()

    def action_edit_name(self) -> None:
        self.query_one("#review-name", Input).focus()

    def action_escape(self) -> None:
        if self._preflight is not None:
            self._preflight.cancel()
        elif self.focused is self.query_one("#review-name", Input):
            self._focus_launch()
        else:
            flow.back(self.app, self._with_name if self.run_name != self.default_name else None)

    def _with_name(self, config: RunConfig) -> RunConfig:
        """A name typed here survives a trip back to the settings and forward again."""
        named = copy.deepcopy(config)
        named.name = self.run_name
        return named

    # --- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # None shows the key dimmed (blocked for now); False hides it (never applies here).
        if action == "launch":
            return not (self.problems or self.launching) or None
        if action == "preflight":
            return (not self.problems and self._preflight is None) or None
        if action == "save_yaml":
            if self.source is not None:
                return False  # a --config file is saved already
            return not self.problems or None
        return True

    def action_copy_command(self) -> None:
        command = self.command()
        self.app.copy_to_clipboard(command)
        self.notify(f"Copied (through the terminal): {command}", markup=False)

    def action_save_yaml(self) -> None:
        path = self.command_path()
        if path.exists():
            self.notify(
                f"{path} already exists: not overwriting it. Rename the run (n) to save it "
                "under another name.",
                severity="error",
                markup=False,
            )
            return
        try:
            save_config(self.config, path)
        except OSError as err:
            self.notify(f"Cannot save {path}: {err.strerror}.", severity="error", markup=False)
            return
        self.notify(f"Saved {path}.", markup=False)
        self._show_command()

    @on(Button.Pressed, "#review-launch")
    def launch_pressed(self) -> None:
        self.action_launch()

    def action_launch(self) -> None:
        if self.problems or self.launching:
            return
        if self._preflight is not None:
            self._preflight.cancel()  # the run needs the memory the check holds
        self.launching = True
        self.launch_error = None
        self._refresh_all()
        self.launch_run(copy.deepcopy(self.config))

    @work(thread=True, exclusive=True, group=LAUNCH, exit_on_error=False)
    def launch_run(self, config: RunConfig) -> RunDir:
        return self.tui_app.launcher.launch(config, self.tui_app.runs_home)

    def action_preflight(self) -> None:
        if self.problems or self._preflight is not None:
            return
        self._preflight = PreflightProcess(copy.deepcopy(self.config), self.tui_app.runner)
        self._preflight_started = time.monotonic()
        self.query_one(PreflightPanel).start()
        self._ticker = self.set_interval(1.0, self._tick)  # whole seconds, no flicker
        self.refresh_bindings()
        self.run_preflight(self._preflight)

    def _tick(self) -> None:
        self.query_one(PreflightPanel).tick(time.monotonic() - self._preflight_started)

    @work(thread=True, exclusive=True, group=PREFLIGHT, exit_on_error=False)
    def run_preflight(self, process: PreflightProcess) -> PreflightReport:
        return process.run()

    # --- workers finishing ----------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == PREFLIGHT and event.state in _ENDED:
            self._preflight_ended(event.worker, event)
        elif event.worker.group == LAUNCH and event.state in _ENDED:
            self._launch_ended(event.worker, event)

    def _preflight_ended(self, worker: Worker[object], event: Worker.StateChanged) -> None:
        process, self._preflight = self._preflight, None
        if process is not None:
            # A worker cancelled (the app quitting) leaves its thread waiting on the child:
            # end the child too. Harmless when it has ended already.
            process.cancel()
        if self._ticker is not None:
            self._ticker.stop()
        panel = self.query_one(PreflightPanel)
        error = worker.error
        if isinstance(worker.result, PreflightReport):
            panel.show_report(worker.result)
        elif isinstance(error, PreflightCancelled) or worker.state == WorkerState.CANCELLED:
            panel.show_cancelled()
        elif isinstance(error, UserError):
            panel.show_error(error)
            event.prevent_default()  # shown here, not again as a notification
        else:  # a bug: the base class shows it with a key to copy it
            panel.show_cancelled()
        if isinstance(error, PreflightCancelled):
            event.prevent_default()
        self.refresh_bindings()

    def _launch_ended(self, worker: Worker[object], event: Worker.StateChanged) -> None:
        self.launching = False
        if isinstance(worker.result, RunDir):
            self.launched = worker.result
            self.notify(f"Run {worker.result.name} started.", markup=False)
            self.app.call_later(self.tui_app.show_new_run, worker.result)
            return
        if isinstance(worker.error, UserError):
            self.launch_error = worker.error
            event.prevent_default()
        self._refresh_all()


_ENDED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)
