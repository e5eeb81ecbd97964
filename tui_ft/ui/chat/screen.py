"""Chat A/B: the base model and the tuned one answer the same prompt side by side, streaming;
or two runs of the same base model, the second in the base's place (`with_run`).

The models live in the chat process (tui_ft.engine.chat.worker), never in the UI: this screen
plans where they fit (tui_ft.ui.chat.prepare), starts the process through a ChatClient, sends
each prompt with each side's own history (tui_ft.core.chat.conversation) and shows the events
as they come. Leaving the screen closes the chat process; a crash in it is a message in the
panes with a key to restart, never a dead UI.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Input, Static

from tui_ft.core.chat.conversation import Answer, Conversation
from tui_ft.core.chat.protocol import SIDES, ChatError, SamplingSettings
from tui_ft.core.chat.transcript import chats_dir, save_transcript
from tui_ft.core.chat.wire import DoneEvent, ErrorEvent, Event, LoadedEvent, TokenEvent
from tui_ft.core.children.env import run_refs
from tui_ft.core.errors import UserError
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.safe_text import safe
from tui_ft.ui.chat.link import ChatEvents, ChatLink, merge_tokens
from tui_ft.ui.chat.pane import ChatPane
from tui_ft.ui.chat.placement import WAIT, ChatPlacementScreen
from tui_ft.ui.chat.prepare import (
    AUTO,
    Choice,
    Decision,
    Lookup,
    decide,
    look_up,
    training_runs,
)
from tui_ft.ui.chat.settings import ChatSettingsScreen
from tui_ft.ui.chat.state import (
    PendingTurn,
    decision_from,
    error_text,
    not_ready_text,
    status_line,
)
from tui_ft.ui.shell.base import TuiFtScreen
from tui_ft.ui.shell.confirm import ConfirmScreen, when_confirmed
from tui_ft.ui.shell.safe_input import SafeInput

TICK_S = 1.0  # the loading notice counts seconds


class Prepared(Message):
    def __init__(self, lookup: Lookup | None, decision: Decision | None, error: str = "") -> None:
        super().__init__()
        self.lookup = lookup
        self.decision = decision
        self.error = error


class ChatScreen(TuiFtScreen):
    CSS_PATH = "chat.tcss"
    SCREEN_TITLE = "Chat A/B"
    HELP = (
        "The base model (left) and the tuned one (right) answer the same prompt, with the same "
        "chat template, system prompt, sampling settings and seed. Each side keeps its own "
        "history: a follow-up question goes to two models that each heard their own answers.\n\n"
        "Type a prompt and press **Enter**; **Esc** stops the answers in progress (and leaves "
        "the screen when nothing is running). **Tab** moves between the prompt and the panes; "
        "the arrow keys scroll a focused pane, and Copy takes that pane's last answer (with the "
        "prompt focused, both answers).\n\n"
        "Under each answer: its tokens, tokens/s and how it ended. **⚠ Flag: loops** means the "
        "answer repeats itself; **⚠ Flag: no end-of-turn before the token limit** means it was "
        "cut at max new tokens without the model closing its turn. On short questions both "
        "usually point at a chat-template or end-of-turn (EOS) problem in training.\n\n"
        "Before loading, the chat checks that the models fit beside anything already on the "
        "GPU (a running training is never pushed out of memory); when they do not, it offers "
        "another GPU, the CPU, one model at a time, or waiting. Save writes the transcript "
        "into the run's chats/ folder (Markdown and JSONL); Quick eval runs held-out prompts "
        "through both sides and saves the table in evals/.\n\n"
        "Two runs of the same base model can answer side by side too (mark both in the runs "
        "list and press c, or `tui-ft chat RUN --with OTHER`): OTHER answers on the left, in "
        "the base's place; two adapters share one copy of the base."
    )
    BINDINGS = [
        Binding("escape", "stop", "Stop", id="chat.stop", tooltip="Stop the answers in progress"),
        Binding("ctrl+l", "clear", "Clear", id="chat.clear", tooltip="Start a new conversation"),
        Binding("ctrl+s", "save", "Save", id="chat.save", tooltip="Save the transcript in the run"),
        Binding("ctrl+y", "copy", "Copy", id="chat.copy", tooltip="Copy an answer (OSC 52)"),
        Binding("ctrl+o", "settings", "Settings", id="chat.settings", tooltip="Sampling settings"),
        Binding(
            "ctrl+t", "eval", "Eval", id="chat.eval", tooltip="Quick eval: prompts, both sides"
        ),
        Binding(
            "ctrl+r", "restart", "Restart", id="chat.restart", tooltip="Restart the chat process"
        ),
    ]

    def __init__(self, run: RunDir, with_run: RunDir | None = None) -> None:
        super().__init__()
        self.run = run
        self.with_run = with_run
        self.client: Any = None  # ChatClientLike, once started
        self.link = ChatLink(self.post_message)
        self.lookup: Lookup | None = None
        self.choice: Choice | None = None  # where the models were (last) asked to load
        self.loaded: LoadedEvent | None = None
        self.conversation = Conversation()
        self.settings = SamplingSettings()
        self.turn: PendingTurn | None = None
        self.phase = "preparing"  # preparing|asking|waiting|loading|ready|answering|failed
        self.saved_turns = 0
        self._load_started = 0.0
        self._loading_text = ""
        self._send_when_loaded = False  # Enter pressed while the models load: send it then
        self._planning = False  # a plan was asked for (the first GPU reading may come later)
        self._closed = False
        self._client_lock = threading.Lock()

    def screen_title(self) -> str:
        if self.with_run is not None:
            return f"Chat A/B · {self.with_run.name} and {self.run.name}"
        return f"Chat A/B · {self.run.name}"

    @property
    def labels(self) -> dict[str, str] | None:
        if self.with_run is None:
            return None
        return {"base": self.with_run.name, "tuned": self.run.name}

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static("", id="chat-status")
        with Horizontal(id="chat-panes"):
            yield ChatPane("base", self.labels, id="pane-base")
            yield ChatPane("tuned", self.labels, id="pane-tuned")
        yield SafeInput(placeholder="Ask both models… (Enter sends)", id="chat-input")
        yield Footer()

    def on_mount(self) -> None:
        self._notice_all("Checking where the models fit…")
        self._show_status()
        self.tui_app.hardware_signal.subscribe(self, self._on_hardware)
        self.set_interval(TICK_S, self._tick)
        self.query_one("#chat-input", Input).focus()
        hardware = self.tui_app.hardware
        if hardware.snapshot is not None or hardware.error:
            self._plan()
        # else: the first GPU reading is on its way; _on_hardware starts the plan then

    def on_unmount(self) -> None:
        self.close_client()

    # --- the chat process -----------------------------------------------------------------

    def close_client(self) -> None:
        """Ask the chat process to exit, off the event loop (it may take a moment to finish a
        token). A thread that is not a daemon: Python waits for it before exiting, so quitting
        the app never leaves an orphan behind."""
        with self._client_lock:
            self._closed = True
            client, self.client = self.client, None
        if client is not None:
            threading.Thread(target=client.close, name="chat-close", daemon=False).start()

    def _plan(self) -> None:
        self._planning = True
        self.prepare()

    @work(thread=True, exclusive=True, group="chat-prepare", exit_on_error=False)
    def prepare(self, device: str = AUTO, placement: str = AUTO) -> None:
        try:
            lookup = self.lookup or look_up(
                self.run.path, None if self.with_run is None else self.with_run.path
            )
            decision = decide(
                lookup,
                self.tui_app.hardware.snapshot,
                training_runs(self.tui_app.runs_home),
                device,
                placement,
            )
        except UserError as err:  # ChatError included: no trained model, a bad device ...
            self.post_message(Prepared(None, None, error_text(err.message, err.hint)))
            return
        self.post_message(Prepared(lookup, decision))

    def on_prepared(self, message: Prepared) -> None:
        if self._closed or self.phase not in ("preparing", "waiting"):
            return  # a plan from before a choice was made
        if message.decision is None:
            self._fail(message.error)
            return
        self.lookup = message.lookup
        decision = message.decision
        if decision.load is not None:
            self._start_loading(decision.load, decision.note)
        elif self.phase == "waiting":
            self._notice_all(f"Waiting for room. {decision.question} Esc goes back.")
        else:
            self._ask(decision)

    def _ask(self, decision: Decision) -> None:
        self.phase = "asking"
        self._notice_all(f"{decision.question} {decision.hint}")
        self.app.push_screen(ChatPlacementScreen(decision), self._placement_picked)

    def _placement_picked(self, picked: Choice | str | None) -> None:
        if isinstance(picked, Choice):
            self._start_loading(picked, "")
        elif picked == WAIT:
            self.phase = "waiting"
            self._notice_all("Waiting for room: the plan is checked again as the GPUs are read.")
        else:
            self.dismiss()

    def _on_hardware(self, _: object) -> None:
        if self.phase == "waiting" or (self.phase == "preparing" and not self._planning):
            self._plan()

    def _start_loading(self, choice: Choice, note: str) -> None:
        self.choice = choice
        self.phase = "loading"
        self._load_started = time.monotonic()
        self._loading_text = f"Loading on {choice.label}… {note}".strip()
        self._notice_all(self._loading_text)
        self._show_status()
        self.refresh_bindings()
        self.load(choice, restart=False)

    @work(thread=True, exclusive=True, group="chat-load", exit_on_error=False)
    def load(self, choice: Choice, restart: bool) -> None:
        """Start (or restart) the chat process and send the load; its answer is an event."""
        try:
            with self._client_lock:
                if self._closed:
                    return
                if self.client is None:
                    models = run_refs(self.run.config_path)[0]
                    self.client = self.tui_app.runner.chat(self.link, models)
                    self.client.start()
                elif restart:
                    self.client.restart()
                else:
                    self.client.start()  # a no-op while it runs
                self.client.load(
                    str(self.run.path),
                    device=choice.device,
                    placement=choice.placement,
                    with_run=None if self.with_run is None else str(self.with_run.path),
                )
        except ChatError as err:
            self.link(
                {
                    "event": "error",
                    "id": None,
                    "kind": err.kind,
                    "message": err.message,
                    "hint": err.hint,
                    "fatal": True,
                }
            )

    # --- events from the chat process -----------------------------------------------------

    async def on_chat_events(self, _: ChatEvents) -> None:
        for event in merge_tokens(self.link.take()):
            if self._closed:
                return
            await self._handle(event)

    async def _handle(self, event: Event) -> None:
        turn = self.turn
        ours = turn is not None and event.get("id") == turn.request_id
        if event["event"] == "loaded":
            self._loaded(event)
        elif event["event"] == "started" and ours:
            assert turn is not None
            turn.seed = event.get("seed")
        elif event["event"] == "token" and ours:
            tokens = event.get("tokens")
            await self._pane(event).append(
                str(event.get("text") or ""), tokens if isinstance(tokens, int) else None
            )
        elif event["event"] == "done" and ours:
            await self._done(event)
        elif event["event"] == "error":
            await self._error(event)

    def _loaded(self, event: LoadedEvent) -> None:
        self.loaded = event
        self.phase = "ready"
        sides = event.get("sides") or list(SIDES)
        self.query_one("#pane-tuned").display = "tuned" in sides
        self._notice_all("")
        if event.get("note"):
            self.notify(str(event["note"]), markup=False, timeout=10)
        self._show_status()
        self.refresh_bindings()
        if self._send_when_loaded:
            self._send_when_loaded = False
            box = self.query_one("#chat-input", Input)
            box.post_message(Input.Submitted(box, box.value))

    async def _done(self, event: DoneEvent) -> None:
        turn = self.turn
        assert turn is not None
        answer = Answer.from_done(event)
        side = str(event.get("side"))
        turn.answers[side] = answer
        await self._pane(event).finish(answer)
        if turn.complete:
            settings = {**self.settings.to_dict(), "seed": turn.seed}
            self.conversation.record(turn.prompt, turn.answers, settings)
            self.turn = None
            self.phase = "ready"
            self.refresh_bindings()

    async def _error(self, event: ErrorEvent) -> None:
        text = error_text(str(event.get("message") or ""), str(event.get("hint") or ""))
        fatal = bool(event.get("fatal"))
        turn = self.turn
        if turn is not None and (event.get("id") in (turn.request_id, None) or fatal):
            self.turn = None
            for side in turn.sides:
                if side not in turn.answers:
                    await self._pane_of(side).fail("no answer: the error is above")
            self._give_back(turn.prompt)
            if fatal:
                self._fail(text)
            else:
                self.phase = "ready"
                self._notice_all(text, error=True)
                self.refresh_bindings()
        elif self.phase == "loading" and event.get("kind") == "no_room" and event.get("options"):
            self._ask(decision_from(event, text))
        elif self.phase in ("loading", "preparing") or fatal:
            self._fail(text)
        else:
            self.notify(text, severity="error", markup=False, timeout=12)

    def _fail(self, text: str) -> None:
        self.phase = "failed"
        self._send_when_loaded = False
        self.loaded = None
        self._notice_all(f"{text} Ctrl+R restarts the chat and loads again.", error=True)
        self._show_status()
        self.refresh_bindings()

    # --- sending --------------------------------------------------------------------------

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "chat-input":
            return
        event.stop()
        prompt = event.value.strip()
        if not prompt:
            return
        if self.phase in ("preparing", "loading"):
            self._send_when_loaded = True
            self.notify("Sent as soon as the models are loaded.", markup=False)
            return
        if self.phase != "ready":
            self.notify(not_ready_text(self.phase), markup=False)
            return  # the prompt stays in the box
        loaded_sides = self.loaded.get("sides", SIDES) if self.loaded else SIDES
        sides = tuple(s for s in SIDES if s in loaded_sides)
        for side in sides:
            self._pane_of(side).notice("")
            await self._pane_of(side).begin_turn(prompt)
        try:
            request_id = self.client.generate(
                self.conversation.messages_for(prompt), sides=sides, settings=self.settings
            )
        except ChatError as err:  # the process is gone; its crash event says the rest
            for side in sides:
                await self._pane_of(side).fail("not sent")
            self._fail(error_text(err.message, err.hint))
            return
        event.input.value = ""
        self.turn = PendingTurn(request_id, prompt, sides)
        self.phase = "answering"
        self.refresh_bindings()

    def _give_back(self, prompt: str) -> None:
        """On failure the prompt goes back into the box, unless something new was typed."""
        box = self.query_one("#chat-input", Input)
        if not box.value.strip():
            box.value = prompt
            box.cursor_position = len(prompt)

    # --- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.phase == "answering"  # else Esc falls through to the app: back
        if action == "restart":
            return self.phase == "failed"
        if action == "clear":
            return (self.phase != "answering" and bool(self.conversation.turns)) or None
        if action == "save":
            return bool(self.conversation.turns) or None
        if action == "copy":
            return any(p.last_answer is not None for p in self._panes()) or None
        if action == "eval":
            if self.with_run is not None:
                return None  # a quick eval compares a run with its base
            return self.phase == "ready"  # hidden otherwise: Stop or Restart takes its room
        return True

    def action_stop(self) -> None:
        if self.turn is not None and self.client is not None:
            for pane in self._panes():
                if pane.streaming:
                    pane.border_subtitle = "stopping…"
            with contextlib.suppress(ChatError):  # a dead process: its crash event follows
                self.client.cancel(self.turn.request_id)

    def action_restart(self) -> None:
        self._notice_all("Restarting the chat process…")
        if self.client is None or self.choice is None or self.lookup is None:
            self.phase = "preparing"
            self.lookup = None
            self._plan()
            return
        self.phase = "loading"
        self._load_started = time.monotonic()
        self._loading_text = f"Restarting; loading on {self.choice.label}…"
        self.refresh_bindings()
        self.load(self.choice, restart=True)

    def action_clear(self) -> None:
        unsaved = len(self.conversation.turns) - self.saved_turns
        if unsaved <= 0:
            self.run_worker(self._clear(), exclusive=True, group="chat-clear")
            return
        question = ConfirmScreen(
            "Clear the conversation?",
            f"{unsaved} turn{'s' if unsaved != 1 else ''} not saved (Ctrl+S saves them). Both "
            "sides forget the conversation.",
            "Clear",
        )
        self.app.push_screen(
            question,
            when_confirmed(lambda: self.run_worker(self._clear(), group="chat-clear")),
        )

    async def _clear(self) -> None:
        self.conversation.clear()
        self.saved_turns = 0
        for pane in self._panes():
            await pane.clear()
        self.refresh_bindings()

    def action_save(self) -> None:
        loaded = self.loaded
        meta: dict[str, object] = {
            "run": self.run.name,
            "model": loaded.get("model") if loaded else None,
            "method": loaded.get("method") if loaded else None,
            "device": loaded.get("device") if loaded else None,
            "system_prompt": self.settings.system_prompt
            or (loaded.get("system_prompt") if loaded else None),
            "settings": self.settings.to_dict(),
        }
        if self.with_run is not None:
            meta.update(with_run=self.with_run.name, labels=self.labels)
        try:
            md, jsonl = save_transcript(self.conversation, chats_dir(self.run.path), meta)
        except UserError as err:
            self.notify(f"The transcript was not saved: {err}", severity="error", markup=False)
            return
        self.saved_turns = len(self.conversation.turns)
        self.notify(f"Saved {md} (and {jsonl.name}).", markup=False, timeout=8)

    def action_copy(self) -> None:
        focused = self.focused
        chosen = [
            p
            for p in self._panes()
            if focused is not None and (focused is p or p in focused.ancestors)
        ]
        panes = [p for p in (chosen or self._panes()) if p.last_answer is not None]
        if not panes:
            return
        if len(panes) == 1:
            text, what = panes[0].last_answer or "", f"the {panes[0].side} answer"
        else:
            text = "\n\n".join(f"{p.heading}:\n{p.last_answer}" for p in panes)
            what = "both answers"
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {what} (through the terminal's clipboard, OSC 52).", markup=False)

    def action_settings(self) -> None:
        run_prompt = self.loaded.get("system_prompt") if self.loaded else None
        self.app.push_screen(ChatSettingsScreen(self.settings, run_prompt), self._new_settings)

    def _new_settings(self, settings: SamplingSettings | None) -> None:
        if settings is not None and settings != self.settings:
            self.settings = settings
            self._show_status()
            self.notify("The new settings apply from the next prompt, on both sides.")

    def action_eval(self) -> None:
        from tui_ft.ui.chat.eval import QuickEvalScreen

        if self.client is None or self.lookup is None or self.loaded is None:
            return
        self.app.push_screen(
            QuickEvalScreen(self.run, self.client, self.lookup.target, self.loaded, self.settings)
        )

    # --- showing --------------------------------------------------------------------------

    def _tick(self) -> None:
        if self.phase == "loading":
            seconds = int(time.monotonic() - self._load_started)
            self._notice_all(f"{self._loading_text} {seconds} s")

    def _show_status(self) -> None:
        self.query_one("#chat-status", Static).update(
            Content(safe(status_line(self.settings, self.loaded)))
        )

    def _notice_all(self, text: str, *, error: bool = False) -> None:
        for pane in self._panes():
            pane.notice(text, error=error)

    def _panes(self) -> list[ChatPane]:
        return list(self.query(ChatPane))

    def _pane(self, event: TokenEvent | DoneEvent) -> ChatPane:
        return self._pane_of(str(event.get("side")))

    def _pane_of(self, side: str) -> ChatPane:
        return self.query_one(f"#pane-{side}", ChatPane)
