"""Whether a checkpoint folder is whole: the trainer writes a `.complete` marker once a save has
finished, listing every file with its size, and resuming skips a checkpoint whose files no
longer match (cut short by a full disk, a copy or a crash of the filesystem).

Sizes, not hashes: checking is instant even for a checkpoint of many gigabytes, and the damage
that happens in practice (a truncated or missing file) changes them. A marker from before the
list existed (a bare time stamp) only says that the save finished.

Pure Python: `tui-ft resume` and the app check checkpoints with this.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

COMPLETE_MARKER = ".complete"


def write_marker(folder: Path) -> None:
    """Atomic, so that a marker is whole or absent."""
    files = {
        str(path.relative_to(folder)): path.stat().st_size
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.startswith(f"{COMPLETE_MARKER}")
    }
    tmp = folder / f"{COMPLETE_MARKER}.tmp"
    tmp.write_text(json.dumps({"saved": time.time(), "files": files}, indent=1))
    os.replace(tmp, folder / COMPLETE_MARKER)


def problem(folder: Path) -> str | None:
    """None for a whole checkpoint, else what is wrong with it, in a few words."""
    try:
        text = (folder / COMPLETE_MARKER).read_text()
    except FileNotFoundError:
        return "its save never finished"
    except OSError as err:
        return f"its {COMPLETE_MARKER} marker cannot be read ({err.strerror or err})"
    try:
        listed = json.loads(text).get("files")
    except (ValueError, AttributeError):
        listed = None
    if not isinstance(listed, dict):
        return None  # a marker from before the file list: the save finished, nothing to compare
    for name, size in listed.items():
        try:
            actual = (folder / name).stat().st_size
        except OSError:
            return f"{name} is missing"
        if actual != size:
            return f"{name} has {actual:,} of its {size:,} bytes"
    return None
