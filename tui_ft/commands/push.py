"""`tui-ft push RUN --repo ORG/NAME [--what adapter|merged|gguf] [--quant Q] [--private]
[--dry-run] [--json]`: upload a run's adapter or export, with its model card, to the Hugging Face
Hub (tui_ft.core.share: what goes up, the card, the upload)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tui_ft.core.config import load_config
from tui_ft.core.errors import UserError
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.safe_text import json_for_terminal, safe
from tui_ft.core.share.artefacts import Artefact, default_what, find_artefact, stage
from tui_ft.core.share.gguf_choice import GGUF
from tui_ft.core.share.hub import check_repo_id, push_folder, repo_url
from tui_ft.core.units import format_bytes


def run(args: argparse.Namespace, api: Any = None) -> int:
    """`api`: a stand-in for huggingface_hub's HfApi (tests)."""
    repo_id = check_repo_id(args.repo)
    run_dir = RunDir.open(args.run)
    quant = getattr(args, "quant", None)
    what = _what(args.what, quant) or default_what(load_config(run_dir.config_path))
    artefact = find_artefact(run_dir, what, repo_id, quant)
    summary = _summary(artefact, repo_id, args.private, args.dry_run)
    if not args.json:
        _print_listing(summary)
    if not args.dry_run:
        folder = stage(artefact)
        names = [name for name, _ in artefact.listing]
        _say(f"uploading {len(names)} files ({format_bytes(artefact.total_bytes)}) from {folder}…")
        summary["commit_url"] = push_folder(
            folder,
            names,
            repo_id,
            private=args.private,
            message=f"Upload {what} of run {run_dir.name} (tui-ft push)",
            api=api,
        )
        summary["uploaded"] = True
    if args.json:
        print(json_for_terminal(summary, indent=2))
    elif args.dry_run:
        print("dry run: nothing was uploaded.")
    else:
        print(f"pushed: {summary['url']}")
    return 0


def _what(what: str | None, quant: str | None) -> str | None:
    """--quant picks one of the GGUF exports, so it implies --what gguf and goes with no other."""
    if quant is None or what == GGUF:
        return what
    if what is None:
        return GGUF
    raise UserError(
        f"--quant picks one of a run's GGUF exports; --what {what} has no quantizations.",
        f"Drop --quant, or push a GGUF: --what gguf --quant {quant}.",
    )


def _summary(artefact: Artefact, repo_id: str, private: bool, dry_run: bool) -> dict[str, Any]:
    return {
        "run": artefact.run.name,
        "what": artefact.what,
        "repo": repo_id,
        "url": repo_url(repo_id),
        "private": private,
        "dry_run": dry_run,
        "folder": str(artefact.folder),
        "files": [{"path": name, "size_bytes": size} for name, size in artefact.listing],
        "total_bytes": artefact.total_bytes,
        "uploaded": False,
    }


def _print_listing(summary: dict[str, Any]) -> None:
    visibility = "private" if summary["private"] else "public"
    verb = "would push" if summary["dry_run"] else "pushing"
    print(
        safe(
            f"{verb} the {summary['what']} of run {summary['run']} to {summary['url']} "
            f"({visibility}, created if missing), from {summary['folder']}:"
        )
    )
    files = summary["files"]
    width = max(len(f["path"]) for f in files)
    for f in files:
        print(safe(f"  {f['path']:<{width}}  {format_bytes(f['size_bytes']):>10}"))
    print(f"  {len(files)} files, {format_bytes(summary['total_bytes'])} in all")


def _say(line: str) -> None:
    print(safe(line), file=sys.stderr)
