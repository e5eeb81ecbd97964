"""How fast the chat screen takes a burst of tokens: the screen as built (token events batched by
ChatLink, Markdown appended through Textual's MarkdownStream) against the naive way (one Textual
message per token, the whole answer re-rendered with Markdown.update on each), in the same
process, alternating rounds.

A scripted chat client pours `--tokens` tokens per side, Markdown with paragraphs, lists and code
as a model writes it, from a thread as fast as it can (a fast GPU, or a long answer catching up);
the clock stops when both panes show the whole answer and the turn is recorded. Prints per mode
the median seconds and tokens/s, and `ratio: X.XX×` (naive over built; above 1 means the built
screen is faster).

    python bench/chat_stream.py [--tokens 300] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.widgets import Input  # noqa: E402

from tui_ft.core.config import RunConfig, save_config  # noqa: E402
from tui_ft.core.hardware.snapshot import FakeBackend  # noqa: E402
from tui_ft.core.runs.layout import RunDir  # noqa: E402
from tui_ft.core.runs.status import Status  # noqa: E402
from tui_ft.ui.app import ProcessRunner, make_app  # noqa: E402
from tui_ft.ui.chat import link as chat_link  # noqa: E402
from tui_ft.ui.chat.pane import ChatPane  # noqa: E402
from tui_ft.ui.chat.screen import ChatScreen  # noqa: E402

FAKE_GPUS = ROOT / "tests" / "fixtures" / "fake_gpu_2xh100.json"
WORDS = [
    "the",
    "model",
    "learns",
    "to",
    "answer",
    "with",
    "its",
    "new",
    "name",
    "and",
    "keeps",
    "the",
    "old",
    "knowledge",
]


def tokens(count: int, side: str) -> list[str]:
    """Deltas of ~4 characters that add up to Markdown a model writes."""
    out: list[str] = []
    for n in range(count):
        word = WORDS[n % len(WORDS)]
        if n % 60 == 0:
            out.append(f"\n\n### Part {n // 60} ({side})\n\n")
        elif n % 25 == 0:
            out.append("\n- ")
        elif n % 97 == 0:
            out.append("\n\n```python\nprint('step')\n```\n\n")
        out.append(f"{word} " if n % 11 else f"**{word}** ")
    return out


class PouringRunner(ProcessRunner):
    """The app's runner, with a chat worker that pours `count` tokens per side."""

    def __init__(self, count: int) -> None:
        self.count = count

    def chat(self, on_event: Callable[[dict[str, Any]], None], models: Any) -> Any:
        return Pouring(on_event, self.count)


class Pouring:
    """A chat client that answers `load` at once and pours tokens for each generate."""

    def __init__(self, on_event: Callable[[dict[str, Any]], None], count: int) -> None:
        self.on_event = on_event
        self.count = count
        self.log_path = None
        self.alive = True

    def start(self, wait: float | None = None) -> None:
        return None

    def close(self, timeout: float = 0) -> None:
        self.alive = False

    def load(self, run: str | None = None, **_: Any) -> str:
        self.on_event({"event": "loaded", "id": "r1", "sides": ["base", "tuned"], "device": "x"})
        return "r1"

    def generate(self, messages: Any, **_: Any) -> str:
        threading.Thread(target=self._pour, daemon=True).start()
        return "r2"

    def _pour(self) -> None:
        self.on_event({"event": "started", "id": "r2", "sides": ["base", "tuned"], "seed": 1})
        texts = {side: tokens(self.count, side) for side in ("base", "tuned")}
        for n in range(self.count):
            for side in ("base", "tuned"):
                self.on_event(
                    {
                        "event": "token",
                        "id": "r2",
                        "side": side,
                        "text": texts[side][n],
                        "tokens": n + 1,
                    }
                )
        for side in ("base", "tuned"):
            self.on_event(
                {
                    "event": "done",
                    "id": "r2",
                    "side": side,
                    "text": "".join(texts[side]),
                    "finish": "length",
                    "new_tokens": self.count,
                    "flags": [],
                }
            )


@contextlib.contextmanager
def naive() -> Iterator[None]:
    """One message per token, each handled alone, and the whole answer re-rendered each time
    (the way to avoid)."""

    def post_each(self: chat_link.ChatLink, event: dict[str, Any]) -> None:
        with self._lock:
            self._pending.append(event)
        self._post(chat_link.ChatEvents())

    def take_one(self: chat_link.ChatLink) -> list[dict[str, Any]]:
        with self._lock:
            return [self._pending.pop(0)] if self._pending else []

    async def rerender(self: ChatPane, text: str, tokens: int | None = None) -> None:
        if self._markdown is None:
            return
        self._text += text
        await self._markdown.update(self._text)

    saved = (chat_link.ChatLink.__call__, chat_link.ChatLink.take, ChatPane.append)
    chat_link.ChatLink.__call__ = post_each  # type: ignore[method-assign]
    chat_link.ChatLink.take = take_one  # type: ignore[method-assign]
    ChatPane.append = rerender  # type: ignore[method-assign]
    try:
        yield
    finally:
        chat_link.ChatLink.__call__, chat_link.ChatLink.take, ChatPane.append = saved  # type: ignore[method-assign]


async def one_round(home: Path, run: RunDir, count: int) -> float:
    app = make_app(
        runs_home=home, hardware_backend=FakeBackend(FAKE_GPUS), runner=PouringRunner(count)
    )
    async with app.run_test(size=(120, 40)) as pilot:
        while app.hardware.snapshot is None:
            await pilot.pause(0.01)
        app.open_chat(run)
        while not (isinstance(app.screen, ChatScreen) and app.screen.phase == "ready"):
            await pilot.pause(0.01)
        screen = app.screen
        box = screen.query_one("#chat-input", Input)
        box.value = "Tell me everything."
        start = time.perf_counter()
        await box.action_submit()  # not pilot.press: it waits for an idle screen
        while screen.phase != "ready" or not screen.conversation.turns:
            await asyncio.sleep(0.005)
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=300, help="tokens per side")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp()) / "runs"
    run = RunDir.create("bench-chat", home)
    save_config(RunConfig(name="bench-chat", model="demo", dataset="demo"), run.config_path)
    run.write_status(Status("completed", step=1, max_steps=1))
    run.output_dir.mkdir(parents=True, exist_ok=True)
    (run.output_dir / "adapter_config.json").write_text("{}")
    times: dict[str, list[float]] = {"built": [], "naive": []}
    for round_ in range(args.rounds):
        for mode in ("built", "naive") if round_ % 2 == 0 else ("naive", "built"):
            with naive() if mode == "naive" else contextlib.nullcontext():
                seconds = asyncio.run(one_round(home, run, args.tokens))
            times[mode].append(seconds)
            print(f"round {round_ + 1} {mode:5}: {seconds:6.2f} s", flush=True)
    print(f"\n{args.tokens} tokens per side, both sides at once, {args.rounds} rounds")
    print("| mode | median s | tokens/s (both sides) |\n|---|---|---|")
    medians = {mode: statistics.median(values) for mode, values in times.items()}
    for mode, median in medians.items():
        print(f"| {mode} | {median:.2f} | {2 * args.tokens / median:.0f} |")
    print(f"ratio: {medians['naive'] / medians['built']:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
