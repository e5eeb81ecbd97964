"""What a model card says about the model a run started from: its Hub id (`base_model`) and its
licence, read from the base's own card (README.md front matter) or GGUF metadata; never looked
up on the network, and left out when not known here rather than guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from tui_ft.core.errors import UserError
from tui_ft.core.models.gguf_header import read_gguf_header
from tui_ft.core.models.hf_cache import cached_snapshot
from tui_ft.core.models.resolve import DEMO_REF, DEMO_REPO, demo_gguf_path, resolve_model

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}/[\w.\-]{1,96}$")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", re.DOTALL)


@dataclass(frozen=True)
class BaseModel:
    ref: str  # as run.yaml names it
    repo_id: str | None  # its Hub id, when it has one
    license: str | None


def base_model(ref: str) -> BaseModel:
    repo_id = DEMO_REPO if ref == DEMO_REF else None
    places: list[Path] = []
    try:
        resolved = resolve_model(ref, allow_download=False)
    except UserError:  # not on this machine: its id may still be a Hub id
        resolved = None
    if resolved is not None:
        repo_id = repo_id or resolved.repo_id
        places.append(resolved.gguf_file or resolved.path)
    if repo_id is None and _REPO_ID.match(ref) and not Path(ref).exists():
        repo_id = ref
    if repo_id is not None:
        snapshot = cached_snapshot(repo_id)
        if snapshot is not None:
            places.append(snapshot)
    if ref == DEMO_REF:
        gguf = demo_gguf_path()
        if gguf is not None:
            places.append(gguf)
    licence = next((found for place in places if (found := license_of(place))), None)
    return BaseModel(ref, repo_id, licence)


def license_of(place: Path) -> str | None:
    """The licence a model folder's README.md front matter or a GGUF file's metadata states."""
    if place.suffix == ".gguf" and place.is_file():
        try:
            value = read_gguf_header(place).metadata.get("general.license")
        except UserError:
            return None
        return value if isinstance(value, str) and value.strip() else None
    return front_matter(place / "README.md").get("license") if place.is_dir() else None


def front_matter(readme: Path) -> dict[str, str]:
    """A model card's YAML metadata, its text values only; {} when it has none or is unreadable."""
    try:
        match = _FRONT_MATTER.match(readme.read_text(encoding="utf-8"))
        data = yaml.safe_load(match.group(1)) if match else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)}
