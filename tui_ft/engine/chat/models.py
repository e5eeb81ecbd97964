"""Loading what the chat talks to, as a Plan (tui_ft.core.chat.memory) says.

A LoRA/QLoRA run is ONE model: the base (4-bit for QLoRA, as it was trained) with the adapter
on top; the base side is the same weights with the adapter switched off per row. Beside another
adapter run of the same base (`--with`), that run's adapter is a second one on the same base,
answering for the left side. A full fine-tune is two models (beside another full fine-tune, that
one takes the base's place). The tokenizer (and its chat template) is the one saved with the
trained model when there is one: the template the model was trained with.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import torch

from tui_ft.core.chat.memory import Plan
from tui_ft.core.chat.protocol import ChatError
from tui_ft.core.chat.target import ChatTarget
from tui_ft.core.chat.wire import LoadedEvent, LoadedMemory
from tui_ft.core.errors import UserError
from tui_ft.core.models.resolve import resolve_model
from tui_ft.engine.model_loading import load_model, load_tokenizer
from tui_ft.engine.tokenize import end_of_turn_ids, ensure_chat_template

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
ADAPTER = "default"  # the name PEFT gives an adapter loaded without one
OTHER_ADAPTER = "with"  # the adapter of the run beside it (`--with`), on the left side
BASE_ROW = "__base__"  # PEFT's name for "no adapter" in a mixed-adapter batch


@dataclass
class LoadedChat:
    target: ChatTarget
    plan: Plan
    tokenizer: Any
    model: Any  # the base, or for an adapter run the PeftModel holding base + adapter
    tuned: Any | None  # a full fine-tune's own model
    stop_ids: set[int]
    pad_id: int
    template_note: str | None
    seconds: float

    @property
    def device(self) -> str:
        return self.plan.device

    @property
    def has_adapter(self) -> bool:
        return self.target.kind == "adapter"

    def adapter_for(self, side: str) -> str:
        """The PEFT adapter that answers for `side` (BASE_ROW: none)."""
        if side == "tuned":
            return ADAPTER
        return OTHER_ADAPTER if self.target.other is not None else BASE_ROW

    def model_for(self, side: str) -> Any:
        return self.tuned if side == "tuned" and self.tuned is not None else self.model

    def side_device(self, side: str) -> str:
        if self.plan.placement == "base-cpu" and side == "base":
            return "cpu"
        return self.device

    def memory(self) -> LoadedMemory:
        weights = sum(_weights_bytes(m) for m in (self.model, self.tuned) if m is not None)
        allocated = None
        if self.device.startswith("cuda"):
            allocated = torch.cuda.memory_allocated(torch.device(self.device))
        return {
            "weights_bytes": weights,
            "device_allocated_bytes": allocated,
            "rss_bytes": psutil.Process().memory_info().rss,
        }

    def loaded_event(self, request_id: str) -> LoadedEvent:
        config = self.target.config
        run = self.target.run
        notes = [n for n in (self.target.note, self.plan.note, self.template_note or "") if n]
        return {
            "event": "loaded",
            "id": request_id,
            "run": run.name if run else None,
            "run_path": str(run.path) if run else None,
            "model": config.model,
            "method": None if self.target.kind == "base-only" else config.method,
            "kind": self.target.kind,
            "sides": list(self.target.sides),
            "tuned_path": str(self.target.tuned_path) if self.target.tuned_path else None,
            "device": self.device,
            "placement": self.plan.placement,
            "dtype": self.plan.precision,
            "memory": self.memory(),
            "estimate": self.plan.as_dict(),
            "system_prompt": config.system_prompt,
            "note": " ".join(notes),
            "seconds": round(self.seconds, 2),
            "labels": self.target.labels,
            "with_run": self.target.other.label if self.target.other is not None else None,
        }


def load_chat(target: ChatTarget, plan: Plan) -> LoadedChat:
    started = time.perf_counter()
    config = target.config
    try:
        base_ref = resolve_model(config.model)
    except UserError as err:
        raise ChatError("missing", err.message, err.hint) from None
    tokenizer, note = _tokenizer(target, base_ref)
    dtype = DTYPES[plan.precision]
    quantize = None
    if target.quantized_base:
        quantize = {
            "bnb_4bit_quant_type": config.qlora.quant_type,
            "bnb_4bit_use_double_quant": config.qlora.double_quant,
        }
    base_device = _home_device(plan, "base")
    left_ref, left = base_ref, "the base model"
    if target.kind == "two-models" and target.other is not None:  # another full fine-tune
        left_ref, left = resolve_model(str(target.other.tuned_path)), f"run {target.other.label}"
    model = _loaded(
        left,
        lambda: load_model(
            left_ref,
            dtype=torch.float32 if base_device == "cpu" and plan.placement == "base-cpu" else dtype,
            quantize_4bit=quantize,
            trust_remote_code=config.trust_remote_code,
            device=base_device,
        ),
    )
    tuned = None
    if target.kind == "adapter":
        model = _loaded("the adapter", lambda: _with_adapter(model, target.tuned_path))
        if target.other is not None:
            _with_other_adapter(model, target.other)
    elif target.kind == "two-models":
        tuned_ref = resolve_model(str(target.tuned_path))
        tuned = _loaded(
            "the tuned model",
            lambda: load_model(
                tuned_ref,
                dtype=dtype,
                trust_remote_code=config.trust_remote_code,
                device=_home_device(plan, "tuned"),
            ),
        )
        # The same generation defaults on both sides, whatever the tuned folder saved.
        tuned.generation_config = model.generation_config
        tuned.eval()
    model.eval()
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id
    return LoadedChat(
        target=target,
        plan=plan,
        tokenizer=tokenizer,
        model=model,
        tuned=tuned,
        stop_ids=stop_ids(tokenizer, model),
        pad_id=int(pad_id if pad_id is not None else 0),
        template_note=note,
        seconds=time.perf_counter() - started,
    )


def stop_ids(tokenizer: Any, model: Any) -> set[int]:
    """Every token that ends a turn: the tokenizer's EOS, the template's end-of-turn tokens and
    the model's generation config's EOS ids."""
    ids = set(end_of_turn_ids(tokenizer))
    configured = getattr(model.generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif isinstance(configured, list):
        ids.update(i for i in configured if isinstance(i, int))
    return ids


def unload(chat: LoadedChat | None) -> None:
    if chat is None:
        return
    chat.model = chat.tuned = None
    gc.collect()
    if torch.cuda.is_available() and chat.device.startswith("cuda"):
        torch.cuda.empty_cache()


def _home_device(plan: Plan, side: str) -> str:
    """Where a model lives between answers: in `sequential`, both wait in RAM."""
    if plan.placement == "sequential" and plan.device != "cpu":
        return "cpu"
    if plan.placement == "base-cpu" and side == "base":
        return "cpu"
    return plan.device


def _tokenizer(target: ChatTarget, base_ref: Any) -> tuple[Any, str | None]:
    """The tokenizer saved with the trained model (its chat template is the trained one)."""
    from transformers import AutoTokenizer

    folder = target.tuned_path
    if folder is not None and (Path(folder) / "tokenizer_config.json").is_file():
        tokenizer = _loaded("the tokenizer", lambda: AutoTokenizer.from_pretrained(str(folder)))
    else:
        tokenizer = load_tokenizer(base_ref, target.config.trust_remote_code)
    return tokenizer, ensure_chat_template(tokenizer)


def _with_adapter(model: Any, folder: Path | None) -> Any:
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(folder), adapter_name=ADAPTER)


def _with_other_adapter(model: Any, other: ChatTarget) -> None:
    """The run beside it (`with_run`): its adapter on the same base, under its own name."""
    folder = str(other.tuned_path)
    _loaded(
        f"the adapter of run {other.label}",
        lambda: model.load_adapter(folder, adapter_name=OTHER_ADAPTER),
    )


def _loaded(what: str, load: Any) -> Any:
    """Loading errors as sentences: out of memory, or files that will not load."""
    try:
        return load()
    except torch.OutOfMemoryError as err:
        raise ChatError(
            "oom",
            f"out of memory while loading {what}: {_first_line(err)}",
            "Pick the CPU, another GPU, or unload what else holds memory there.",
        ) from None
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise ChatError(
            "load",
            f"cannot load {what}: {_first_line(err)}",
            "Check that its folder is complete (weights, config, tokenizer).",
        ) from None


def _weights_bytes(model: Any) -> int:
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
