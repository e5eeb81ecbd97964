"""A person's own keys: `$XDG_CONFIG_HOME/tui-ft/keys.toml` maps binding ids to keys, e.g.
`"runs.delete" = "x"` (F1 lists each screen's bindings with their ids). Remapping matters over
SSH and in terminal multiplexers, which swallow some keys."""

from __future__ import annotations

import sys

from tui_ft.core import paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def load_keymap() -> tuple[dict[str, str], str]:
    """(binding id -> keys, a sentence on why the file was skipped or "")."""
    path = paths.config_dir() / "keys.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, ""
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        return {}, f"{path}: not used ({err})."
    bad = [key for key, value in data.items() if not isinstance(value, str) or not value]
    if bad:
        return {}, f'{path}: not used ({bad[0]!r} must map to keys like "x" or "f5").'
    return dict(data), ""
