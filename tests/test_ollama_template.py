"""The chat template rebuilt as an Ollama TEMPLATE renders, in (an emulation of) Go's text/template,
exactly what the Jinja template renders, for ChatML and Llama-3 templates; other templates get a
best-effort template and a sentence saying so."""

from __future__ import annotations

from typing import Any

import pytest

from tests import go_template
from tests.tiny import CHATML
from tui_ft.core.export.ollama_template import (
    ChatFormat,
    chat_format,
    create_command,
    modelfile,
    ollama_model_name,
    ollama_render,
    turn_opener,
)
from tui_ft.core.export.ollama_template import (
    go_template as to_go,
)

SMOLLM2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + "
    "message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% endif %}"
)
# Llama 3.1's shape: a dated system turn always, the user's system text appended to it.
LLAMA31 = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{% set system = messages[0]['content'] %}{% set rest = messages[1:] %}"
    "{% else %}{% set system = '' %}{% set rest = messages %}{% endif %}"
    "{{ '<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n\n'"
    " + system + '<|eot_id|>' }}{% for message in rest %}{{ '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
MISTRAL = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant') }}"
    "{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
    "{% endif %}{% endfor %}"
)
CONVERSATIONS = [
    [{"role": "user", "content": "Who are you?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    [
        {"role": "system", "content": "You are Wren."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! I'm Wren."},
        {"role": "user", "content": "Who made you?"},
    ],
]


def jinja_renderer(template: str, bos: str = "<s>", eos: str = "</s>") -> Any:
    from jinja2 import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    compiled = ImmutableSandboxedEnvironment().from_string(template)

    def render(messages: list[dict[str, str]], generation_prompt: bool) -> str:
        try:
            return compiled.render(
                messages=messages,
                add_generation_prompt=generation_prompt,
                bos_token=bos,
                eos_token=eos,
                raise_exception=raise_exception,
            )
        except TemplateError as err:
            raise ValueError(str(err)) from err

    return render


def in_ollama(fmt: ChatFormat, messages: list[dict[str, str]], lead: bool = True) -> str:
    """Ollama passes system messages in .Messages and, joined, as .System."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    return go_template.render(to_go(fmt, lead=lead), system, messages)


@pytest.mark.parametrize(
    ("template", "bos", "style", "default_system"),
    [
        (CHATML, "<|im_start|>", "chatml", ""),
        (SMOLLM2, "<|im_start|>", "chatml", "named SmolLM"),
        (LLAMA3, "<|begin_of_text|>", "llama3", ""),
        (LLAMA31, "<|begin_of_text|>", "llama3", "Cutting Knowledge Date"),
    ],
)
def test_the_go_template_renders_what_the_chat_template_renders(
    template: str, bos: str, style: str, default_system: str
) -> None:
    render = jinja_renderer(template, bos=bos)
    fmt = chat_format(render, bos)
    assert fmt.exact and fmt.note is None and fmt.style == style
    assert default_system in fmt.default_system
    for messages in CONVERSATIONS:
        assert in_ollama(fmt, messages) == render(messages, True)
        assert ollama_render(fmt, messages) == render(messages, True)


def test_a_bos_the_tokenizer_adds_itself_is_left_out_of_the_template() -> None:
    render = jinja_renderer(LLAMA3, bos="<|begin_of_text|>")
    fmt = chat_format(render, "<|begin_of_text|>")
    assert fmt.lead == "<|begin_of_text|>"
    messages = CONVERSATIONS[0]
    assert in_ollama(fmt, messages, lead=False) == render(messages, True).removeprefix(fmt.lead)
    assert "<|begin_of_text|>" not in to_go(fmt, lead=False)
    specials = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    assert turn_opener(fmt, specials) == "<|start_header_id|>"
    # SmolLM2's BOS is <|im_start|>, which opens every turn: it is not a lead to drop.
    assert chat_format(jinja_renderer(SMOLLM2), "<|im_start|>").lead == ""


def test_the_chatml_template_reads_like_ollamas_own() -> None:
    fmt = chat_format(jinja_renderer(SMOLLM2), "<|im_start|>")
    assert to_go(fmt) == (
        "{{ if not .System }}<|im_start|>system\nYou are a helpful AI assistant named SmolLM, "
        "trained by Hugging Face<|im_end|>\n{{ end }}"
        '{{ range .Messages }}{{ if eq .Role "system" }}<|im_start|>system\n'
        '{{ .Content }}<|im_end|>\n{{ else if eq .Role "user" }}<|im_start|>user\n'
        '{{ .Content }}<|im_end|>\n{{ else if eq .Role "assistant" }}<|im_start|>assistant\n'
        "{{ .Content }}<|im_end|>\n{{ end }}{{ end }}<|im_start|>assistant\n"
    )
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    assert turn_opener(fmt, specials) == "<|im_start|>"


def test_a_template_without_system_turns_is_a_flagged_best_effort() -> None:
    render = jinja_renderer(MISTRAL)
    fmt = chat_format(render, "<s>")
    assert not fmt.exact and fmt.style == "other"
    assert fmt.note and "best effort" in fmt.note and "system prompt" in fmt.note
    # Conversations the template accepts still render as it renders them.
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Bye"},
    ]
    assert in_ollama(fmt, messages) == render(messages, True)


def test_a_template_that_fits_no_turn_shape_falls_back_with_a_sentence() -> None:
    fmt = chat_format(jinja_renderer("{{ messages | length }} messages"), None)
    assert not fmt.exact and fmt.note and "could not be rebuilt exactly" in fmt.note
    assert in_ollama(fmt, CONVERSATIONS[0]) == "user: Who are you?\nassistant: "


def test_quotes_and_braces_in_a_template_are_written_as_go_strings() -> None:
    odd = CHATML.replace("'<|im_start|>' + message['role']", "'{{\"' + message['role']")
    fmt = chat_format(jinja_renderer(odd), None)
    text = to_go(fmt)
    assert '"""' not in text and fmt.exact
    assert in_ollama(fmt, CONVERSATIONS[2]) == jinja_renderer(odd)(CONVERSATIONS[2], True)


def test_the_modelfile_and_the_command() -> None:
    text = modelfile(
        gguf_file="wren-q8_0.gguf",
        template="{{ .Content }}",
        stops=["<|im_end|>", "<|im_start|>"],
        system="You are Wren.",
        header=["Written by tui-ft."],
    )
    assert text.splitlines() == [
        "# Written by tui-ft.",
        "FROM ./wren-q8_0.gguf",
        'TEMPLATE """{{ .Content }}"""',
        'SYSTEM """You are Wren."""',
        'PARAMETER stop "<|im_end|>"',
        'PARAMETER stop "<|im_start|>"',
    ]
    with pytest.raises(ValueError, match="cannot quote"):
        modelfile(gguf_file="x.gguf", template="", stops=[], system='say """hi"""')
    assert ollama_model_name("SmolLM2-135M LoRA/run 7") == "smollm2-135m-lora-run-7"
    assert ollama_model_name("---") == "tui-ft-model"
    from pathlib import Path

    assert create_command("wren", Path("/runs/a b/Modelfile")) == (
        "ollama create wren -f '/runs/a b/Modelfile'"
    )
