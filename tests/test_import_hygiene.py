"""The UI process and the CLI's help must never pull in the heavy stack (see docs/architecture.md)."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys

import pytest

import tui_ft.core
import tui_ft.ui

HEAVY = ("torch", "transformers", "peft", "trl", "bitsandbytes", "datasets", "accelerate")
# walk_packages, not iter_modules: subpackages (core/chat/, ui/screens/) are covered too.
CORE_MODULES = sorted(m.name for m in pkgutil.walk_packages(tui_ft.core.__path__, "tui_ft.core."))
UI_MODULES = sorted(m.name for m in pkgutil.walk_packages(tui_ft.ui.__path__, "tui_ft.ui."))


def loaded_after(code: str) -> set[str]:
    """Top-level module names present after running `code` in a fresh interpreter."""
    marker = "@@modules@@"
    probe = f"{code}\nimport sys\nprint({marker!r}, *{{m.split('.')[0] for m in sys.modules}})"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=os.environ
    ).stdout
    return set(out.rpartition(marker)[2].split())


def test_core_modules_exist() -> None:
    assert "tui_ft.core.config" in CORE_MODULES


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_no_heavy_library_nor_textual(module: str) -> None:
    loaded = loaded_after(f"import {module}")
    assert not loaded & {*HEAVY, "textual"}


def test_ui_modules_are_all_found() -> None:
    for module in ("tui_ft.ui.app", "tui_ft.ui.runs.monitor", "tui_ft.ui.runs.metric_chart"):
        assert module in UI_MODULES


def test_cli_and_every_ui_module_import_no_heavy_library() -> None:
    """The whole UI process at once: the app, every screen and widget, in one interpreter."""
    loaded = loaded_after(f"import tui_ft.cli, {', '.join(UI_MODULES)}")
    assert not loaded & set(HEAVY)


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_neither_textual_nor_ml(flag: str) -> None:
    code = f"import sys\nsys.argv = ['tui-ft', '{flag}']\nimport tui_ft.cli\ntry:\n"
    code += "    tui_ft.cli.main()\nexcept SystemExit:\n    pass"
    loaded = loaded_after(code)
    assert not loaded & {*HEAVY, "textual"}


def test_the_probe_sees_a_heavy_import() -> None:
    assert "torch" in loaded_after("import torch")


def test_engine_processes_say_nothing_of_the_kernels_publisher_check() -> None:
    """Trainer, chat, export and eval all import tui_ft.engine before peft; peft's bitsandbytes
    loads its CPU kernel through `kernels` (on CPUs with bf16 instructions), which offline
    warns on every start that it skips the kernel's publisher check."""
    code = "import tui_ft.engine.model_loading, peft"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert "publisher trust" not in out.stderr
