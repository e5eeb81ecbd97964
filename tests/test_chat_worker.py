"""The chat process's engine, driven in-process through its request handler: the mixed-adapter
batch answers exactly as each side alone, streams add up, cancel stops, failures are events, and
a full fine-tune loads two models. Every event has the fields its type in core/chat/wire.py
declares."""

from __future__ import annotations

import queue
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.chat_fixtures import fake_run, tiny_base
from tests.typed_shapes import shape_problems
from tui_ft.core.chat.protocol import SIDES
from tui_ft.core.chat.wire import EVENT_TYPES, ReadyEvent
from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.runs.layout import RunDir
from tui_ft.engine.chat.worker import Worker, _ready_event

PROMPT = [{"role": "user", "content": "Who are you?"}]
GREEDY = {"greedy": True, "max_new_tokens": 12}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("chat")
    base = tiny_base(root / "base")
    home = root / "runs"
    return {
        "base": base,
        "lora": fake_run(base, "lora", "lora", home).path,
        "qlora": fake_run(base, "qlora", "qlora", home).path,
        "full": fake_run(base, "full", "full", home).path,
        # Other runs of the same base, for two runs side by side (`with_run`).
        "lora2": fake_run(base, "lora", "lora2", home, seed=2).path,
        "full2": fake_run(base, "full", "full2", home, seed=2).path,
    }


class Driver:
    """A Worker whose events land in a queue, with requests handled on a background thread
    (as the real process's main thread does) so the test can cancel meanwhile."""

    def __init__(self) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.worker = Worker(self.events.put)

    def handle(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        self.worker.submit(request)
        assert self.worker.handle(self.worker.requests.get())
        return self.drain()

    def drain(self) -> list[dict[str, Any]]:
        out = []
        while not self.events.empty():
            event = self.events.get()
            assert not shape_problems(event, EVENT_TYPES[event["event"]]), event
            out.append(event)
        return out

    def load(self, **request: Any) -> dict[str, Any]:
        events = self.handle({"op": "load", "id": "load", "device": "cpu", **request})
        assert len(events) == 1, events
        return events[0]

    def generate(self, rid: str = "g", **request: Any) -> list[dict[str, Any]]:
        request = {"op": "generate", "id": rid, "token_ids": True, **request}
        request.setdefault("messages", {"base": PROMPT, "tuned": PROMPT})
        request.setdefault("settings", GREEDY)
        return self.handle(request)


def float_bytes(folder: Path) -> int:
    from transformers import AutoModelForCausalLM

    return sum(p.numel() * 4 for p in AutoModelForCausalLM.from_pretrained(folder).parameters())


def done_by_side(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["side"]: e for e in events if e["event"] == "done"}


def alone(model: Any, tokenizer: Any, messages: list[dict[str, str]], stop: list[int]) -> list[int]:
    """The reference: one conversation, batch of one, plain transformers generate."""
    import torch

    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(
            **ids, max_new_tokens=12, do_sample=False, eos_token_id=stop, pad_token_id=0
        )
    new = out[0, ids["input_ids"].shape[1] :].tolist()
    return [t for t in new if t not in stop]


def reference(run: Path, base: Path, method: str, messages: dict[str, Any]) -> dict[str, Any]:
    """Each side generated on its own, one after the other, without the chat engine."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    tokenizer = AutoTokenizer.from_pretrained(run / "output")
    stop = [tokenizer.convert_tokens_to_ids("<|im_end|>")]
    kwargs: dict[str, Any] = {"dtype": torch.float32}
    if method == "qlora":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_compute_dtype=torch.float32,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
        )
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base, **kwargs), run / "output"
    ).eval()
    with model.disable_adapter():
        base_ids = alone(model, tokenizer, messages["base"], stop)
    return {"base": base_ids, "tuned": alone(model, tokenizer, messages["tuned"], stop)}


HISTORIES = {
    "same prompt": {"base": PROMPT, "tuned": PROMPT},
    # Different histories: different lengths, so the batch is left-padded.
    "own histories": {
        "base": [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hello there! How can I help you today?"},
            {"role": "user", "content": "What is your name?"},
        ],
        "tuned": [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi."},
            {"role": "user", "content": "What is your name?"},
        ],
    },
}


@pytest.mark.parametrize("method", ["lora", "qlora"])
@pytest.mark.parametrize("history", list(HISTORIES))
def test_mixed_batch_equals_each_side_generated_alone(
    models: dict[str, Path], method: str, history: str
) -> None:
    messages = HISTORIES[history]
    driver = Driver()
    loaded = driver.load(run=str(models[method]))
    assert loaded["event"] == "loaded", loaded
    assert (loaded["kind"], loaded["placement"], loaded["sides"]) == (
        "adapter",
        "shared",
        ["base", "tuned"],
    )
    if method == "qlora":  # the base is 4-bit, as it was trained
        assert loaded["memory"]["weights_bytes"] < float_bytes(models["base"])
    events = driver.generate(messages=messages)
    assert events[0]["event"] == "started"
    done = done_by_side(events)
    expected = reference(models[method], models["base"], method, messages)
    assert done["base"]["token_ids"] == expected["base"]
    assert done["tuned"]["token_ids"] == expected["tuned"]
    assert done["base"]["token_ids"] != done["tuned"]["token_ids"]  # the adapter does something
    # One side after the other through the engine gives the same tokens as the batch.
    sequential = done_by_side(driver.generate("s", messages=messages, mode="sequential"))
    for side in ("base", "tuned"):
        assert sequential[side]["token_ids"] == done[side]["token_ids"]


@pytest.mark.parametrize("history", list(HISTORIES))
def test_two_adapters_in_one_batch_answer_as_each_adapter_alone(
    models: dict[str, Path], history: str
) -> None:
    """Run lora2 in the base's place beside run lora: one base, two adapters, one mixed batch;
    each side's greedy tokens are its adapter's own, generated alone with plain PEFT."""
    messages = HISTORIES[history]
    driver = Driver()
    loaded = driver.load(run=str(models["lora"]), with_run=str(models["lora2"]))
    assert loaded["event"] == "loaded", loaded
    assert (loaded["kind"], loaded["placement"], loaded["with_run"]) == (
        "adapter",
        "shared",
        "lora2",
    )
    assert loaded["labels"] == {"base": "lora2", "tuned": "lora"}
    # One copy of the base: the weights of one model and two small adapters.
    assert loaded["memory"]["weights_bytes"] < 1.5 * float_bytes(models["base"])
    done = done_by_side(driver.generate(messages=messages))
    left = reference(models["lora2"], models["base"], "lora", {s: messages["base"] for s in SIDES})
    right = reference(models["lora"], models["base"], "lora", messages)
    assert done["base"]["token_ids"] == left["tuned"]
    assert done["tuned"]["token_ids"] == right["tuned"]
    assert left["tuned"] != right["tuned"]  # two different adapters
    # One side after the other (each adapter switched on in turn) gives the same tokens.
    sequential = done_by_side(driver.generate("s", messages=messages, mode="sequential"))
    for side in SIDES:
        assert sequential[side]["token_ids"] == done[side]["token_ids"]


def test_two_full_fine_tunes_load_as_two_models_each_answering_as_alone(
    models: dict[str, Path],
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    driver = Driver()
    loaded = driver.load(run=str(models["full"]), with_run=str(models["full2"]))
    assert (loaded["kind"], loaded["labels"]) == ("two-models", {"base": "full2", "tuned": "full"})
    done = done_by_side(driver.generate())
    tokenizer = AutoTokenizer.from_pretrained(models["base"])
    stop = [tokenizer.convert_tokens_to_ids("<|im_end|>")]
    for side, run in (("base", "full2"), ("tuned", "full")):
        model = AutoModelForCausalLM.from_pretrained(models[run] / "output").eval()
        assert done[side]["token_ids"] == alone(model, tokenizer, PROMPT, stop)


def test_a_lora_run_beside_a_qlora_run_shares_a_full_precision_base(
    models: dict[str, Path],
) -> None:
    loaded = Driver().load(run=str(models["lora"]), with_run=str(models["qlora"]))
    assert loaded["event"] == "loaded", loaded
    assert loaded["memory"]["weights_bytes"] >= float_bytes(models["base"])
    assert "full precision" in loaded["note"]


@pytest.mark.parametrize(
    ("run", "with_run", "words"),
    [
        ("lora", "full", "run full is a full fine-tune and run lora an adapter (lora)"),
        ("lora", "lora", "cannot be put beside itself"),
        ("lora", "other-base", "start from different base models"),
    ],
)
def test_runs_that_cannot_share_a_chat_are_refused_with_a_sentence(
    models: dict[str, Path], run: str, with_run: str, words: str
) -> None:
    other = RunDir.create("other-base", models["lora"].parent)
    save_config(RunConfig(model="another/model", method="lora"), other.config_path)
    (other.output_dir).mkdir()
    (other.output_dir / "adapter_config.json").write_text("{}")
    paths = {**models, "other-base": other.path}
    try:
        event = Driver().load(run=str(paths[run]), with_run=str(paths[with_run]))
    finally:
        shutil.rmtree(other.path)
    assert (event["event"], event["kind"]) == ("error", "bad_request"), event
    assert words in event["message"] and event["hint"]


def test_streamed_deltas_add_up_to_the_answer_and_stats_are_there(
    models: dict[str, Path],
) -> None:
    driver = Driver()
    driver.load(run=str(models["lora"]))
    events = driver.generate(settings={"max_new_tokens": 24, "seed": 7, "temperature": 1.0})
    started = events[0]
    assert started["seed"] == 7 and started["prompt_tokens"]["base"] > 0
    done = done_by_side(events)
    for side in ("base", "tuned"):
        streamed = "".join(e["text"] for e in events if e["event"] == "token" and e["side"] == side)
        assert streamed == done[side]["text"] and streamed
        stats = done[side]
        assert stats["new_tokens"] == len(stats["token_ids"]) <= 24
        assert stats["finish"] in ("eos", "length") and stats["seconds"] > 0
        assert stats["tokens_per_s"] > 0 and stats["first_token_s"] <= stats["seconds"]
        assert isinstance(stats["looped"], bool) and isinstance(stats["flags"], list)
        assert ("token_limit" in stats["flags"]) == (stats["finish"] == "length")
    # The same seed draws the same answers again.
    again = done_by_side(
        driver.generate(settings={"max_new_tokens": 24, "seed": 7, "temperature": 1.0})
    )
    assert again["tuned"]["token_ids"] == done["tuned"]["token_ids"]


def test_cancel_stops_a_long_generation(models: dict[str, Path]) -> None:
    driver = Driver()
    driver.load(run=str(models["lora"]))
    request = {
        "op": "generate",
        "id": "long",
        "messages": {"base": PROMPT, "tuned": PROMPT},
        "settings": {"greedy": True, "max_new_tokens": 3000},
    }
    driver.worker.submit(request)
    thread = threading.Thread(target=driver.worker.handle, args=(driver.worker.requests.get(),))
    thread.start()
    seen = []
    while not any(e["event"] == "token" for e in seen):
        seen.append(driver.events.get(timeout=120))
    driver.worker.submit({"op": "cancel", "id": "long"})
    thread.join(timeout=60)
    assert not thread.is_alive()
    done = done_by_side(seen + driver.drain())
    assert {d["finish"] for d in done.values()} == {"cancelled"}
    assert all(d["new_tokens"] < 3000 for d in done.values())  # stopped, not finished


def test_a_request_cancelled_while_queued_ends_at_once(models: dict[str, Path]) -> None:
    driver = Driver()
    driver.load(run=str(models["lora"]))
    driver.worker.submit(
        {"op": "generate", "id": "q", "messages": {"base": PROMPT}, "sides": ["base"]}
    )
    driver.worker.submit({"op": "cancel", "id": "q"})
    assert driver.worker.handle(driver.worker.requests.get())
    done = done_by_side(driver.drain())
    assert done["base"]["finish"] == "cancelled" and done["base"]["new_tokens"] == 0


def test_full_fine_tune_loads_two_models_answering_as_each_alone(models: dict[str, Path]) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    driver = Driver()
    loaded = driver.load(run=str(models["full"]))
    assert (loaded["kind"], loaded["placement"], loaded["method"]) == (
        "two-models",
        "together",
        "full",
    )
    assert loaded["memory"]["weights_bytes"] >= 2 * float_bytes(models["base"])
    done = done_by_side(driver.generate())
    tokenizer = AutoTokenizer.from_pretrained(models["base"])
    stop = [tokenizer.convert_tokens_to_ids("<|im_end|>")]
    for side, folder in (("base", models["base"]), ("tuned", models["full"] / "output")):
        model = AutoModelForCausalLM.from_pretrained(folder).eval()
        assert done[side]["token_ids"] == alone(model, tokenizer, PROMPT, stop)
    assert done["base"]["token_ids"] != done["tuned"]["token_ids"]


def test_the_ready_event_has_the_fields_its_type_declares() -> None:
    ready = _ready_event()
    assert not shape_problems(ready, ReadyEvent)
    assert ready["pid"] > 0 and ready["versions"]["torch"]


def test_a_model_alone_has_only_the_base_side(models: dict[str, Path]) -> None:
    driver = Driver()
    loaded = driver.load(model=str(models["base"]))
    assert (loaded["kind"], loaded["sides"], loaded["method"]) == ("base-only", ["base"], None)
    events = driver.generate(messages={"base": PROMPT}, sides=["base"])
    assert list(done_by_side(events)) == ["base"]
    [error] = driver.generate()
    assert error["kind"] == "bad_request" and "no tuned side" in error["message"]


def test_failures_are_error_events_and_the_worker_goes_on(
    models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    driver = Driver()
    [error] = driver.generate()
    assert error["event"] == "error" and error["kind"] == "not_loaded" and error["id"] == "g"
    missing = driver.load(run=str(tmp_path / "no-such-run"))
    assert missing["event"] == "error" and missing["kind"] == "missing"
    assert missing["message"].endswith(".") and missing["id"] == "load"
    driver.load(run=str(models["lora"]))
    [bad] = driver.generate(settings={"top_p": 7})
    assert bad["kind"] == "bad_request" and "top_p" in bad["message"]
    [bad] = driver.handle({"op": "dance", "id": "d"})
    assert bad["kind"] == "bad_request"

    def out_of_memory(*args: Any, **kwargs: Any) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr("tui_ft.engine.chat.generate.generate", out_of_memory)
    [oom] = driver.generate()
    assert oom["kind"] == "oom" and "out of memory while answering" in oom["message"]
    assert oom["hint"] and not oom["fatal"]

    def bug(*args: Any, **kwargs: Any) -> None:
        raise KeyError("oops")

    monkeypatch.setattr("tui_ft.engine.chat.generate.generate", bug)
    [internal] = driver.generate()
    assert internal["kind"] == "internal" and "KeyError" in internal["message"]
    monkeypatch.undo()
    assert done_by_side(driver.generate()).keys() == {"base", "tuned"}  # still answering
    unloaded = driver.handle({"op": "unload", "id": "u"})
    assert unloaded == [{"event": "unloaded", "id": "u"}]
    [error] = driver.generate()
    assert error["kind"] == "not_loaded"


def test_a_missing_adapter_is_an_error_sentence(models: dict[str, Path], tmp_path: Path) -> None:
    run = fake_run(models["base"], "lora", "broken", tmp_path / "runs")
    (run.output_dir / "adapter_config.json").unlink()
    driver = Driver()
    error = driver.load(run=str(run.path))
    assert error["event"] == "error" and error["kind"] == "missing"
    assert "adapter_config.json is missing" in error["message"]
