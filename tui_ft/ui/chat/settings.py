"""The A/B chat's sampling settings, one small form: the same settings go to both sides.

A value that is not right is one sentence under the form; every field keeps what was typed, so
fixing it is one edit, not a retype. Dismisses with the new SamplingSettings, or None.
"""

from __future__ import annotations

import dataclasses

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Static

from tui_ft.core.chat.protocol import SamplingSettings
from tui_ft.core.safe_text import safe
from tui_ft.ui.shell.safe_input import SafeInput

# (field, label, how to read the typed text)
NUMBER_FIELDS = (
    ("temperature", "Temperature", float),
    ("top_p", "Top-p", float),
    ("max_new_tokens", "Max new tokens", int),
    ("repetition_penalty", "Repetition penalty", float),
)
EXAMPLES = {"temperature": "0.7", "top_p": "0.9", "max_new_tokens": "256"}


class ChatSettingsScreen(ModalScreen[SamplingSettings | None]):
    CSS_PATH = "chat.tcss"
    BINDINGS = [
        Binding("ctrl+s", "apply", "Apply", id="chat-settings.apply"),
        Binding("escape", "cancel", "Cancel", id="chat-settings.cancel"),
    ]

    def __init__(self, settings: SamplingSettings, run_system_prompt: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.run_system_prompt = run_system_prompt

    def compose(self) -> ComposeResult:
        s = self.settings
        with Vertical(id="settings-box"):
            yield Static(Content.styled("Chat settings (both sides)", "bold"), id="settings-title")
            for name, label, _ in NUMBER_FIELDS:
                with Horizontal():
                    yield Label(label)
                    yield SafeInput(str(getattr(s, name)), id=f"set-{name}", compact=True)
            with Horizontal():
                yield Label("Seed")
                yield SafeInput(
                    "" if s.seed is None else str(s.seed),
                    placeholder="blank: a new one each answer",
                    id="set-seed",
                    compact=True,
                )
            with Horizontal():
                yield Label("System prompt")
                yield SafeInput(
                    s.system_prompt or "",
                    placeholder=_system_placeholder(self.run_system_prompt),
                    id="set-system_prompt",
                    compact=True,
                )
            yield Checkbox(
                "Greedy: the most likely token (ignores temperature, top-p)",
                s.greedy,
                id="set-greedy",
                compact=True,
            )
            yield Static("", id="settings-problem")
            yield Static("Enter or Ctrl+S applies · Esc cancels", id="settings-keys")

    def on_mount(self) -> None:
        self.query_one("#settings-problem").display = False
        self.query_one("#set-temperature", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    def action_apply(self) -> None:
        settings, problem = self.read()
        box = self.query_one("#settings-problem", Static)
        box.update(Content(safe(problem)))
        box.display = bool(problem)
        if settings is not None:
            self.dismiss(settings)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def read(self) -> tuple[SamplingSettings | None, str]:
        """The settings typed, or (None, one sentence about the first wrong value)."""
        values: dict[str, object] = {}
        for name, label, kind in NUMBER_FIELDS:
            text = self.query_one(f"#set-{name}", Input).value.strip()
            try:
                values[name] = kind(text)
            except ValueError:
                whole = "a whole number" if kind is int else "a number"
                example = EXAMPLES.get(name, "1.1")
                return None, f"{label} must be {whole}, like {example} (it is {text!r})."
        seed = self.query_one("#set-seed", Input).value.strip()
        if seed:
            try:
                values["seed"] = int(seed)
            except ValueError:
                return None, f"Seed must be a whole number, or blank (it is {seed!r})."
        else:
            values["seed"] = None
        system = self.query_one("#set-system_prompt", Input).value.strip()
        values["system_prompt"] = system or None
        values["greedy"] = self.query_one("#set-greedy", Checkbox).value
        settings = dataclasses.replace(self.settings, **values)  # type: ignore[arg-type]
        problems = settings.problems()
        if problems:
            return None, _sentence(problems[0])
        return settings, ""


def _system_placeholder(run_prompt: str | None) -> str:
    if run_prompt:
        short = run_prompt if len(run_prompt) <= 40 else run_prompt[:39] + "…"
        return f"blank: the run's own ({short})"
    return "blank: the run's own"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
