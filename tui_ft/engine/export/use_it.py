"""The facts the 'Use it' commands (core/export/usage) need from this machine and this run: the
adapter's folder and base, and an interpreter that has llama-cpp-python's server."""

from __future__ import annotations

import importlib.util
import json
import sys
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.export.usage import UseContext, usage
from tui_ft.core.methods import method_named
from tui_ft.core.runs.layout import RunDir

SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "pydantic_settings")


def with_usage(report: dict[str, Any], run: RunDir, config: RunConfig) -> dict[str, Any]:
    report["use"] = usage(report, use_context(run, config))
    return report


def use_context(run: RunDir, config: RunConfig) -> UseContext:
    adapter = method_named(config.method).adapter
    return UseContext(
        run_name=run.name,
        adapter_dir=str(run.output_dir) if adapter else None,
        base_model=_adapter_base(run, config) if adapter else None,
        python=sys.executable if server_installed() else None,
    )


def server_installed() -> bool:
    """llama-cpp-python with its [server] extras."""
    return all(importlib.util.find_spec(name) is not None for name in SERVER_MODULES)


def _adapter_base(run: RunDir, config: RunConfig) -> str:
    """The base the adapter names (a folder or a Hugging Face id), as vLLM and peft load it."""
    try:
        saved = json.loads((run.output_dir / "adapter_config.json").read_text("utf-8"))
    except (OSError, ValueError):
        saved = {}
    base = saved.get("base_model_name_or_path") if isinstance(saved, dict) else None
    return base if isinstance(base, str) and base else config.model
