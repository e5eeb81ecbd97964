"""Import-linter contracts the tool lacks.

`function_level_only`: some modules may be imported only inside functions. import-linter sees
every import, at module level or in a function body, as the same edge, so a `forbidden` contract
cannot say "commands import engine only where they need it". This one reads the importing file
to tell the two apart. Imports under `if TYPE_CHECKING:` are not run, so they count as neither.

`acyclic_modules`: no two modules import each other, directly or through others. The tool's own
`acyclic_siblings` compares packages (all of `core.chat` against all of `core.children`); this
one compares files, every import counted: in a function body or under `if TYPE_CHECKING:` too,
since a cycle that only type checking sees still ties the two files together.
"""

from __future__ import annotations

import ast
import importlib.util
from typing import TypedDict

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output
from importlinter.application.contract_utils import AlertLevel, remove_ignored_imports_and_report


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


class AcyclicModulesContract(Contract):
    """No import cycle between the modules of `containers` (and their descendants), but for
    the imports in `ignore_imports` (each with a comment saying why it is allowed, for now)."""

    type_name = "acyclic_modules"

    containers = fields.ListField(subfield=fields.ModuleField())
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)
    unmatched_ignore_imports_alerting = fields.EnumField(AlertLevel, default=AlertLevel.ERROR)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        removal = remove_ignored_imports_and_report(
            graph=graph,
            ignore_imports=self.ignore_imports,  # type: ignore[arg-type]  # a set once parsed
            unmatched_alerting=self.unmatched_ignore_imports_alerting,  # type: ignore[arg-type]
        )
        modules: set[str] = set()
        for container in self.containers:  # type: ignore[attr-defined]  # a list once parsed
            modules |= _with_descendants(graph, container.name)
        cycles = find_cycles(graph, modules)
        return ContractCheck(
            kept=not cycles,
            warnings=list(removal.warnings),
            ignored_import_count=removal.ignored_import_count,
            metadata={"cycles": cycles},
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error(" -> ".join([*cycle, cycle[0]]), bold=False)
            output.new_line()


def find_cycles(graph: ImportGraph, modules: set[str]) -> list[list[str]]:
    """Each import cycle among `modules`, once: the modules along it, in import order. An
    import from A to B closes a cycle when B leads back to A."""
    cycles: dict[frozenset[str], list[str]] = {}
    for importer in sorted(modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & modules):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycle = [importer, *back[:-1]]
                cycles.setdefault(frozenset(cycle), cycle)
    return list(cycles.values())


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
