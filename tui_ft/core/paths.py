"""Where tui-ft keeps things: runs home, caches, shipped data. Run names never escape the home."""

from __future__ import annotations

import errno
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


RUNS_HOME_FIX = (
    "Point TUI_FT_HOME at a folder you can write (e.g. `export TUI_FT_HOME=~/tui-ft-runs`), or "
    "fix that folder's permissions."
)
_FULL_FIX = "Free some space (old runs' checkpoints are the largest files), or write elsewhere."


def check_writable_dir(path: Path, what: str, fix: str) -> None:
    """Refuse, before any work, a folder that cannot be made or written into: a file in its
    place (or above it), a folder without write permission, a read-only file system."""
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        why = "is a file, not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
        why = "is on a read-only file system" if read_only else "is not writable"
    else:
        return
    if existing == path:
        raise UserError(f"{what} {path} {why}.", fix)
    raise UserError(f"{what} {path} cannot be made: {existing} {why}.", fix)


def ensure_writable_dir(path: Path, what: str, fix: str) -> Path:
    """`path` as a folder this process can write into, made if needed; else a UserError
    naming the path and `fix`."""
    check_writable_dir(path, what, fix)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise disk_error(err, path, what, fix) from None
    return path


def disk_error(err: OSError, path: Path, what: str, fix: str = "") -> UserError:
    """A failed write as a sentence naming the path, and what to do about it."""
    where = Path(err.filename) if err.filename else path
    reasons: dict[int | None, tuple[str, str]] = {
        errno.ENOSPC: ("the disk is full", _FULL_FIX),
        errno.EDQUOT: ("the disk quota is used up", _FULL_FIX),
        errno.EROFS: ("it is on a read-only file system", fix),
        errno.EACCES: ("permission denied", fix),
        errno.EPERM: ("permission denied", fix),
        errno.ENOTDIR: ("a part of the path is a file, not a folder", fix),
        errno.EISDIR: ("it is a folder", fix),
    }
    reason, hint = reasons.get(err.errno, (err.strerror or str(err), fix))
    return UserError(
        f"cannot write {what} at {where}: {reason}.",
        hint or "Check that the folder exists and that you can write there.",
    )


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
