"""Base and tuned from one copy of the base, one side at a time.

A LoRA/QLoRA run is the base (4-bit for QLoRA, as trained) with the adapter on top: the base
side is the same weights with the adapter switched off (PEFT's `disable_adapter`), the tuned
side with it on. A full fine-tune's tuned model is its own whole model (output/): the base is
evaluated first and let go before the tuned weights load, so one model is in memory at a time.
The tokenizer is the one saved with the trained model (its chat template is the trained one).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tui_ft.core.chat.memory import Plan
from tui_ft.core.chat.target import ChatTarget
from tui_ft.core.errors import UserError
from tui_ft.core.methods import method_named
from tui_ft.core.models.resolve import ResolvedModel, resolve_model
from tui_ft.engine.model_loading import load_model, load_tokenizer

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
SIDES = ("base", "tuned")


@dataclass
class EvalModels:
    target: ChatTarget
    plan: Plan
    tokenizer: Any
    chat_model: bool  # the tokenizer has a chat template of its own
    _model: Any = None
    _tuned_loaded: bool = False

    @contextlib.contextmanager
    def side(self, side: str) -> Iterator[Any]:
        """The model answering as `side` while the block runs."""
        if self.target.kind == "adapter":
            if side == "base":
                with self._model.disable_adapter():
                    yield self._model
            else:
                yield self._model
            return
        if side == "tuned" and not self._tuned_loaded:
            self._swap_to_tuned()
        yield self._model

    def _swap_to_tuned(self) -> None:
        self._model = None
        gc.collect()
        if self.plan.device.startswith("cuda"):
            torch.cuda.empty_cache()
        tuned = resolve_model(str(self.target.tuned_path))
        self._model = _loaded("the tuned model", lambda: self._load(tuned))
        self._tuned_loaded = True

    def _load(self, ref: ResolvedModel, quantize: dict[str, Any] | None = None) -> Any:
        model = load_model(
            ref,
            dtype=DTYPES[self.plan.precision],
            quantize_4bit=quantize,
            trust_remote_code=self.target.config.trust_remote_code,
            device=self.plan.device,
        )
        return model.eval()


def load_models(target: ChatTarget, plan: Plan) -> EvalModels:
    config = target.config
    base_ref = resolve_model(config.model)
    tokenizer = _tokenizer(target, base_ref)
    models = EvalModels(target, plan, tokenizer, bool(getattr(tokenizer, "chat_template", None)))
    quantize = None
    if method_named(config.method).quantized and target.kind == "adapter":
        quantize = {
            "bnb_4bit_quant_type": config.qlora.quant_type,
            "bnb_4bit_use_double_quant": config.qlora.double_quant,
        }
    model = _loaded("the base model", lambda: models._load(base_ref, quantize))
    if target.kind == "adapter":
        from peft import PeftModel

        model = _loaded(
            "the adapter", lambda: PeftModel.from_pretrained(model, str(target.tuned_path))
        )
        model.eval()
    models._model = model
    return models


def _tokenizer(target: ChatTarget, base_ref: ResolvedModel) -> Any:
    from transformers import AutoTokenizer

    folder = target.tuned_path
    if folder is not None and (Path(folder) / "tokenizer_config.json").is_file():
        return _loaded("the tokenizer", lambda: AutoTokenizer.from_pretrained(str(folder)))
    return load_tokenizer(base_ref, target.config.trust_remote_code)


def _loaded(what: str, load: Any) -> Any:
    try:
        return load()
    except torch.OutOfMemoryError as err:
        raise UserError(
            f"out of memory while loading {what}: {_first_line(err)}",
            "Evaluate on the CPU (--device cpu) or another GPU, or wait for the memory to free.",
        ) from None
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise UserError(
            f"cannot load {what}: {_first_line(err)}",
            "Check that its folder is complete (weights, config, tokenizer).",
        ) from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
