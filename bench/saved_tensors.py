"""Measure, on the CPU, the bytes autograd saves for backward during one training forward.

A tiny random Llama/Qwen2 model is built from a config dict, set up the way the trainer sets up
its model (PEFT LoRA, bitsandbytes 4-bit, gradient checkpointing, autocast, TRL's fused LM head),
and one forward runs under `torch.autograd.graph.saved_tensors_hooks`: the sum of the unique
storages saved (parameters excluded: they are the weights term) is the activation + loss memory
the estimator predicts as `Activations.saved`. Used by tests/test_estimate_calibration.py and
`bench/vram_accuracy.py --cpu-calibration`.
"""

from __future__ import annotations

import json
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.estimate.peak import EstimateOptions, Target, estimate_training
from tui_ft.core.models.info import ModelInfo, read_model_info
from tui_ft.core.models.resolve import resolve_model


@dataclass(frozen=True)
class Case:
    """One calibration point: a model shape and the run settings that shape activations."""

    label: str
    config: dict[str, Any]
    method: str = "lora"
    precision: str = "bf16"
    batch_size: int = 2
    max_length: int = 128
    gradient_checkpointing: bool = False
    lora_dropout: float = 0.05
    dora: bool = False
    attention: str = "sdpa"
    loss: str = "fused"
    padding_free: bool = False


def tiny_config(kind: str = "llama", **sizes: Any) -> dict[str, Any]:
    """A config.json dict for a small random model of the Llama or Qwen2 family."""
    base: dict[str, Any] = {
        "vocab_size": 1000,
        "hidden_size": 256,
        "intermediate_size": 688,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
    }
    if kind == "qwen2":
        base |= {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}
        base["tie_word_embeddings"] = True
    else:
        base |= {"model_type": "llama", "architectures": ["LlamaForCausalLM"]}
        base["tie_word_embeddings"] = False
    return base | sizes


def model_info(config: dict[str, Any]) -> ModelInfo:
    """ModelInfo read the way `tui-ft estimate --model config.json` reads it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        return read_model_info(resolve_model(str(path), allow_download=False))


def run_config(case: Case) -> RunConfig:
    config = RunConfig(
        method=case.method,
        precision=case.precision,
        batch_size=case.batch_size,
        max_length=case.max_length,
        gradient_checkpointing=case.gradient_checkpointing,
    )
    config.lora.rank = 8
    config.lora.alpha = 16
    config.lora.dropout = case.lora_dropout
    config.lora.dora = case.dora
    return config


def predicted_saved_bytes(case: Case) -> int:
    options = EstimateOptions(
        attention=case.attention, loss=case.loss, padding_free=case.padding_free
    )
    target = Target(device="cpu", bf16=True, available=None, name="CPU")
    result = estimate_training(model_info(case.config), run_config(case), target, options)
    return result.activations.saved


def measured_saved_bytes(case: Case) -> int:
    """Build the model, run one forward, return the unique bytes saved for backward."""
    import torch
    from torch.autograd.graph import saved_tensors_hooks

    model = _build(case)
    skip = {p.untyped_storage().data_ptr() for p in model.parameters()}
    skip |= {b.untyped_storage().data_ptr() for b in model.buffers()}
    # Weak references: a tensor saved by a branch the forward then drops (DoRA's detached
    # weight norm) is freed before the backward, and its address may be reused.
    saved: list[tuple[int, int, weakref.ref[torch.Tensor]]] = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in skip:
            saved.append((storage.data_ptr(), storage.nbytes(), weakref.ref(tensor)))
        return tensor

    inputs = _inputs(case, model.config.vocab_size)
    dtype = torch.bfloat16 if case.precision == "bf16" else torch.float32
    with (
        saved_tensors_hooks(pack, lambda tensor: tensor),
        torch.autocast("cpu", dtype=dtype, enabled=case.precision != "fp32"),
    ):
        output = model(**inputs)
    alive: dict[int, int] = {}
    for pointer, size, ref in saved:
        if ref() is not None:
            alive[pointer] = max(size, alive.get(pointer, 0))
    del output  # no backward needed: dropping the graph frees what it saved
    return sum(alive.values())


def _inputs(case: Case, vocab: int) -> dict[str, Any]:
    import torch

    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, vocab, (case.batch_size, case.max_length), generator=generator)
    inputs: dict[str, Any] = {"use_cache": False}
    if case.padding_free:
        # TRL's padding-free collator: every row in one, positions restarting per row.
        positions = torch.arange(case.max_length).repeat(case.batch_size)
        ids = ids.reshape(1, -1)
        inputs["position_ids"] = positions.reshape(1, -1)
    elif case.batch_size > 1:
        # Padded rows of unequal length (the estimate assumes they differ): the last row is a
        # quarter shorter, so transformers builds an attention mask.
        mask = torch.ones_like(ids)
        mask[-1, -(case.max_length // 4) :] = 0
        inputs["attention_mask"] = mask
    inputs |= {"input_ids": ids, "labels": ids.clone()}
    if case.loss == "fused":
        inputs["fused_lm_head"] = True
    return inputs


def _build(case: Case) -> Any:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(0)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    config = AutoConfig.for_model(**case.config)
    kwargs: dict[str, Any] = {"dtype": dtype[case.precision], "attn_implementation": case.attention}
    if case.method == "qlora":
        model = _quantized(config, kwargs)
    else:
        model = AutoModelForCausalLM.from_config(config, **kwargs)
    model.train()
    if case.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if case.loss == "fused":
        from trl.trainer.utils import add_fused_lm_head

        add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    if case.method == "full":
        return model
    return _with_lora(model, case)


def _quantized(config: Any, kwargs: dict[str, Any]) -> Any:
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    # from_config cannot quantize; save random weights once and load them back in 4-bit.
    with tempfile.TemporaryDirectory() as folder:
        AutoModelForCausalLM.from_config(config, dtype=kwargs["dtype"]).save_pretrained(folder)
        quant = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        return AutoModelForCausalLM.from_pretrained(folder, quantization_config=quant, **kwargs)


def _with_lora(model: Any, case: Case) -> Any:
    import torch
    from peft import LoraConfig, get_peft_model

    config = run_config(case)
    lora = LoraConfig(
        r=config.lora.rank,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules="all-linear",
        use_dora=config.lora.dora,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    if case.gradient_checkpointing:
        model.enable_input_require_grads()
    if case.method == "qlora":
        # What TRL's SFTTrainer does to a quantized model's adapters (DoRA magnitude excepted).
        for name, param in model.named_parameters():
            if param.requires_grad and "lora_magnitude_vector" not in name:
                param.data = param.data.to(torch.bfloat16)
    return model


def compare(case: Case) -> tuple[int, int, float]:
    """(predicted, measured, relative error of the prediction)."""
    predicted, measured = predicted_saved_bytes(case), measured_saved_bytes(case)
    return predicted, measured, (predicted - measured) / measured


def default_cases() -> list[Case]:
    """The calibration grid: both families, each method, precision and memory switch."""
    llama, qwen = tiny_config("llama"), tiny_config("qwen2")
    wide = tiny_config("llama", hidden_size=384, intermediate_size=1024, num_attention_heads=6)
    cases = [
        Case("llama full bf16", llama, method="full"),
        Case("llama full fp32", llama, method="full", precision="fp32"),
        Case("llama lora bf16", llama),
        Case("llama lora fp32", llama, precision="fp32"),
        Case("llama lora bf16 no-dropout", llama, lora_dropout=0.0),
        Case("llama lora bf16 ckpt", llama, gradient_checkpointing=True),
        Case("llama full bf16 ckpt", llama, method="full", gradient_checkpointing=True),
        Case("llama lora bf16 eager", llama, attention="eager"),
        Case("llama lora bf16 full-loss", llama, loss="unfused"),
        Case("llama lora bf16 padding-free", llama, padding_free=True, batch_size=4),
        Case("llama dora bf16", llama, dora=True),
        Case("llama qlora bf16", llama, method="qlora"),
        Case("qwen2 full bf16", qwen, method="full"),
        Case("qwen2 lora bf16", qwen),
        Case("qwen2 lora bf16 b4 s256", qwen, batch_size=4, max_length=256),
        Case("wide llama lora bf16", wide, max_length=256),
    ]
    return cases
