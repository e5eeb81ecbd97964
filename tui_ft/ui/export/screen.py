"""Export a finished run: pick a format, a GGUF weight type and a folder, then watch
`tui-ft export` write and check it in a child process (the model libraries never load here),
and read the result: where it went, how big it is, whether it answers like the run's model,
and the one command that imports it into Ollama."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    Input,
    RadioButton,
    RadioSet,
    RichLog,
    Static,
)

from tui_ft.core.config import load_config
from tui_ft.core.errors import UserError
from tui_ft.core.export.formats import (
    DEFAULT_QUANT,
    FORMATS,
    LLAMA_QUANTS,
    MERGED_DTYPES,
    QUANTS,
    default_export_dir,
)
from tui_ft.core.export.process import ExportOutcome, ExportProcess, ExportRequest
from tui_ft.core.export.quantized_base import imatrix_refusal
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.safe_text import safe, safe_text
from tui_ft.core.share import WHATS
from tui_ft.core.share.artefacts import default_what
from tui_ft.ui.export.push import PushScreen
from tui_ft.ui.export.result import ExportResult, copy_text
from tui_ft.ui.shell.child_job import ChildJobScreen
from tui_ft.ui.shell.confirm import ConfirmScreen
from tui_ft.ui.shell.safe_input import SafeInput

DEFAULT_FORMAT = "gguf"  # what people run fine-tunes in: llama.cpp, LM Studio, Ollama
# Short enough for 80 columns; the line under the choices says the rest.
LABELS = {
    "merged": "merged: Hugging Face folder",
    "gguf": "gguf: llama.cpp, LM Studio",
    "ollama": "ollama: GGUF + Modelfile",
}
LOG_LINES = 500
AS_TRAINED = "as trained"  # the merged export's default dtype: the run's own (no --dtype)
IMATRIX_LABEL = "importance matrix (--imatrix)"


class ExportProgress(Message):
    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line


class ExportFinished(Message):
    def __init__(self, outcome: ExportOutcome) -> None:
        super().__init__()
        self.outcome = outcome


class ExportScreen(ChildJobScreen[ExportProcess]):
    CSS_PATH = "export.tcss"
    JOB = "export"
    STATUS_ID = "#export-status"
    HELP = (
        "Write this run's model where other tools load it, then check it: the export is loaded "
        "back and answers the run's probe prompts next to the run's own model.\n\n"
        "- **merged**: a Hugging Face folder (safetensors) with the adapter folded in.\n"
        "- **gguf**: one file for llama.cpp and LM Studio; **f16**/**bf16** keep the weights, "
        "**q8_0** is about half the size and answers almost the same, **q6_k**, **q5_k_m** "
        "and **q4_k_m** (Ollama's default) are llama.cpp's k-quants, made by llama.cpp itself "
        "and checked by running the file in it.\n"
        "- **ollama**: the GGUF and a Modelfile.\n\n"
        "A merged export is written in the run's own dtype unless another is chosen "
        "(**float32** keeps an adapter's merge exact). A k-quant can be guided by an "
        "**importance matrix** from the run's training rows; it is not offered when the base "
        "model was read from a quantized GGUF, as the demo's is (docs/export.md says why).\n\n"
        "Once exported, the **Use it** panel has the commands that run it: `ollama create`, "
        "`llama-server`, `vllm serve`, a transformers or peft snippet (c copies the first).\n\n"
        "Each GGUF weight type has a folder of its own (export/gguf-q4_k_m, …), so exporting "
        "another keeps the earlier ones. The export runs in its own process and is written "
        "under a hidden name: an earlier export in the same folder is replaced once the new one "
        "is written and loads back (the check then judges it in place). Esc "
        "while it runs asks before stopping it; a stopped export leaves nothing behind.\n\n"
        "**p** pushes the adapter or an export, with a model card, to the Hugging Face Hub "
        "(docs/share.md)."
    )
    BINDINGS = [
        Binding("x", "start", "Export", id="export.start", tooltip="Write and check the export"),
        Binding("c", "copy", "Copy", id="export.copy", tooltip="Copy the command or the path"),
        Binding("n", "again", "New export", id="export.again", tooltip="Choose another export"),
        # Off the footer (full at 80 columns); F1 and the command palette list it.
        Binding(
            "p",
            "push",
            "Push to Hub",
            id="export.push",
            tooltip="Push to the Hugging Face Hub",
            show=False,
        ),
        Binding("escape", "leave", "Back", id="export.back", tooltip="Back (asks while running)"),
        # The app's q, but asking first while an export runs: quitting would stop it.
        Binding("q", "quit_app", "Quit", id="export.quit", tooltip="Leave tui-ft"),
    ]

    def __init__(self, run: RunDir) -> None:
        super().__init__(run)
        self.request: ExportRequest | None = None
        self.outcome: ExportOutcome | None = None
        self.lines: list[str] = []  # every progress line, for tests and for a look after
        self._default_folder = default_export_dir(run.path, DEFAULT_FORMAT, DEFAULT_QUANT)
        self._imatrix_refusal: str | None = None  # why --imatrix cannot help this run

    def screen_title(self) -> str:
        return f"Export {self.run.name}"

    def compose(self) -> ComposeResult:
        yield self.header()
        with Vertical(id="export-form"):
            with Horizontal(id="export-choices"):
                with Vertical(id="export-left"):
                    yield RadioSet(
                        *(
                            RadioButton(LABELS.get(name, name), name == DEFAULT_FORMAT, name=name)
                            for name, fmt in FORMATS.items()
                            if fmt.built
                        ),
                        id="export-format",
                    )
                    yield Checkbox(IMATRIX_LABEL, id="export-imatrix")
                yield RadioSet(
                    *(RadioButton(q, q == DEFAULT_QUANT, name=q) for q in QUANTS),
                    id="export-quant",
                )
                yield RadioSet(
                    RadioButton(AS_TRAINED, True, name=AS_TRAINED),
                    *(RadioButton(d, name=d) for d in MERGED_DTYPES),
                    id="export-dtype",
                )
            yield Static(id="export-about")
            with Horizontal(id="export-folder-row"):
                yield Static("Folder", id="export-folder-label")
                yield SafeInput(str(self._default_folder), id="export-folder")
                yield Button("Export (x)", variant="primary", id="export-start")
        yield Static(id="export-note")
        yield Static(id="export-status")
        # Lines name files and runs (outside text): shown through safe_text, wrapped.
        yield RichLog(
            max_lines=LOG_LINES, wrap=True, markup=False, highlight=False, id="export-log"
        )
        with VerticalScroll(id="export-result-box"):
            yield ExportResult(id="export-result")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#export-format").border_title = "Format"
        self.query_one("#export-quant").border_title = "GGUF weights"
        self.query_one("#export-dtype").border_title = "Merged weights"
        try:
            refusal = imatrix_refusal(load_config(self.run.config_path))
        except UserError:
            refusal = None  # the command says what is wrong with the run
        self._imatrix_refusal = refusal.message if refusal is not None else None
        for radio_set in self.query(RadioSet):
            # The keyboard highlight starts on the first option, not the chosen one; arrows
            # should move from what is chosen (Textual has no public way to say so).
            radio_set._selected = radio_set.pressed_index
        self._show_choices()
        self.query_one("#export-format", RadioSet).focus()

    # --- the form -----------------------------------------------------------------------

    def chosen(self) -> tuple[str, str | None]:
        fmt = _pressed(self.query_one("#export-format", RadioSet)) or DEFAULT_FORMAT
        quant = _pressed(self.query_one("#export-quant", RadioSet)) or DEFAULT_QUANT
        return fmt, quant if FORMATS[fmt].quantized else None

    def options(self) -> tuple[str | None, bool]:
        """The merged export's dtype (None: the run's own) and whether a k-quant is guided by
        an importance matrix; each only where it applies."""
        fmt, quant = self.chosen()
        dtype = _pressed(self.query_one("#export-dtype", RadioSet))
        imatrix = self.query_one("#export-imatrix", Checkbox)
        return (
            dtype if fmt == "merged" and dtype != AS_TRAINED else None,
            imatrix.value and _imatrix_applies(quant) and not imatrix.disabled,
        )

    def on_checkbox_changed(self, _: Checkbox.Changed) -> None:
        self._show_choices()

    def on_radio_set_changed(self, _: RadioSet.Changed) -> None:
        self._show_choices()

    def on_input_changed(self, _: Input.Changed) -> None:
        self._show_note()

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.action_start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export-start":
            self.action_start()

    def _show_choices(self) -> None:
        fmt, quant = self.chosen()
        quants = self.query_one("#export-quant", RadioSet)
        quants.disabled = quant is None
        quants.display = quant is not None
        self.query_one("#export-dtype", RadioSet).display = fmt == "merged"
        imatrix = self.query_one("#export-imatrix", Checkbox)
        imatrix.display = _imatrix_applies(quant)
        imatrix.disabled = self._imatrix_refusal is not None
        dtype, guided = self.options()
        about = FORMATS[fmt].description
        if quant:
            about += f"; {quant}: {QUANTS[quant]}"
        else:
            about += f" in {dtype}" if dtype else " (it keeps the model's own dtype)"
        if guided:
            about += ", guided by an importance matrix from the run's training rows"
        elif imatrix.display and self._imatrix_refusal is not None:
            about += "; no importance matrix: " + self._imatrix_refusal.split(";")[0]
        self.query_one("#export-about", Static).update(Content(about[0].upper() + about[1:] + "."))
        # The folder follows the format and quantization until the person types one of their own.
        folder = self.query_one("#export-folder", Input)
        if folder.value.strip() in ("", str(self._default_folder)):
            self._default_folder = default_export_dir(self.run.path, fmt, quant)
            folder.value = str(self._default_folder)
        self._show_note()

    def _show_note(self, problem: str = "") -> None:
        note = self.query_one("#export-note", Static)
        note.set_class(bool(problem), "-problem")
        if problem:
            note.update(Content(safe(problem)))
            return
        if self.state != "form":
            return
        target = self._target()
        if target is not None and target.exists():
            text = (
                f"{target} exists: an earlier tui-ft export there is replaced once the new one "
                "is written and loads back, before its check (any other folder is left alone "
                "and the export refused)."
            )
        else:
            text = "Writing takes a while: the model is loaded, merged, written, then checked."
        note.update(Content(safe(text)))

    def _target(self) -> Path | None:
        text = self.query_one("#export-folder", Input).value.strip()
        return Path(text).expanduser().absolute() if text else None

    # --- running ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return self.state == "form" or None
        if action == "copy":
            return (self.outcome is not None and copy_text(self.outcome) is not None) or None
        if action == "again":
            return self.state == "done" or None
        if action == "push":
            return self.state != "running" or None
        return True

    def action_start(self) -> None:
        if self.state != "form":
            return
        target = self._target()
        if target is None:
            self._show_note("Type a folder to write the export to, or keep the one shown.")
            return
        fmt, quant = self.chosen()
        dtype, imatrix = self.options()
        default = default_export_dir(self.run.path, fmt, quant)
        self.request = ExportRequest(
            self.run.path, fmt, quant, None if target == default else target, dtype, imatrix
        )
        self.lines = []
        self.outcome = None
        self.query_one(RichLog).clear()
        self.start_job()
        self.export(self.request)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export(self, request: ExportRequest) -> None:
        try:
            process = ExportProcess(request, self.tui_app.runner)
        except OSError as err:
            outcome = ExportOutcome(None, f"the export process could not start: {err}.")
            self.post_message(ExportFinished(outcome))
            return
        self.relay(process, ExportProgress, lambda p: ExportFinished(p.finish()))

    def on_export_progress(self, message: ExportProgress) -> None:
        self.lines.append(message.line)
        self.query_one(RichLog).write(safe_text(message.line))

    def on_export_finished(self, message: ExportFinished) -> None:
        self.process = None
        self.outcome = message.outcome
        if message.outcome.cancelled:
            self.set_job_state("form")
            self._show_note()
            self.notify(
                "Export stopped; the folder it was writing was removed.", markup=False, timeout=8
            )
            return
        assert self.request is not None
        self.query_one(ExportResult).show(self.request, message.outcome)
        self.set_job_state("done")

    def running_line(self) -> str:
        request = self.request
        assert request is not None
        detail = request.quant or request.dtype
        if request.imatrix:
            detail = f"{detail}, importance matrix"
        what = request.fmt + (f" ({detail})" if detail else "")
        return f"Exporting as {what} to {request.target}"

    def focus_state(self, state: str) -> None:
        if state == "form":
            self.query_one("#export-format", RadioSet).focus()
        elif state == "running":
            self.query_one(RichLog).focus()  # arrows scroll it; Esc and q stay the screen's
        elif state == "done":
            self.query_one("#export-result-box").focus()

    def stop_question(self, quitting: bool) -> ConfirmScreen:
        assert self.request is not None
        return ConfirmScreen(
            f"Stop the export of {self.run.name}{' and quit' if quitting else ''}?",
            "The export process is killed and the folder it was writing removed; an earlier "
            f"export in {self.request.target} stays as it was.",
            "Stop export",
        )

    # --- keys ---------------------------------------------------------------------------

    def action_copy(self) -> None:
        found = copy_text(self.outcome) if self.outcome is not None else None
        if found is None:
            return
        text, what = found
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {what} (through the terminal's clipboard, OSC 52).", markup=False)

    def action_push(self) -> None:
        if self.state != "running":
            self.app.push_screen(PushScreen(self.run.path, *self._push_what()))

    def _push_what(self) -> tuple[str, str | None]:
        """What was just exported (with its quantization: that very GGUF), else what the run
        made (its adapter, or the merged model)."""
        request = self.request
        if self.state == "done" and request is not None and request.fmt in WHATS:
            return request.fmt, request.quant
        try:
            return default_what(load_config(self.run.config_path)), None
        except UserError:
            return WHATS[0], None

    def action_again(self) -> None:
        self.set_job_state("form")
        self._show_note()


def _imatrix_applies(quant: str | None) -> bool:
    return quant in LLAMA_QUANTS  # llama.cpp's k-quants; the rest round the same way with one


def _pressed(radio_set: RadioSet) -> str | None:
    button = radio_set.pressed_button
    return button.name if button is not None else None
