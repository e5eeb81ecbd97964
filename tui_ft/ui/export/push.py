"""Push to the Hugging Face Hub, from the Export screen: the repository, what to push (adapter,
merged model or GGUF export) and whether a new repository is private; `l` lists what would go up
(`tui-ft push --dry-run`), `p` uploads it with its model card (`tui-ft push`), both in a child
process. The token is the one `hf auth login` saved or HF_TOKEN: this dialog never sees it."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, RadioButton, RadioSet, Static

from tui_ft.core.errors import UserError
from tui_ft.core.safe_text import safe
from tui_ft.core.share import WHATS
from tui_ft.core.share.gguf_choice import GGUF
from tui_ft.core.share.hub import check_repo_id
from tui_ft.core.share.process import PushOutcome, PushRequest, run_push
from tui_ft.core.units import format_bytes
from tui_ft.ui.shell.safe_input import SafeInput
from tui_ft.ui.shell.services import services

ABOUT = (
    "The model card (README.md, loss.png) is written from the run and goes up with it. The "
    "token comes from HF_TOKEN or `hf auth login`."
)


class PushFinished(Message):
    def __init__(self, request: PushRequest, outcome: PushOutcome) -> None:
        super().__init__()
        self.request = request
        self.outcome = outcome


class PushScreen(ModalScreen[None]):
    CSS_PATH = "export.tcss"
    BINDINGS = [
        # Letters act when the focus is off the repository field; enter there lists.
        Binding("l", "push(True)", "List files", id="push.list"),
        Binding("p", "push(False)", "Push", id="push.push"),
        Binding("escape", "close", "Close", id="push.close"),
    ]

    def __init__(self, run: Path, what: str, quant: str | None = None) -> None:
        """`quant`: the GGUF export to push when `what` is gguf (the one just made); None: the
        newest that passed its check."""
        super().__init__()
        self.run = run
        self.what = what
        self.quant = quant
        self.running = False
        self.outcome: PushOutcome | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="push-box"):
            yield Static(
                Content(safe(f"Push {self.run.name} to the Hugging Face Hub")), id="push-title"
            )
            with Horizontal(id="push-repo-row"):
                yield Static("Repository", id="push-repo-label")
                yield SafeInput(placeholder="ORG/NAME", id="push-repo")
            with Horizontal(id="push-options"):
                yield RadioSet(
                    *(
                        RadioButton(self._label(what), what == self.what, name=what)
                        for what in WHATS
                    ),
                    id="push-what",
                )
                yield Checkbox("private", id="push-private")
            yield Static(ABOUT, id="push-about", markup=False)
            with Horizontal(id="push-buttons"):
                yield Button("List files (l)", id="push-list")
                yield Button("Push (p)", variant="primary", id="push-go")
            with VerticalScroll(id="push-result-box"):
                yield Static(id="push-result", markup=False)

    def _label(self, what: str) -> str:
        return f"{what} {self.quant}" if what == GGUF and self.quant else what

    def on_mount(self) -> None:
        self.query_one("#push-what").border_title = "What"
        self.query_one("#push-repo", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in ("push-list", "push-go"):
            self.action_push(event.button.id == "push-list")

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.action_push(True)

    def request(self, dry_run: bool) -> PushRequest:
        """What the form asks for; a UserError when the repository id is not one."""
        repo = check_repo_id(self.query_one("#push-repo", Input).value)
        button = self.query_one("#push-what", RadioSet).pressed_button
        what = button.name if button is not None and button.name else self.what
        private = self.query_one("#push-private", Checkbox).value
        quant = self.quant if what == GGUF else None
        return PushRequest(self.run, repo, what, private=private, dry_run=dry_run, quant=quant)

    def action_push(self, dry_run: bool) -> None:
        if self.running:
            return
        try:
            request = self.request(dry_run)
        except UserError as err:
            self._show(f"✗ {err.message} {err.hint}")
            return
        self.running = True
        self._show(
            "Listing the files…" if dry_run else f"Uploading to {request.repo}… (Esc waits for it)"
        )
        self.push(request)

    @work(thread=True, exclusive=True, group="push", exit_on_error=False)
    def push(self, request: PushRequest) -> None:
        try:
            outcome = run_push(request, services(self.app).runner)
        except OSError as err:
            outcome = PushOutcome(None, f"the push process could not start: {err}.")
        self.post_message(PushFinished(request, outcome))

    def on_push_finished(self, message: PushFinished) -> None:
        self.running = False
        self.outcome = message.outcome
        self._show("\n".join(outcome_lines(message.request, message.outcome)))

    def _show(self, text: str) -> None:
        self.query_one("#push-result", Static).update(Content(safe(text)))

    def action_close(self) -> None:
        if self.running:
            self.notify("The push is still running; it can be closed once it ends.", markup=False)
            return
        self.dismiss(None)


def outcome_lines(request: PushRequest, outcome: PushOutcome) -> list[str]:
    """What the dialog says after a listing or a push."""
    summary = outcome.summary
    if summary is None:
        return [f"✗ {outcome.error or 'The push said nothing about why it failed.'}"]
    files = summary.get("files", [])
    total = format_bytes(summary.get("total_bytes"))
    visibility = "private" if summary.get("private") else "public"
    if request.dry_run:
        head = f"Would push {len(files)} files ({total}) to {summary.get('url')} ({visibility}):"
    else:
        head = f"✓ Pushed {len(files)} files ({total}): {summary.get('commit_url') or summary.get('url')}"
    return [head, *(f"  {f['path']}  {format_bytes(f['size_bytes'])}" for f in files)]
