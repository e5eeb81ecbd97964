"""Load tokenizers (and, for the trainer and chat, models) from a ResolvedModel."""

from __future__ import annotations

from typing import Any

from tui_ft.core.errors import UserError
from tui_ft.core.models import ResolvedModel


def load_tokenizer(model: ResolvedModel, trust_remote_code: bool = False) -> Any:
    from transformers import AutoTokenizer

    if model.is_demo and model.needs_conversion:
        # The demo's GGUF parses slowly (~7 s for the tokenizer alone); convert it once.
        from tui_ft.engine.demo_model import prepare_demo_model

        return AutoTokenizer.from_pretrained(prepare_demo_model())
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
