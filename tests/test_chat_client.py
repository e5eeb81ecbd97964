"""The UI's handle on the chat process: events reach the callback (or a private queue), a dead
worker becomes an error event, and a restart brings it back. Most tests drive a fake worker (a
few lines of Python speaking the protocol) so they run in a blink; one drives the real one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.chat_fixtures import fake_run, tiny_base
from tui_ft.core.chat.client import ChatClient
from tui_ft.core.chat.conversation import Conversation
from tui_ft.core.chat.protocol import ChatError, SamplingSettings

FAKE_WORKER = r"""
import json, os, sys
def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()
emit({"event": "ready", "pid": os.getpid()})
for line in sys.stdin:
    request = json.loads(line)
    op, rid = request.get("op"), request.get("id")
    if op == "shutdown":
        break
    if op == "load" and request.get("run") == "too-big":
        emit({"event": "error", "id": rid, "kind": "oom", "message": "out of memory.",
              "hint": "Use the CPU.", "fatal": False})
    elif op == "load":
        emit({"event": "loaded", "id": rid, "sides": ["base", "tuned"]})
    elif op == "generate":
        said = request["messages"][request["sides"][0]][-1]["content"]
        if said == "hang":
            continue
        emit({"event": "started", "id": rid, "sides": request["sides"], "seed": 1})
        for side in request["sides"]:
            emit({"event": "token", "id": rid, "side": side, "text": side + ": " + said})
            emit({"event": "done", "id": rid, "side": side, "text": side + ": " + said,
                  "finish": "eos", "new_tokens": 2, "seconds": 0.1, "flags": []})
"""


@pytest.fixture
def fake_worker(tmp_path: Path) -> list[str]:
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    return [sys.executable, str(script)]


class Collector:
    """A callback that records events, as the UI's would post them as messages."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.arrived = threading.Condition()

    def __call__(self, event: dict[str, Any]) -> None:
        with self.arrived:
            self.events.append(event)
            self.arrived.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 60) -> dict[str, Any]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: any(predicate(e) for e in self.events), timeout), (
                self.events
            )
            return next(e for e in self.events if predicate(e))


def test_events_reach_the_callback_and_private_requests_their_own_queue(
    fake_worker: list[str], tmp_path: Path
) -> None:
    seen = Collector()
    client = ChatClient(seen, command=fake_worker, log_path=tmp_path / "chat.log")
    try:
        ready = client.start(wait=30)
        assert ready is not None and ready["pid"] == client.pid
        client.load("some-run")
        assert seen.wait_for(lambda e: e["event"] == "loaded")["id"] == "r1"
        chat = Conversation()
        rid = client.generate(chat.messages_for("hi"), settings=SamplingSettings(greedy=True))
        done = seen.wait_for(lambda e: e["event"] == "done" and e["side"] == "tuned")
        assert done["id"] == rid and done["text"] == "tuned: hi"
        count = len(seen.events)
        tokens: list[str] = []
        answers = client.ask(
            chat.messages_for("again"),
            on_event=lambda e: tokens.append(e["text"]) if e["event"] == "token" else None,
        )
        assert answers["base"]["text"] == "base: again" and tokens == [
            "base: again",
            "tuned: again",
        ]
        assert len(seen.events) == count  # a private request's events stay private
        assert client.load_and_wait("other-run")["event"] == "loaded"
    finally:
        client.close()
    assert not client.alive and client.stray_lines == []


def test_a_killed_worker_is_an_error_event_and_a_restart_works(fake_worker: list[str]) -> None:
    seen = Collector()
    client = ChatClient(seen, command=fake_worker)
    try:
        client.start(wait=30)
        first = client.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        crash = seen.wait_for(lambda e: e["event"] == "error")
        assert crash["kind"] == "crashed" and crash["fatal"] is True and crash["id"] is None
        assert "killed" in crash["message"] and crash["hint"].startswith("Restart it")
        assert not client.alive and client.loaded is None
        with pytest.raises(ChatError) as caught:
            client.generate({"base": [{"role": "user", "content": "hi"}]})
        assert caught.value.kind == "crashed"
        client.restart(wait=30)
        assert client.alive and client.pid != first
        answers = client.ask({"base": [{"role": "user", "content": "back?"}]})
        assert answers["base"]["text"] == "base: back?"
    finally:
        client.close()


def test_a_blocking_request_learns_of_the_death_at_once(fake_worker: list[str]) -> None:
    client = ChatClient(command=fake_worker)
    client.start(wait=30)
    failure: list[BaseException] = []

    def ask() -> None:
        try:
            client.ask({"tuned": [{"role": "user", "content": "hang"}]}, timeout=60)
        except ChatError as err:
            failure.append(err)

    # Killed once the request is written (not after a guessed pause): it is then pending.
    sent = threading.Event()
    send = client._send

    def send_then_tell(message: dict[str, Any]) -> None:
        send(message)
        sent.set()

    client._send = send_then_tell  # type: ignore[method-assign]
    thread = threading.Thread(target=ask)
    thread.start()
    assert sent.wait(timeout=60)
    assert client.pid is not None
    os.kill(client.pid, signal.SIGKILL)
    thread.join(timeout=30)
    assert failure and isinstance(failure[0], ChatError) and failure[0].kind == "crashed"
    # Without a callback, events wait in the queue: `ready`, then the crash.
    assert client.events.get(timeout=5)["event"] == "ready"
    crash = client.events.get(timeout=5)
    assert crash["kind"] == "crashed" and crash["pending"]
    client.close()


def test_an_error_event_raises_from_the_blocking_helpers(fake_worker: list[str]) -> None:
    client = ChatClient(command=fake_worker)
    client.start(wait=30)
    try:
        with pytest.raises(ChatError) as caught:
            client.load_and_wait("too-big")
        assert caught.value.kind == "oom" and caught.value.hint == "Use the CPU."
    finally:
        client.close()


def test_a_worker_that_cannot_start_says_why(tmp_path: Path) -> None:
    broken = [
        sys.executable,
        "-c",
        "import sys; print('torch is missing', file=sys.stderr); sys.exit(3)",
    ]
    client = ChatClient(command=broken, log_path=tmp_path / "chat.log")
    with pytest.raises(ChatError) as caught:
        client.start(wait=30)
    assert caught.value.kind == "crashed" and "ended while starting" in caught.value.message
    assert (
        "torch is missing" in caught.value.hint and str(tmp_path / "chat.log") in caught.value.hint
    )
    client.close()


def test_the_protocol_stream_is_the_only_thing_on_stdout() -> None:
    code = (
        "import os\n"
        "from tui_ft.engine.chat.worker import _protocol_stream\n"
        "protocol = _protocol_stream()\n"
        "print('a library prints')\n"
        "os.write(1, b'a C library writes\\n')\n"
        'protocol.write(b\'{"event": "ready"}\\n\')\n'
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, timeout=60)
    assert out.stdout == b'{"event": "ready"}\n'
    assert b"a library prints" in out.stderr and b"a C library writes" in out.stderr


def test_the_real_worker_answers_survives_a_kill_and_restarts(tmp_path: Path) -> None:
    base = tiny_base(tmp_path / "base")
    run = fake_run(base, "lora", "real", tmp_path / "runs")
    seen = Collector()
    client = ChatClient(seen)
    try:
        ready = client.start(wait=300)
        assert ready is not None and ready["versions"]["torch"]
        loaded = client.load_and_wait(str(run.path), device="cpu")
        assert loaded["kind"] == "adapter" and client.loaded == loaded
        chat = Conversation()
        rid = client.generate(
            chat.messages_for("Who are you?"), settings=SamplingSettings(max_new_tokens=6, seed=1)
        )
        done = seen.wait_for(lambda e: e["event"] == "done" and e["side"] == "tuned", 120)
        assert done["id"] == rid
        tokens = [e for e in seen.events if e["event"] == "token" and e["id"] == rid]
        assert {e["side"] for e in tokens} == {"base", "tuned"}
        assert client.stray_lines == []  # nothing but protocol lines on its stdout
        assert client.log_path is not None and client.log_path.exists()

        assert client.pid is not None
        os.kill(client.pid, signal.SIGKILL)
        crash = seen.wait_for(lambda e: e["event"] == "error" and e["kind"] == "crashed", 60)
        assert crash["fatal"] is True
        client.restart(wait=300)
        client.load_and_wait(str(run.path), device="cpu")
        answers = client.ask(
            chat.messages_for("Who are you?"), settings=SamplingSettings(max_new_tokens=4)
        )
        assert set(answers) == {"base", "tuned"}
    finally:
        client.close()
    assert not client.alive
