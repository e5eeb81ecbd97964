"""Theme files: the shipped ones load, a broken one is reported with its file and skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_ft.core import paths
from tui_ft.ui.themes import DOMAIN_DEFAULTS, load_all


def test_shipped_themes_load_with_every_domain_colour() -> None:
    found = load_all([paths.themes_dir()])
    assert found.problems == []
    assert {"dark", "light", "high-contrast"} <= set(found.themes)
    for theme in found.themes.values():
        assert set(DOMAIN_DEFAULTS) <= set(theme.variables), theme.name
    assert found.themes["light"].dark is False


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('name = "x"\nprimary = "#12345"\n', "is not a colour"),
        ('primary = "#123456"\ncolour = "red"\n', "unknown key 'colour'"),
        ('secondary = "#123456"\n', "`primary` is missing"),
        ('primary = "#123456"\n[variables]\nloss = "bright"\n', "variables.loss"),
        ('primary = "#123456"\ndark = "yes"\n', "`dark` must be true or false"),
        ('primary = "#123456"\nname = "../evil"\n', "`name` must be a word"),
        ('primary = "#123456\n', "is not valid TOML"),
    ],
)
def test_a_broken_theme_is_reported_and_skipped(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "broken.toml").write_text(text)
    (tmp_path / "fine.toml").write_text('primary = "#4ea1f3"\n')
    found = load_all([tmp_path])
    assert list(found.themes) == ["fine"]  # named after its file when it has no name
    (message,) = found.problems
    assert "broken.toml" in message and problem in message


def test_a_user_theme_may_restyle_a_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('name = "dark"\nprimary = "#ff0000"\n')
    found = load_all([paths.themes_dir(), tmp_path])
    assert found.themes["dark"].primary == "#ff0000"
