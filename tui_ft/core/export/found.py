"""The GGUF exports a run holds in its own export/ folder: one folder per quantization
(export/gguf-QUANT/, formats.default_export_dir) and the export/gguf/ that every quantization
shared before (formats.shared_export_dir), each with what its marker and check report say.
`tui-ft push --what gguf` chooses among them (core/share/artefacts.py). Pure Python."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui_ft.core.export.formats import (
    MARKER,
    QUANTS,
    default_export_dir,
    report_beside,
    shared_export_dir,
)
from tui_ft.core.models.files import read_json_object


@dataclass(frozen=True)
class FoundExport:
    folder: Path
    quant: str | None  # None: an export/gguf/ whose marker and report do not say
    created: float  # the marker's time, else the folder's
    passed: bool | None  # its check's verdict; None: no check report (the check never ended)

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "not checked"
        return "passed its check" if self.passed else "failed its check"

    def describe(self, run_path: Path) -> str:
        """'q6_k in export/gguf-q6_k (passed its check)'."""
        where = self.folder.relative_to(run_path).as_posix()
        return f"{self.quant or 'unknown quant'} in {where} ({self.verdict})"


def gguf_exports(run_path: Path, fmt: str = "gguf") -> list[FoundExport]:
    """The run's finished exports of `fmt` (gguf or ollama) in its default folders, newest first.
    A folder counts once it holds the marker and a GGUF file: an export is renamed into place
    only when it is complete, so none is ever half-written."""
    shared = shared_export_dir(run_path, fmt)
    folders = [(shared, None), *((default_export_dir(run_path, fmt, q), q) for q in QUANTS)]
    found = [
        _read(folder, quant)
        for folder, quant in folders
        if (folder / MARKER).is_file() and any(folder.glob("*.gguf"))
    ]
    return sorted(found, key=lambda export: export.created, reverse=True)


def _read(folder: Path, quant: str | None) -> FoundExport:
    marker = read_json_object(folder / MARKER)
    report = read_json_object(report_beside(folder))
    if quant is None:  # the shared folder: what its own export said it was
        said = marker.get("quant") or report.get("quant")
        quant = said if isinstance(said, str) and said in QUANTS else None
    created = marker.get("created")
    if isinstance(created, bool) or not isinstance(created, int | float):
        created = folder.stat().st_mtime
    passed = report.get("passed")
    return FoundExport(folder, quant, float(created), passed if isinstance(passed, bool) else None)
