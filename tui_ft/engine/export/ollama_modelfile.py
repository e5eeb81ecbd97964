"""The Modelfile of an Ollama export: the run's chat template rebuilt as an Ollama TEMPLATE (see
core/ollama_template), the tokens Ollama must stop at, and the run's system prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_ft.core.export.ollama_template import (
    Message,
    chat_format,
    create_command,
    go_template,
    modelfile,
    ollama_model_name,
    turn_opener,
)
from tui_ft.engine.export.gguf_tokenizer import adds_special_tokens, end_of_turn_id
from tui_ft.engine.export.merge import ExportJob
from tui_ft.engine.tokenize import end_of_turn_ids

MODELFILE = "Modelfile"


def write_modelfile(job: ExportJob, tokenizer: Any, folder: Path, gguf_name: str) -> dict[str, Any]:
    """Write `folder`/Modelfile next to the GGUF; return what the report says about it."""
    fmt = chat_format(_renderer(tokenizer), tokenizer.bos_token)
    adds_bos, _ = adds_special_tokens(tokenizer)
    stops = stop_tokens(tokenizer, turn_opener(fmt, special_tokens(tokenizer)))
    name = ollama_model_name(job.run.name)
    command = create_command(name, job.out / MODELFILE)
    how = "rebuilt exactly" if fmt.exact else "a best effort"
    header = [
        f"Written by tui-ft for run {job.run.name}: {fmt.style} chat template, {how}.",
        "Import it into Ollama with:",
        f"  {command}",
    ]
    text = modelfile(
        gguf_file=gguf_name,
        # llama.cpp adds BOS itself when the GGUF says so; the template must not add another.
        template=go_template(fmt, lead=not adds_bos),
        stops=stops,
        system=job.config.system_prompt,
        header=header,
    )
    (folder / MODELFILE).write_text(text, encoding="utf-8")
    return {
        "name": name,
        "modelfile": str(job.out / MODELFILE),
        "command": command,
        "template_style": fmt.style,
        "template_exact": fmt.exact,
        "template_note": fmt.note,
        "stops": stops,
        "system_prompt": bool(job.config.system_prompt),
    }


def stop_tokens(tokenizer: Any, opener: str | None) -> list[str]:
    """The end-of-turn token first (the one a chat model closes its answer with), then EOS and
    any other turn-closing token, then the token that opens a new turn."""
    first = end_of_turn_id(tokenizer)
    ids = [first, tokenizer.eos_token_id, *sorted(end_of_turn_ids(tokenizer))]
    tokens = [tokenizer.convert_ids_to_tokens(i) for i in ids if isinstance(i, int)]
    return list(dict.fromkeys(t for t in [*tokens, opener] if t))


def special_tokens(tokenizer: Any) -> list[str]:
    # Turn markers such as Llama 3's <|start_header_id|> are special added tokens without
    # being among the tokenizer's named special tokens.
    added = [t.content for t in tokenizer.added_tokens_decoder.values() if t.special]
    return list(dict.fromkeys([*tokenizer.all_special_tokens, *added]))


def _renderer(tokenizer: Any) -> Any:
    from jinja2 import TemplateError

    def render(messages: list[Message], generation_prompt: bool) -> str:
        try:
            return tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=generation_prompt
            )
        except TemplateError as err:  # raise_exception() in the template: "roles must alternate"
            raise ValueError(str(err)) from err

    return render
