"""One side of the A/B chat (base or tuned): its turns in a scroll of their own, the answer in
progress streamed as Markdown, its speed in the border, and a notice line for loading and errors.

Streaming goes through Textual's MarkdownStream: token deltas are appended to the document, and
fragments that arrive faster than the widget can re-render are joined into one append, so a long
answer stays smooth (rebuilding the whole Markdown per token stalls after a few hundred lines).
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from tui_ft.core.chat.checks import FLAG_LABEL, FLAG_TEXT
from tui_ft.core.chat.conversation import Answer
from tui_ft.core.chat.transcript import answer_line, side_title
from tui_ft.core.safe_text import safe

EMPTY_ANSWER = "*(empty answer)*"


class ChatPane(Vertical):
    DEFAULT_CSS = """
    ChatPane {
        width: 1fr;
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
    }
    ChatPane.-base { border-title-color: $base; }
    ChatPane.-tuned { border-title-color: $tuned; }
    ChatPane:focus-within { border: round $accent; }
    ChatPane .chat-notice {
        height: auto;
        max-height: 8;
        padding: 0 1;
        color: $text-muted;
    }
    ChatPane .chat-notice.-error {
        color: $text-error;
        border-left: thick $error;
    }
    ChatPane > VerticalScroll {
        height: 1fr;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    ChatPane .chat-prompt {
        margin-top: 1;
        color: $text-muted;
        text-style: bold;
    }
    ChatPane Markdown {
        margin: 0;
        padding: 0;
        background: transparent;
    }
    ChatPane .chat-info { color: $text-muted; }
    ChatPane .chat-flag { color: $text-warning; text-style: bold; }
    """

    def __init__(
        self, side: str, labels: dict[str, str] | None = None, *, id: str | None = None
    ) -> None:
        """`labels`: what each side holds, when another run takes the base's place."""
        super().__init__(id=id, classes=f"-{side}")
        self.side = side
        self.heading = side_title(side, labels)
        self.border_title = Content(safe(self.heading))  # a run's name: never markup
        self.last_answer: str | None = None
        self._stream: MarkdownStream | None = None
        self._markdown: Markdown | None = None
        self._info: Static | None = None
        self._started = 0.0
        self._text = ""

    def compose(self) -> ComposeResult:
        yield Static("", classes="chat-notice")
        yield VerticalScroll(can_focus=True)

    def on_mount(self) -> None:
        self.notice("")

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    @property
    def text(self) -> str:
        """The answer in progress (or the last one), as received so far."""
        return self._text

    def notice(self, text: str | Content, *, error: bool = False) -> None:
        """A line above the turns: loading progress, or what went wrong and the key to fix it."""
        notice = self.query_one(".chat-notice", Static)
        notice.update(Content(safe(text)) if isinstance(text, str) else text)
        notice.set_class(error, "-error")
        notice.display = bool(text)

    async def begin_turn(self, prompt: str) -> None:
        await self.end_stream()
        scroll = self.query_one(VerticalScroll)
        self._markdown = Markdown(open_links=False)
        self._info = Static(Content("answering…"), classes="chat-info")
        await scroll.mount_all(
            [
                Static(Content(safe(f"› {prompt}")), classes="chat-prompt"),
                self._markdown,
                self._info,
            ]
        )
        self._follow(new_turn=True)
        self._stream = Markdown.get_stream(self._markdown)
        self._started = time.monotonic()
        self._text = ""
        self.border_subtitle = "answering…"

    async def append(self, text: str, tokens: int | None = None) -> None:
        if self._stream is None or not text:
            return
        self._text += text
        await self._stream.write(safe(text))  # each token: an escape split in two stays inert
        self._follow()
        if tokens:
            elapsed = time.monotonic() - self._started
            rate = f" · {tokens / elapsed:.1f} tokens/s" if elapsed > 0 else ""
            self.border_subtitle = f"{tokens} tokens{rate}"

    async def finish(self, answer: Answer) -> None:
        """The side's `done`: the whole answer, its speed and how it ended, and any flag."""
        await self.end_stream()
        if self._markdown is not None and answer.text.strip() != self._text.strip():
            await self._markdown.update(safe(answer.text) or EMPTY_ANSWER)  # what the worker kept
        elif self._markdown is not None and not answer.text.strip():
            await self._markdown.update(EMPTY_ANSWER)
        self._text = answer.text
        self.last_answer = answer.text
        self.border_subtitle = (
            f"{answer.tokens_per_s:.1f} tokens/s" if answer.tokens_per_s else "done"
        )
        if self._info is not None:
            self._info.update(Content(safe(_finish_line(answer))))
            after: Static = self._info
            for flag in answer.flags:  # each in words under the answer, in the worker's order
                label, why = FLAG_LABEL.get(flag, flag), FLAG_TEXT.get(flag, flag)
                line = Static(
                    Content(safe(f"⚠ Flag: {label}. This answer {why}.")), classes="chat-flag"
                )
                await self.query_one(VerticalScroll).mount(line, after=after)
                after = line
        self._info = None
        self._follow()

    async def fail(self, text: str) -> None:
        """The turn ends without an answer from this side (an error says why above)."""
        await self.end_stream()
        if self._info is not None:
            self._info.update(Content(safe(text)))
        self._info = None
        self.border_subtitle = "no answer"

    def _follow(self, new_turn: bool = False) -> None:
        """Keep the newest words in view until the person scrolls up to read. Anchored only
        once the turns overflow the pane: an anchored scroll with little in it sits at the
        bottom, and the two panes should start at the top, level with each other. Anchoring
        again would pull a reader back down: only a new turn does that."""
        scroll = self.query_one(VerticalScroll)

        def follow() -> None:  # after the layout: the new words' height is known then
            if scroll.max_scroll_y > 0 and (new_turn or not scroll.is_anchored):
                scroll.anchor()

        self.call_after_refresh(follow)

    async def end_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.stop()

    async def clear(self) -> None:
        await self.end_stream()
        scroll = self.query_one(VerticalScroll)
        await scroll.remove_children()
        scroll.anchor(False)
        self._markdown = self._info = None
        self._text = ""
        self.last_answer = None
        self.border_subtitle = ""


def _finish_line(answer: Answer) -> str:
    if answer.finish == "cancelled":
        return f"stopped (Esc) after {answer.new_tokens} tokens"
    return answer_line(answer).split(" · flag:")[0]  # flags get a sentence of their own
