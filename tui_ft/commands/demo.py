"""`tui-ft demo prepare`: make the demo model load in seconds (converted once from its GGUF)."""

from __future__ import annotations

import argparse

from tui_ft.core.children.env import offline_here


def run(args: argparse.Namespace) -> int:
    offline_here(["demo"])  # online only when the demo model must be downloaded
    from tui_ft.engine.demo_model import prepare_demo_model

    path = prepare_demo_model()
    print(f"demo model ready: {path}")
    return 0
