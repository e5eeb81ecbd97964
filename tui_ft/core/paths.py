"""Where tui-ft keeps things: runs home, caches, shipped data. Run names never escape the home."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tui_ft.core.errors import UserError

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PACKAGE_DIR / "data"

_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def runs_home() -> Path:
    """`$TUI_FT_HOME`, else `$XDG_DATA_HOME/tui-ft/runs`."""
    home = os.environ.get("TUI_FT_HOME")
    if home:
        return Path(home).expanduser()
    return _xdg("XDG_DATA_HOME", ".local/share") / "tui-ft" / "runs"


def cache_dir() -> Path:
    """`$TUI_FT_CACHE`, else `$XDG_CACHE_HOME/tui-ft` (converted demo model and the like)."""
    cache = os.environ.get("TUI_FT_CACHE")
    if cache:
        return Path(cache).expanduser()
    return _xdg("XDG_CACHE_HOME", ".cache") / "tui-ft"


def config_dir() -> Path:
    """`$XDG_CONFIG_HOME/tui-ft`: what a person sets up by hand (their own themes)."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "tui-ft"


def themes_dir() -> Path:
    """Themes ship inside the wheel as tui_ft/themes; an editable checkout keeps them at top level."""
    packaged = PACKAGE_DIR / "themes"
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / "themes"


def run_dir(name: str, home: Path | None = None) -> Path:
    """The directory of run `name`, refusing any name that could point outside the runs home."""
    if not _RUN_NAME.fullmatch(name) or name in (".", ".."):
        raise UserError(
            f"{name!r} is not a valid run name.",
            "Use letters, digits, '.', '_' or '-' (at most 100 characters, no slashes).",
        )
    base = (home or runs_home()).resolve()
    path = (base / name).resolve()
    if path.parent != base:
        raise UserError(f"run name {name!r} would leave the runs home {base}.")
    return path
