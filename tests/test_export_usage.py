"""'Use it': the commands an export's report carries for running it elsewhere."""

from __future__ import annotations

import shlex

from tui_ft.core.export.usage import UseContext, usage, usage_lines

FILE = "/runs/my run/export/ollama-q4_k_m/my-run-q4_k_m.gguf"
OLLAMA = {"name": "my-run", "command": "ollama create my-run -f '/runs/my run/Modelfile'"}


def tools(entries: list[dict[str, object]]) -> list[object]:
    return [entry["tool"] for entry in entries]


def test_an_ollama_export_of_a_lora_run_gets_every_way_to_run_it() -> None:
    report = {"format": "ollama", "path": FILE, "ollama": OLLAMA}
    context = UseContext("my-run", "/runs/my run/output", "HuggingFaceTB/SmolLM2-135M", "/v/python")
    entries = usage(report, context)
    assert tools(entries) == ["Ollama", "llama.cpp", "llama-cpp-python", "vLLM + LoRA", "peft"]
    assert entries[0]["commands"] == [OLLAMA["command"], "ollama run my-run"]
    # Paths with spaces are quoted, and the argv is the command, word for word.
    for entry in entries[1:4]:
        (command,) = entry["commands"]
        assert shlex.split(command) == entry["argv"]
    assert entries[1]["argv"][:3] == ["llama-server", "-m", FILE]
    assert entries[2]["argv"][:3] == ["/v/python", "-m", "llama_cpp.server"]
    assert entries[3]["argv"][:5] == [
        "vllm",
        "serve",
        "HuggingFaceTB/SmolLM2-135M",
        "--enable-lora",
        "--lora-modules",
    ]
    assert entries[3]["argv"][5] == "my-run=/runs/my run/output"
    compile(entries[4]["snippet"], "peft", "exec")  # valid Python


def test_a_merged_export_of_a_full_run_gets_vllm_and_transformers() -> None:
    report = {"format": "merged", "path": "/runs/r/export/merged"}
    entries = usage(report, UseContext("r", None, None, None))
    assert tools(entries) == ["vLLM", "transformers"]
    compile(entries[1]["snippet"], "transformers", "exec")
    lines = usage_lines(entries)
    assert lines[1] == "  vllm serve /runs/r/export/merged --served-model-name r --port 8000"
    assert "    from transformers import pipeline" in lines


def test_without_llama_cpp_python_only_llama_cpps_own_server_is_offered() -> None:
    entries = usage({"format": "gguf", "path": FILE}, UseContext("r", None, None, None))
    assert tools(entries) == ["llama.cpp"]
