"""'Use it': the exact commands that run an export (and a LoRA run's adapter) in the tools
people run models with: Ollama, llama.cpp's server, llama-cpp-python's server, vLLM, and
transformers/peft in Python. Pure Python: `tui-ft export` puts them in its report (`use`),
prints them, and the Export screen shows them.

Each entry is a dict: `tool`, `what` (one sentence), `commands` (shell lines, paths quoted) or
`snippet` (Python), and for a command that starts one server, `argv` (the same command as a
list, which the tests run).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

LLAMA_SERVER_PORT = 8080  # llama.cpp's own default
LLAMA_CPP_PYTHON_PORT = 8000  # llama-cpp-python's server's default
VLLM_PORT = 8000


@dataclass(frozen=True)
class UseContext:
    """What the commands need beyond the report."""

    run_name: str
    adapter_dir: str | None  # the run's output/ when it trained an adapter
    base_model: str | None  # the adapter's base (a folder or a Hugging Face id)
    python: str | None  # an interpreter with llama-cpp-python[server], when there is one


def usage(report: dict[str, Any], context: UseContext) -> list[dict[str, Any]]:
    fmt = report.get("format")
    entries: list[dict[str, Any]] = []
    if fmt == "ollama" and report.get("ollama"):
        entries.append(_ollama(report["ollama"]))
    if fmt in ("gguf", "ollama"):
        entries += _gguf(report["path"], context.python)
    if fmt == "merged":
        entries += _merged(report["path"], context.run_name)
    if context.adapter_dir and context.base_model:
        entries += _adapter(context)
    return entries


def _ollama(ollama: dict[str, Any]) -> dict[str, Any]:
    return {
        "tool": "Ollama",
        "what": "import the GGUF with its Modelfile (template, stop tokens), then chat",
        "commands": [ollama["command"], f"ollama run {ollama['name']}"],
    }


def _server(tool: str, what: str, argv: list[str]) -> dict[str, Any]:
    return {"tool": tool, "what": what, "commands": [shlex.join(argv)], "argv": argv}


def _gguf(path: str, python: str | None) -> list[dict[str, Any]]:
    server = ["llama-server", "-m", path, "--host", "127.0.0.1", "--port", str(LLAMA_SERVER_PORT)]
    entries = [
        _server(
            "llama.cpp",
            "llama.cpp's OpenAI-compatible server (chat template and stop tokens from the file); "
            f"chat at http://127.0.0.1:{LLAMA_SERVER_PORT}/v1/chat/completions",
            server,
        )
    ]
    if python:
        argv = [python, "-m", "llama_cpp.server", "--model", path]
        argv += ["--host", "127.0.0.1", "--port", str(LLAMA_CPP_PYTHON_PORT)]
        what = (
            "the same from the llama.cpp tui-ft installed; chat at "
            f"http://127.0.0.1:{LLAMA_CPP_PYTHON_PORT}/v1/chat/completions"
        )
        entries.append(_server("llama-cpp-python", what, argv))
    return entries


def _merged(path: str, name: str) -> list[dict[str, Any]]:
    argv = ["vllm", "serve", path, "--served-model-name", name, "--port", str(VLLM_PORT)]
    chat = f"chat at http://127.0.0.1:{VLLM_PORT}/v1/chat/completions"
    snippet = [
        "from transformers import pipeline",
        f"chat = pipeline('text-generation', model={path!r})",
        "messages = [{'role': 'user', 'content': 'Who are you?'}]",
        "reply = chat(messages, max_new_tokens=128, do_sample=False)",
        "print(reply[0]['generated_text'][-1]['content'])",
    ]
    return [
        _server("vLLM", f"serve the merged model; {chat}", argv),
        {"tool": "transformers", "what": "answer a chat in Python", "snippet": "\n".join(snippet)},
    ]


def _adapter(context: UseContext) -> list[dict[str, Any]]:
    """The run's adapter as it is, next to its base: no export needed."""
    assert context.adapter_dir and context.base_model
    module = f"{context.run_name}={context.adapter_dir}"
    argv = ["vllm", "serve", context.base_model, "--enable-lora", "--lora-modules", module]
    argv += ["--port", str(VLLM_PORT)]
    adapter = repr(context.adapter_dir)
    snippet = [
        "from peft import AutoPeftModelForCausalLM",
        "from transformers import AutoTokenizer",
        f"model = AutoPeftModelForCausalLM.from_pretrained({adapter})",
        f"tokenizer = AutoTokenizer.from_pretrained({adapter})",
        "messages = [{'role': 'user', 'content': 'Who are you?'}]",
        "inputs = tokenizer.apply_chat_template(",
        "    messages, add_generation_prompt=True, return_tensors='pt', return_dict=True",
        ")",
        "output = model.generate(**inputs, max_new_tokens=128, do_sample=False)",
        "answer = output[0][inputs['input_ids'].shape[1]:]",
        "print(tokenizer.decode(answer, skip_special_tokens=True))",
    ]
    what = f"serve the base with the run's adapter; ask for model {context.run_name!r}"
    return [
        _server("vLLM + LoRA", what, argv),
        {
            "tool": "peft",
            "what": "the base model with the run's adapter, in Python",
            "snippet": "\n".join(snippet),
        },
    ]


def usage_lines(entries: list[dict[str, Any]]) -> list[str]:
    """The entries as the command prints them (and the Export screen shows them)."""
    lines = []
    for entry in entries:
        lines.append(f"{entry['tool']}: {entry['what']}")
        lines += [f"  {command}" for command in entry.get("commands", [])]
        lines += [f"    {line}" for line in entry.get("snippet", "").splitlines()]
    return lines
