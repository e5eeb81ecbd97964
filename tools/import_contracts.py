"""An import-linter contract the tool lacks: some modules may be imported only inside functions.

import-linter sees every import, at module level or in a function body, as the same edge, so a
`forbidden` contract cannot say "commands import engine only where they need it". This one reads
the importing file to tell the two apart. Imports under `if TYPE_CHECKING:` are not run, so they
count as neither.
"""

from __future__ import annotations

import ast
import importlib.util
from typing import TypedDict

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class EagerImport(TypedDict):
    importer: str
    imported: str
    line_number: int


class FunctionLevelOnlyContract(Contract):
    """`source_modules` (and their descendants) import `lazy_modules` (and theirs) only inside
    function bodies: never at module level or in a class body, which run at import time."""

    type_name = "function_level_only"

    source_modules = fields.ListField(subfield=fields.ModuleField())
    lazy_modules = fields.ListField(subfield=fields.ModuleField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        targets: set[str] = set()
        for lazy in self.lazy_modules:  # type: ignore[attr-defined]  # a list once parsed
            targets |= _with_descendants(graph, lazy.name)
        found: list[EagerImport] = []
        for source in self.source_modules:  # type: ignore[attr-defined]  # a list once parsed
            for importer in sorted(_with_descendants(graph, source.name)):
                imported = sorted(graph.find_modules_directly_imported_by(importer) & targets)
                if not imported:
                    continue
                eager = module_level_import_lines(importer)
                for target in imported:
                    for detail in graph.get_import_details(importer=importer, imported=target):
                        if detail["line_number"] in eager:
                            found.append(
                                EagerImport(
                                    importer=importer,
                                    imported=target,
                                    line_number=detail["line_number"],
                                )
                            )
        return ContractCheck(kept=not found, metadata={"eager": found})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for item in check.metadata["eager"]:
            output.print_error(
                f"{item['importer']}:{item['line_number']} imports {item['imported']} at module "
                "level; import it inside the function that needs it.",
                bold=False,
            )
            output.new_line()


def _with_descendants(graph: ImportGraph, module: str) -> set[str]:
    # An outside package (torch) is one squashed node, and one nobody imports is no node at all.
    if module not in graph.modules or graph.is_module_squashed(module):
        return {module}
    return {module, *graph.find_descendants(module)}


def module_level_import_lines(module: str) -> set[int]:
    """The lines of `module`'s import statements that run when it is imported."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return set()
    with open(spec.origin, encoding="utf-8") as file:
        return eager_import_lines(file.read())


def eager_import_lines(source: str) -> set[int]:
    """The lines of the import statements in `source` that run when it is imported."""
    lines: set[int] = set()
    _collect(ast.parse(source).body, lines)
    return lines


def _collect(statements: list[ast.stmt], lines: set[int]) -> None:
    for node in statements:
        if isinstance(node, ast.Import | ast.ImportFrom):
            lines.add(node.lineno)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue  # a function body runs when called, not when the module is imported
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            _collect(node.orelse, lines)
        else:  # class bodies, if/try/with/for/match blocks: they run at import time
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    _collect([child], lines)
                elif isinstance(child, ast.ExceptHandler | ast.match_case):
                    _collect(child.body, lines)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )
