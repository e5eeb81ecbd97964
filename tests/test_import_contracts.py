"""The import-linter contracts of our own (tools/import_contracts.py): one tells imports that run
at import time from those that wait for a call; the other finds import cycles between files."""

from __future__ import annotations

import textwrap

import grimp

from tools.import_contracts import eager_import_lines, find_cycles

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


def test_cycles_between_modules_are_found_once_each() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in [
        ("pkg.app", "pkg.screen"),
        ("pkg.screen", "pkg.base"),
        ("pkg.base", "pkg.app"),  # say, under TYPE_CHECKING: still a cycle
        ("pkg.a", "pkg.b"),
        ("pkg.b", "pkg.a"),
        ("pkg.screen", "pkg.leaf"),
    ]:
        graph.add_import(importer=importer, imported=imported)
    cycles = find_cycles(graph, set(graph.modules))
    assert sorted(cycles) == [["pkg.a", "pkg.b"], ["pkg.app", "pkg.screen", "pkg.base"]]
    graph.remove_import(importer="pkg.base", imported="pkg.app")
    assert find_cycles(graph, set(graph.modules)) == [["pkg.a", "pkg.b"]]
