"""What a model folder on disk holds: whether its weights are all there, its size, its JSON.

Plain file-system checks, shared by path resolution, the hub cache listing and model info.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def has_weights(folder: Path) -> bool:
    """True when the weights are all there (every shard of a sharded checkpoint)."""
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = folder / index_name
        if index.is_file():
            shards = set(read_json_object(index).get("weight_map", {}).values())
            return bool(shards) and all((folder / s).is_file() for s in shards)
    patterns = ("*.safetensors", "pytorch_model*.bin", "model*.bin")
    return any(p.is_file() for pattern in patterns for p in folder.glob(pattern))


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object from disk; an unreadable or non-object file reads as empty."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def disk_size(folder: Path) -> int:
    """Bytes under `folder`, following each symlink once (HF cache snapshots point into blobs)
    and counting a blob once even when several names point at it."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                stat = os.stat(os.path.join(root, name))
            except OSError:
                continue  # a dangling link to a blob that was deleted
            key = (stat.st_dev, stat.st_ino)
            if key not in seen:
                seen.add(key)
                total += stat.st_size
    return total
