"""The plan the chat screen makes before loading, and how chat events reach it in batches."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from test_chat_screen import done_run
from ui_helpers import NOW, TWO_H100, make_run

from tui_ft.core.chat.protocol import ChatError
from tui_ft.core.hardware.snapshot import FakeBackend, HardwareSnapshot
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status
from tui_ft.ui.chat.link import ChatEvents, ChatLink, merge_tokens
from tui_ft.ui.chat.prepare import Lookup, decide, look_up, training_runs

GIB = 2**30


def snapshot(tmp_path: Path, free: int) -> HardwareSnapshot:
    data = json.loads(TWO_H100.read_text())
    for gpu in data["gpus"]:
        gpu["memory_free"] = free
    path = tmp_path / f"gpus-{free}.json"
    path.write_text(json.dumps(data))
    return FakeBackend(path).snapshot()


def full_run(home: Path) -> RunDir:
    run = make_run(home, "demo-full-done", Status("completed", updated=NOW), method="full")
    run.output_dir.mkdir(parents=True)
    (run.output_dir / "config.json").write_text("{}")
    return run


def demo_lookup(run: RunDir) -> Lookup:
    lookup = look_up(run.path)
    if lookup.info is None:  # pragma: no cover - the demo model is not installed here
        pytest.skip("the demo model's size is needed for the plan")
    return lookup


def test_a_lora_run_loads_on_the_freest_gpu_with_one_copy_of_the_base(home: Path) -> None:
    lookup = demo_lookup(done_run(home))
    decision = decide(lookup, FakeBackend(TWO_H100).snapshot(), {})
    assert decision.load is not None and decision.load.device == "cuda:0"
    assert decision.load.placement == "auto"  # `shared` is what auto means for an adapter
    assert "The chat needs about" in decision.note and "GPU 0" in decision.note


def test_no_gpu_reading_leaves_the_choice_to_the_chat_process(home: Path) -> None:
    decision = decide(look_up(done_run(home).path), None, {})
    assert decision.load is not None and decision.load.device == "auto"


def test_no_room_asks_and_offers_the_cpu_and_waiting(home: Path, tmp_path: Path) -> None:
    lookup = demo_lookup(done_run(home))
    decision = decide(lookup, snapshot(tmp_path, 10 * 2**20), {os.getpid(): "other"})
    assert decision.load is None and decision.can_wait
    assert "only 10.0 MiB is free" in decision.question
    assert [(o.device, o.label) for o in decision.options] == [("cpu", "the CPU (slower)")]


def test_a_full_fine_tune_that_fits_once_offers_one_at_a_time_or_the_base_on_the_cpu(
    home: Path, tmp_path: Path
) -> None:
    lookup = demo_lookup(full_run(home))
    roomy = decide(lookup, snapshot(tmp_path, 60 * GIB), {})
    assert roomy.load is not None and roomy.load.placement == "together"
    # Between what one model at a time needs and what both at once need:
    together = _needed(lookup, tmp_path, "together")
    one = _needed(lookup, tmp_path, "sequential")
    assert one < together
    decision = decide(lookup, snapshot(tmp_path, (one + together) // 2), {})
    assert decision.load is None and "do not fit on GPU 0" in decision.question
    placements = [(o.device, o.placement) for o in decision.options]
    assert placements[0] == ("cuda:0", "sequential")
    assert ("cpu", "auto") in placements


def _needed(lookup: Lookup, tmp_path: Path, placement: str) -> int:
    from tui_ft.core.chat.memory import plan_placement

    assert lookup.info is not None
    plan = plan_placement(
        lookup.target, lookup.info, snapshot(tmp_path, 60 * GIB), "cuda:0", placement
    )
    return plan.needed_bytes


def test_a_run_without_a_model_is_a_sentence(home: Path) -> None:
    run = make_run(home, "empty", Status("stopped", updated=NOW))
    with pytest.raises(ChatError) as caught:
        look_up(run.path)
    assert caught.value.kind == "missing" and "left no trained model" in caught.value.message


def test_training_runs_names_the_live_trainers(home: Path) -> None:
    now = time.time()
    make_run(home, "live", Status("training", pid=os.getpid(), started=now, updated=now))
    make_run(home, "over", Status("completed", updated=now))
    assert training_runs(home) == {os.getpid(): "live"}


def test_tokens_arriving_together_are_one_append_and_one_message() -> None:
    posted: list[object] = []
    link = ChatLink(posted.append)
    for n in range(500):
        link({"event": "token", "id": "r1", "side": "base" if n % 2 else "tuned", "text": "a"})
    link({"event": "done", "id": "r1", "side": "base"})
    assert len(posted) == 1 and isinstance(posted[0], ChatEvents)
    events = link.take()
    assert len(events) == 501 and link.take() == []
    link({"event": "token", "id": "r1", "side": "base", "text": "b", "tokens": 1})
    assert len(posted) == 2  # taken: the next event posts again
    merged = merge_tokens(
        [
            {"event": "token", "id": "r1", "side": "base", "text": "Hel", "tokens": 1},
            {"event": "token", "id": "r1", "side": "tuned", "text": "H", "tokens": 1},
            {"event": "token", "id": "r1", "side": "base", "text": "lo", "tokens": 2},
            {"event": "token", "id": "r1", "side": "tuned", "text": "i", "tokens": 2},
            {"event": "done", "id": "r1", "side": "base", "text": "Hello"},
            {"event": "token", "id": "r1", "side": "tuned", "text": "!", "tokens": 2},
        ]
    )
    assert [(e["event"], e.get("text"), e.get("tokens")) for e in merged] == [
        ("token", "Hello", 2),
        ("token", "Hi", 2),
        ("done", "Hello", None),
        ("token", "!", 2),
    ]
