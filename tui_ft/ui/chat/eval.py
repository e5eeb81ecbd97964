"""Quick eval from the chat screen: a list of prompts through both sides, greedily, filling a
side-by-side table as each answer pair arrives, then saved in the run's evals/ folder.

The prompts: `heldout` (for the demo dataset its held-out identity questions, each with the
words a model that learned them says; otherwise the validation split), `validation`, or a file
(.txt one prompt a line, .jsonl with `prompt`). The same code as `tui-ft chat RUN --eval`
(tui_ft.core.chat.quick_eval) asks and saves, through the chat process this screen borrows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Footer, Input, Static

from tui_ft.core.chat.client import ChatClient, ChatClientLike
from tui_ft.core.chat.protocol import EVAL_MAX_NEW_TOKENS, ChatError, SamplingSettings
from tui_ft.core.chat.quick_eval import (
    HELDOUT,
    EvalResult,
    EvalRow,
    EvalSet,
    eval_prompts,
    run_eval,
    save_eval,
    summary_sentence,
    yes_no,
)
from tui_ft.core.chat.target import ChatTarget
from tui_ft.core.chat.wire import DoneEvent, Event, LoadedEvent
from tui_ft.core.errors import UserError
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.safe_text import safe, safe_text
from tui_ft.ui.shell.base import TuiFtScreen
from tui_ft.ui.shell.safe_input import SafeInput

MAX_CELL_LINES = 6  # a looping answer must not fill the screen; the saved files hold every word
PROMPT_WIDTH = 18
OK_WIDTH = 8


class EvalStarted(Message):
    def __init__(self, eval_set: EvalSet) -> None:
        super().__init__()
        self.eval_set = eval_set


class EvalRowDone(Message):
    def __init__(self, index: int, row: EvalRow) -> None:
        super().__init__()
        self.index = index
        self.row = row


class EvalEnded(Message):
    def __init__(self, text: str, result: EvalResult | None = None, error: bool = False) -> None:
        super().__init__()
        self.text = text
        self.result = result
        self.error = error


class _Stopped(Exception):
    """Esc during an eval: end after the answer in progress (which is cancelled)."""


class _Tracked:
    """The client, with the id of the request in flight kept, so Esc can cancel it."""

    def __init__(self, client: ChatClientLike) -> None:
        self.client = client
        self.request_id: str | None = None

    def ask(self, messages: Any, **kwargs: Any) -> dict[str, DoneEvent]:
        def seen(event: Event) -> None:
            if event.get("event") == "started":
                self.request_id = str(event.get("id"))

        return self.client.ask(messages, on_event=seen, **kwargs)


class QuickEvalScreen(TuiFtScreen):
    CSS_PATH = "chat.tcss"
    SCREEN_TITLE = "Quick eval"
    HELP = (
        "Runs a list of prompts through both sides, each as a fresh one-turn chat, greedily "
        f"(at most {EVAL_MAX_NEW_TOKENS} new tokens, or your setting if lower), and shows the "
        "answers side by side. Type `heldout` (the demo dataset's held-out identity prompts, "
        "with the words the tuned model should say and a yes/no per side; for other datasets "
        "the validation split), `validation`, or the path of a .txt (one prompt a line) or "
        ".jsonl file (`prompt`, optional `expect` words and `reference`), then Enter.\n\n"
        "The table is saved as evals/<time>.md and .jsonl in the run's folder. Esc stops after "
        "the answer in progress (the rows so far are saved), or goes back."
    )
    BINDINGS = [
        Binding("escape", "stop", "Stop", id="eval.stop", tooltip="Stop the eval (rows are kept)"),
    ]

    def __init__(
        self,
        run: RunDir,
        client: ChatClientLike,
        target: ChatTarget,
        loaded: LoadedEvent,
        settings: SamplingSettings,
    ) -> None:
        super().__init__()
        self.run = run
        self.client = _Tracked(client)
        self.target = target
        self.loaded = loaded
        self.settings = dataclasses.replace(
            settings, max_new_tokens=min(settings.max_new_tokens, EVAL_MAX_NEW_TOKENS)
        )
        self.sides = tuple(loaded.get("sides") or target.sides)
        self.running = False
        self.result: EvalResult | None = None
        self.rows: list[EvalRow] = []
        self._stop = threading.Event()
        self._expect = False
        self._total = 0
        self._cell_chars = 12 * MAX_CELL_LINES  # set from the answer columns' width

    def screen_title(self) -> str:
        return f"Quick eval · {self.run.name}"

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static(
            "Prompts: heldout, validation, or a .txt/.jsonl file. Enter starts.", id="eval-intro"
        )
        yield SafeInput(HELDOUT, placeholder="heldout, validation or a file path", id="eval-source")
        yield Static("", id="eval-status")
        yield DataTable(id="eval-table", zebra_stripes=True, cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#eval-source", Input).focus()

    def on_unmount(self) -> None:
        self.action_stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.running  # else Esc is the app's: back to the chat
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        source = event.value.strip()
        if self.running or not source:
            return
        self.running = True
        self._stop.clear()
        self.rows = []
        self.result = None
        self._say(f"Reading the prompts ({source})…")
        self.refresh_bindings()
        self.evaluate(source)

    def action_stop(self) -> None:
        if not self.running:
            return
        self._stop.set()
        request_id = self.client.request_id
        if request_id is not None:
            with contextlib.suppress(ChatError):  # a dead process ends the eval by itself
                self.client.client.cancel(request_id)
        self._say("Stopping after the answer in progress…")

    # --- the worker thread ----------------------------------------------------------------

    @work(thread=True, exclusive=True, group="quick-eval", exit_on_error=False)
    def evaluate(self, source: str) -> None:
        config = self.target.config if self.target.run is not None else None
        try:
            eval_set = eval_prompts(source, config)
        except UserError as err:
            self.post_message(EvalEnded(_sentence(err.message, err.hint), error=True))
            return
        self.post_message(EvalStarted(eval_set))
        rows: list[EvalRow] = []

        def on_row(index: int, row: EvalRow) -> None:
            if any(a.finish == "cancelled" for a in row.answers.values()):
                raise _Stopped
            rows.append(row)
            self.post_message(EvalRowDone(index, row))
            if self._stop.is_set():
                raise _Stopped

        stopped = ""
        try:
            client: ChatClient = self.client  # type: ignore[assignment]  # duck-typed: ask only
            result = run_eval(client, eval_set, self.settings, self.sides, on_row=on_row)
        except _Stopped:
            stopped = f"stopped after {len(rows)} of {len(eval_set.prompts)} prompts"
            greedy = dataclasses.replace(self.settings, greedy=True)
            meta = {"source": eval_set.source, "settings": greedy.to_dict(), "note": stopped}
            result = EvalResult(rows, eval_set.source, meta)
        except ChatError as err:
            self.post_message(EvalEnded(_sentence(err.message, err.hint), error=True))
            return
        if not result.rows:
            self.post_message(EvalEnded("Stopped before any answer: nothing saved."))
            return
        keys = ("run", "model", "method", "kind", "device", "placement", "dtype")
        result.meta.update({key: self.loaded.get(key) for key in keys})
        result.meta["run"] = self.run.name
        try:
            _, md = save_eval(result, self.run.path)
        except UserError as err:
            self.post_message(EvalEnded(f"The eval ran but was not saved: {err}", result))
            return
        summary = "; ".join(summary_sentence(result, s) for s in result.sides)
        done = f"{stopped.capitalize() or 'Done'}. Saved {md}."
        self.post_message(
            EvalEnded(f"{summary + '. ' if result.has_expectations else ''}{done}", result)
        )

    # --- the table ------------------------------------------------------------------------

    def on_eval_started(self, message: EvalStarted) -> None:
        eval_set = message.eval_set
        self._expect = any(p.expect for p in eval_set.prompts)
        table = self.query_one(DataTable)
        table.clear(columns=True)
        extra = (1 + len(self.sides)) if self._expect else 0
        free = max(
            20,
            self.size.width - PROMPT_WIDTH - extra * OK_WIDTH - 4 * (2 + len(self.sides) + extra),
        )
        width = max(12, free // max(1, len(self.sides)))
        self._cell_chars = width * MAX_CELL_LINES
        table.add_column("prompt", width=PROMPT_WIDTH, key="prompt")
        for side in self.sides:
            table.add_column(side, width=width, key=side)
        if self._expect:
            table.add_column("expected", width=OK_WIDTH, key="expected")
            for side in self.sides:
                table.add_column(f"{side} ok", width=OK_WIDTH, key=f"{side}-ok")
        note = f" ({eval_set.note})" if eval_set.note else ""
        self._say(f"0 of {len(eval_set.prompts)} prompts from {eval_set.source}{note}…")
        self._total = len(eval_set.prompts)

    def on_eval_row_done(self, message: EvalRowDone) -> None:
        row = message.row
        self.rows.append(row)
        cells: list[Text] = [safe_text(row.prompt.prompt)]
        for side in self.sides:
            answer = row.answers.get(side)
            text = answer.text.strip() if answer else ""
            if len(text) > self._cell_chars:
                text = text[: self._cell_chars - 1] + "…"
            flags = f" [⚠ {', '.join(answer.flags)}]" if answer and answer.flags else ""
            cells.append(safe_text(text + flags))
        if self._expect:
            cells.append(safe_text(", ".join(row.prompt.expect) or "—"))
            cells += [Text(yes_no(row.hit(side))) for side in self.sides]  # words, not colour
        self.query_one(DataTable).add_row(*cells, height=None, key=str(message.index))
        if not self._stop.is_set():
            self._say(f"{len(self.rows)} of {self._total} prompts…")

    def on_eval_ended(self, message: EvalEnded) -> None:
        self.running = False
        self.result = message.result
        self._say(message.text, error=message.error)
        self.refresh_bindings()

    def _say(self, text: str, error: bool = False) -> None:
        status = self.query_one("#eval-status", Static)
        status.update(Content(safe(text)))
        status.set_class(error, "-error")


def _sentence(message: str, hint: str) -> str:
    return f"{message[:1].upper()}{message[1:]} {hint}".strip()
