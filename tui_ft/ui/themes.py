"""Theme files (TOML) into Textual themes: the shipped ones from `themes/`, a person's own from
`$XDG_CONFIG_HOME/tui-ft/themes/`. A file that cannot be used is reported and skipped, never
half-applied: a bad colour would otherwise break the stylesheet when the theme is picked."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from tui_ft.core import paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_THEME = "dark"
# tui-ft's own colour variables, used by stylesheets as $loss, $eval-loss ... A theme file may
# leave any of them out: these fill the gap (they suit dark and light backgrounds alike).
DOMAIN_DEFAULTS = {
    "loss": "#4ea1f3",
    "eval-loss": "#e0912a",
    "lr": "#9b7be0",
    "grad-norm": "#d96aa3",
    "throughput": "#3fae6f",
    "memory": "#3aa6bb",
    "base": "#8a93a2",
    "tuned": "#3fae6f",
    "vram-ok": "#3fae6f",
    "vram-warn": "#e0912a",
    "vram-over": "#e05a5a",
}
_COLOR_FIELDS: tuple[str, ...] = ("primary", "secondary", "warning", "error", "success", "accent")
_COLOR_FIELDS += ("foreground", "background", "surface", "panel", "boost")
_NUMBER_FIELDS = ("luminosity_spread", "text_alpha")
_KNOWN = {f.name for f in fields(Theme)} - {"ansi"}
# Values of Textual's own non-colour variables (block-cursor-text-style and the like).
_TEXT_STYLE = re.compile(r"^(none|not |bold|dim|italic|underline|strike|reverse|\s)+$")
_ALPHA = re.compile(r"\s+\d{1,3}%$")


class ThemeFileError(ValueError):
    """A theme file that cannot be used; the message names the file and what is wrong."""


@dataclass
class ThemeSet:
    themes: dict[str, Theme] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # one sentence per skipped file


def user_themes_dir() -> Path:
    return paths.config_dir() / "themes"


def load_all(folders: Iterable[Path] | None = None) -> ThemeSet:
    """Every theme in `folders` (default: the shipped ones, then the user's; a later file with
    the same name replaces an earlier one, so a person can restyle `dark`)."""
    found = ThemeSet()
    for folder in folders if folders is not None else (paths.themes_dir(), user_themes_dir()):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            try:
                theme = load_theme(path)
            except ThemeFileError as err:
                found.problems.append(str(err))
                continue
            found.themes[theme.name] = theme
    return found


def load_theme(path: Path) -> Theme:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ThemeFileError(f"{path}: cannot be read ({err.strerror or err}).") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ThemeFileError(f"{path}: is not valid TOML ({err}).") from err
    try:
        return theme_from_dict(data, default_name=path.stem)
    except ValueError as err:
        raise ThemeFileError(f"{path}: {err}") from err


def theme_from_dict(data: dict[str, Any], default_name: str) -> Theme:
    """Raises ValueError with one sentence for the first problem found."""
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}; theme keys are {', '.join(sorted(_KNOWN))}.")
    values = dict(data)
    values["name"] = _name(values.get("name", default_name))
    if "primary" not in values:
        raise ValueError("`primary` is missing: a theme needs at least its primary colour.")
    for key in _COLOR_FIELDS:
        if key in values:
            _check_color(key, values[key])
    for key in _NUMBER_FIELDS:
        if key in values and not isinstance(values[key], int | float):
            raise ValueError(f"`{key}` must be a number, not {values[key]!r}.")
    if "dark" in values and not isinstance(values["dark"], bool):
        raise ValueError(f"`dark` must be true or false, not {values['dark']!r}.")
    values["variables"] = _variables(values.get("variables", {}))
    return Theme(**values)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
        raise ValueError(f"`name` must be a word like 'my-theme', not {value!r}.")
    return value


def _variables(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError("`variables` must be a table of name = value.")
    for key, item in value.items():
        if not isinstance(item, str):
            raise ValueError(f"variables.{key} must be a string, not {item!r}.")
        if key in DOMAIN_DEFAULTS or not _TEXT_STYLE.match(item):
            _check_color(f"variables.{key}", item)
    return dict(value)


def _check_color(key: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ValueError(f'`{key}` must be a colour string like "#4ea1f3", not {value!r}.')
    try:
        Color.parse(_ALPHA.sub("", value))
    except ColorParseError:
        raise ValueError(f'`{key}` = {value!r} is not a colour (try "#4ea1f3").') from None
