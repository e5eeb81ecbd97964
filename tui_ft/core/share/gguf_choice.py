"""Which GGUF export `tui-ft push --what gguf` uploads, now that a run may hold one per
quantization (core/export/found.py): the one `--quant` names, else the newest that passed its
check, else a sentence listing them. Pure Python."""

from __future__ import annotations

from tui_ft.core.errors import UserError
from tui_ft.core.export.formats import EXPORT, default_export_dir
from tui_ft.core.export.found import FoundExport, gguf_exports
from tui_ft.core.runs.layout import RunDir

GGUF = "gguf"


def chosen_gguf(run: RunDir, quant: str | None) -> FoundExport:
    """The GGUF export to push: the one of `quant`, else the newest that passed its check; a
    sentence naming the exports there are when none fits."""
    found = gguf_exports(run.path)
    if quant is not None:
        exports = [export for export in found if export.quant == quant]
    else:
        exports = [export for export in found if export.passed]
    if exports:
        return exports[0]  # newest first
    write = f"`tui-ft export {run.name} --format {GGUF}" + (f" --quant {quant}`" if quant else "`")
    if not found:
        raise UserError(
            f"run {run.name} has no {GGUF} export in {run.path / EXPORT} (each --quant is written "
            "to its own export/gguf-QUANT folder).",
            f"Write it first: {write}, then push again.",
        )
    there = "; ".join(export.describe(run.path) for export in found)
    if quant is not None:
        folder = default_export_dir(run.path, GGUF, quant)
        raise UserError(
            f"run {run.name} has no {quant} GGUF export in {folder}; it has {there}.",
            f"Write it first: {write}, or push one of those with --quant.",
        )
    raise UserError(
        f"run {run.name} has no GGUF export that passed its check: {there}.",
        "Push one anyway with --quant QUANT, or export one that passes (a finer --quant answers "
        "closer to the run's model: docs/export.md).",
    )
