"""Answering one generate request on both sides with the same template, system prompt,
sampling settings and seed.

LoRA/QLoRA: both sides in ONE batch of the one model, the base row with PEFT's `__base__`
adapter name (or, beside another run, that run's adapter) and the tuned row with the adapter (a
mixed-adapter batch), left-padded so each side keeps its own history; both stream at once. A full fine-tune's two models answer one after
the other (in `sequential` placement each visits the GPU in turn). `mode="sequential"` makes an
adapter run answer one side after the other too (for comparison and for DoRA adapters, which
PEFT cannot mix in one batch).
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from transformers import GenerationConfig, StoppingCriteriaList

from tui_ft.core.chat.protocol import SamplingSettings
from tui_ft.core.chat.wire import ChatMessage
from tui_ft.core.datasets.load import Message
from tui_ft.engine.chat.models import ADAPTER, BASE_ROW, LoadedChat
from tui_ft.engine.chat.stream import BatchStreamer, CancelCriteria, Emit
from tui_ft.engine.tokenize import render, with_system_prompt

SEED_RANGE = 2**31 - 1


@dataclass
class Job:
    request_id: str
    sides: list[str]
    messages: dict[str, list[ChatMessage]]
    settings: SamplingSettings
    cancel: threading.Event
    token_ids: bool = False  # add each answer's token ids to its `done` event


def generate(chat: LoadedChat, job: Job, emit: Emit, mode: str | None = None) -> None:
    """Stream `token` events and one `done` per side through `emit`, after a `started`."""
    settings = job.settings
    seed = settings.seed if settings.seed is not None else random.randrange(SEED_RANGE)
    system_prompt = settings.system_prompt
    if system_prompt is None:
        system_prompt = chat.target.config.system_prompt
    prompts = {side: prompt_ids(chat, job.messages[side], system_prompt) for side in job.sides}
    emit(
        {
            "event": "started",
            "id": job.request_id,
            "sides": job.sides,
            "prompt_tokens": {side: len(ids) for side, ids in prompts.items()},
            "seed": seed,
        }
    )
    if job.cancel.is_set():  # cancelled while it waited in the queue
        for side in job.sides:
            _run_cancelled(chat, job, side, emit)
        return
    config = generation_config(chat, settings)
    mode = mode or ("sequential" if chat.plan.placement == "sequential" else "batch")
    if chat.has_adapter and mode == "batch" and not _uses_dora(chat.model):
        _run(chat, chat.model, job, prompts, job.sides, config, seed, emit, mixed=True)
        return
    for side in job.sides:
        if job.cancel.is_set():
            _run_cancelled(chat, job, side, emit)
            continue
        model = chat.model_for(side)
        with _on_device(chat, model), _adapter_off(chat, side):
            _run(chat, model, job, prompts, [side], config, seed, emit, mixed=False)


def prompt_ids(chat: LoadedChat, messages: list[ChatMessage], system: str | None) -> list[int]:
    """The conversation through the chat template, as in training (tui_ft.engine.tokenize)."""
    turns = with_system_prompt([Message(m["role"], m["content"]) for m in messages], system)
    text = render(chat.tokenizer, turns, generation_prompt=True)
    return list(chat.tokenizer(text, add_special_tokens=False)["input_ids"])


def generation_config(chat: LoadedChat, settings: SamplingSettings) -> GenerationConfig:
    """Every sampling knob set explicitly, so the model's own defaults cannot make the sides
    differ (a full fine-tune's two folders may carry different generation configs)."""
    config = GenerationConfig.from_dict(chat.model.generation_config.to_dict())
    sampling: dict[str, Any] = {"do_sample": settings.samples}
    if settings.samples:
        sampling.update(temperature=settings.temperature, top_p=settings.top_p, top_k=0)
    config.update(
        max_new_tokens=settings.max_new_tokens,
        repetition_penalty=settings.repetition_penalty,
        eos_token_id=sorted(chat.stop_ids),
        pad_token_id=chat.pad_id,
        **sampling,
    )
    return config


def _run(
    chat: LoadedChat,
    model: Any,
    job: Job,
    prompts: dict[str, list[int]],
    sides: list[str],
    config: GenerationConfig,
    seed: int,
    emit: Emit,
    mixed: bool,
) -> None:
    device = next(model.parameters()).device
    input_ids, attention = left_padded([prompts[s] for s in sides], chat.pad_id, device)
    streamer = BatchStreamer(
        chat.tokenizer,
        job.request_id,
        sides,
        chat.stop_ids,
        job.settings.max_new_tokens,
        job.cancel,
        emit,
        with_ids=job.token_ids,
    )
    extra: dict[str, Any] = {}
    if mixed:
        extra["adapter_names"] = [chat.adapter_for(s) for s in sides]
    torch.manual_seed(seed)  # the same draws on both sides when they run one after the other
    with torch.inference_mode():
        model.generate(
            input_ids=input_ids,
            attention_mask=attention,
            generation_config=config,
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([CancelCriteria(job.cancel)]),
            **extra,
        )
    if not streamer.finished:  # generate() returned without calling end() (it always should)
        streamer.end()


def _run_cancelled(chat: LoadedChat, job: Job, side: str, emit: Emit) -> None:
    """A side cancelled before it began: done at once, with nothing said."""
    streamer = BatchStreamer(chat.tokenizer, job.request_id, [side], set(), 1, job.cancel, emit)
    streamer.end()


def left_padded(
    rows: list[list[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of different lengths, padded on the left so every row's next token is at the end."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row) :] = 1
    return ids.to(device), mask.to(device)


@contextlib.contextmanager
def _on_device(chat: LoadedChat, model: Any) -> Iterator[None]:
    """In `sequential` placement a full fine-tune's model visits the GPU only to answer."""
    move = chat.plan.placement == "sequential" and chat.device != "cpu"
    if move:
        model.to(chat.device)
    try:
        yield
    finally:
        if move:
            model.to("cpu")
            torch.cuda.empty_cache()


@contextlib.contextmanager
def _adapter_off(chat: LoadedChat, side: str) -> Iterator[None]:
    """One side at a time on an adapter run: the base side is the same weights with the adapter
    off, or beside another run, with that run's adapter on instead."""
    adapter = chat.adapter_for(side) if chat.has_adapter else ADAPTER
    if adapter == BASE_ROW:
        with chat.model.disable_adapter():
            yield
    elif adapter != ADAPTER:
        chat.model.set_adapter(adapter, inference_mode=True)
        try:
            yield
        finally:
            chat.model.set_adapter(ADAPTER, inference_mode=True)
    else:
        yield


def _uses_dora(model: Any) -> bool:
    configs = getattr(model, "peft_config", {}).values()
    return any(getattr(config, "use_dora", False) for config in configs)
