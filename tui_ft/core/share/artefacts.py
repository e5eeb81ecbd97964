"""What `tui-ft push` uploads for each `--what`, and where it finds it in the run's folder:

- `adapter`: the run's output/ (LoRA, QLoRA), staged in export/adapter/ as links to its files
  (no copy of the weights) so that the card can sit beside them without touching output/;
- `merged`: export/merged/ (`tui-ft export RUN --format merged`);
- `gguf`: one of export/gguf-QUANT/ (`tui-ft export RUN --format gguf --quant QUANT`), the
  one `--quant` names, else the newest that passed its check; an export/gguf/ from before each
  quantization had its own folder counts too. Ollama folders (export/ollama-QUANT/) hold a GGUF
  as well, but are not pushed: an Ollama user imports the Modelfile, not a Hub repository.

Each upload carries the card (README.md and loss.png, core/share/card.py), written into the
folder just before it goes. Pure Python.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError
from tui_ft.core.export.formats import MARKER, default_export_dir, report_beside
from tui_ft.core.methods import method_named
from tui_ft.core.models.files import read_json_object
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.liveness import effective_status
from tui_ft.core.share.card import CARD, PLOT, CardFiles, RunFacts, model_card
from tui_ft.core.share.gguf_choice import GGUF, chosen_gguf

ADAPTER = "adapter"
# In output/ but no part of what is shared: the trainer's pickled arguments, and the card peft
# writes (ours replaces it).
NOT_SHARED = ("training_args.bin", CARD)


@dataclass(frozen=True)
class Artefact:
    what: str
    run: RunDir
    folder: Path  # where its files are (output/ for an adapter not yet staged)
    files: list[tuple[str, int]]  # (path in the repository, size) of the model's own files
    card: CardFiles

    @property
    def listing(self) -> list[tuple[str, int]]:
        """Every file that goes up, the card first, with its size."""
        card = [(CARD, len(self.card.readme.encode("utf-8")))]
        if self.card.plot is not None:
            card.append((PLOT, len(self.card.plot)))
        return card + self.files

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.listing)


def default_what(config: RunConfig) -> str:
    return ADAPTER if method_named(config.method).adapter else "merged"


def find_artefact(
    run: RunDir, what: str, repo_id: str | None, quant: str | None = None
) -> Artefact:
    """The files of `what` and its card (for `repo_id`, None while only listing locally); a
    sentence with the command to run first when they are not there. `quant`: which GGUF export
    (None: the newest that passed its check)."""
    facts = RunFacts.read(run)
    folder = _source_folder(run, facts.config, what, quant)
    check = None if what == ADAPTER else read_json_object(report_beside(folder)) or None
    location = str(check.get("path") or folder) if check else str(folder)
    card = model_card(facts, what, repo_id=repo_id, location=location, check=check)
    return Artefact(what, run, folder, model_files(folder), card)


def _source_folder(run: RunDir, config: RunConfig, what: str, quant: str | None) -> Path:
    if what == GGUF:
        return chosen_gguf(run, quant).folder
    if what == ADAPTER:
        if not method_named(config.method).adapter:
            raise UserError(
                f"run {run.name} trained every weight (method {config.method}): it has no "
                "adapter to push.",
                f"Push the whole model: `tui-ft export {run.name} --format merged`, then "
                f"`tui-ft push {run.name} --what merged --repo ORG/NAME`.",
            )
        state = effective_status(run).state
        if state != "completed" or not (run.output_dir / "adapter_config.json").is_file():
            raise UserError(
                f"run {run.name} is {state} and has no finished adapter in {run.output_dir}.",
                "Push it once `tui-ft runs` shows it completed (`tui-ft resume "
                f"{run.name}` finishes a stopped one).",
            )
        return run.output_dir
    fmt = what
    folder = default_export_dir(run.path, fmt)
    if not folder.is_dir() or not model_files(folder):
        raise UserError(
            f"run {run.name} has no {what} export in {folder}.",
            f"Write it first: `tui-ft export {run.name} --format {fmt}`, then push again.",
        )
    return folder


def write_export_card(run: RunDir, fmt: str, report: dict[str, Any]) -> Path | None:
    """The card an export carries (README.md and loss.png in its folder), written once the export
    passed its check; the README's path, or None when the folder could not take it (the export
    stands without it: `tui-ft push` writes a card again)."""
    folder = Path(str(report.get("folder") or report["path"]))
    kind = "merged" if fmt == "merged" else "gguf"  # gguf and ollama folders hold a GGUF
    try:
        card = model_card(RunFacts.read(run), kind, location=str(report["path"]), check=report)
        card.write(folder)
    except OSError:
        return None
    return folder / CARD


def model_files(folder: Path) -> list[tuple[str, int]]:
    """The folder's files that make the model, with their sizes: not hidden ones (markers, a
    library's cache), not the card (rewritten for each upload), not the training's leftovers."""
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if relative.as_posix() in (*NOT_SHARED, PLOT):
            continue
        found.append((relative.as_posix(), path.stat().st_size))
    return found


def stage(artefact: Artefact) -> Path:
    """The folder to upload, with the card written into it: the export folder itself, or for an
    adapter a fresh export/adapter/ of links to output/'s files."""
    folder = artefact.folder
    if artefact.what == ADAPTER:
        folder = _staged_adapter(artefact)
    else:
        for name in (CARD, PLOT):  # an earlier card's plot must not outlive a run without one
            (folder / name).unlink(missing_ok=True)
    artefact.card.write(folder)
    return folder


def _staged_adapter(artefact: Artefact) -> Path:
    target = default_export_dir(artefact.run.path, ADAPTER)
    if target.exists():
        if not (target / MARKER).is_file():
            raise UserError(
                f"{target} exists and is not a tui-ft export folder; it is left alone.",
                "Move it away, then push again.",
            )
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name, _ in artefact.files:
        source, copy = artefact.folder / name, target / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, copy)  # the same bytes, no second copy on disk
        except OSError:
            shutil.copy2(source, copy)  # another file system, or links not allowed
    marker = {"run": artefact.run.name, "format": ADAPTER, "created": time.time()}
    (target / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return target
