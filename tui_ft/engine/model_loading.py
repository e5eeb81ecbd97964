"""Load tokenizers (and, for the trainer and chat, models) from a ResolvedModel."""

from __future__ import annotations

from typing import Any

from tui_ft.core.errors import UserError
from tui_ft.core.estimate.batching import flash_attention_installed
from tui_ft.core.models.resolve import ResolvedModel


def load_tokenizer(model: ResolvedModel, trust_remote_code: bool = False) -> Any:
    from transformers import AutoTokenizer

    if model.is_demo and model.needs_conversion:
        # The demo's GGUF parses slowly (~7 s for the tokenizer alone); convert it once.
        return AutoTokenizer.from_pretrained(weights_folder(model))
    try:
        if model.gguf_file:
            return AutoTokenizer.from_pretrained(
                model.gguf_file.parent,
                gguf_file=model.gguf_file.name,
                trust_remote_code=trust_remote_code,
            )
        return AutoTokenizer.from_pretrained(model.path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise UserError(
            f"cannot load the tokenizer of {model.description}: {err}",
            "Check that the model folder has tokenizer.json or tokenizer_config.json.",
        ) from err


def weights_folder(model: ResolvedModel) -> str:
    """A folder from_pretrained loads fast: GGUFs are converted once, hub weights fetched."""
    from tui_ft.core.models.resolve import download_model
    from tui_ft.engine.demo_model import ensure_converted

    return str(ensure_converted(download_model(model)))


def load_model(
    model: ResolvedModel,
    *,
    dtype: Any,
    quantize_4bit: dict[str, Any] | None = None,
    trust_remote_code: bool = False,
    device: str | None = None,
) -> Any:
    """The causal LM in `dtype`; with `quantize_4bit` (bitsandbytes settings) its linear layers
    are NF4/FP4 and `dtype` is their compute dtype. `device` ("cpu", "cuda:1"): load straight
    onto it (a 4-bit model is quantized there); None leaves the placement to the caller."""
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    on_cpu = device is not None and device.startswith("cpu")
    flash = not on_cpu and torch.cuda.is_available() and flash_attention_installed()
    kwargs: dict[str, Any] = {
        "dtype": dtype,
        "trust_remote_code": trust_remote_code,
        "attn_implementation": "flash_attention_2" if flash else "sdpa",
    }
    if quantize_4bit is not None:
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_compute_dtype=dtype, **quantize_4bit
        )
    if device is not None and not on_cpu:  # the CPU is from_pretrained's own default
        kwargs["device_map"] = {"": device}
    return AutoModelForCausalLM.from_pretrained(weights_folder(model), **kwargs)
