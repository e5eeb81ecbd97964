"""The import-linter contract of our own (tools/import_contracts.py) tells imports that run at
import time from those that wait for a call."""

from __future__ import annotations

import textwrap

from tools.import_contracts import eager_import_lines

SOURCE = textwrap.dedent(
    """\
    import os
    from typing import TYPE_CHECKING
    if TYPE_CHECKING:
        import torch
    else:
        import json
    try:
        import tomllib
    except ImportError:
        import tomli
    class Holder:
        import peft
        def method(self):
            import trl
    def run():
        import transformers
    async def stream():
        import datasets
    with open(os.devnull) as f:
        import csv
    """
)


def test_module_level_imports_and_class_bodies_count() -> None:
    assert eager_import_lines(SOURCE) == {1, 2, 6, 8, 10, 12, 20}


def test_function_bodies_and_type_checking_blocks_do_not() -> None:
    lines = SOURCE.splitlines()
    lazy = {n for n, line in enumerate(lines, 1) if "import" in line} - eager_import_lines(SOURCE)
    assert {lines[n - 1].strip() for n in lazy} == {
        "import torch",
        "import trl",
        "import transformers",
        "import datasets",
    }
