"""One CSS rule (docs/architecture.md): screens load their feature's `.tcss` through CSS_PATH,
never inline CSS; reusable widgets keep DEFAULT_CSS. Checked feature by feature, on the classes
each module defines, so a new screen or a new feature is covered without listing it here."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path, PurePath
from typing import Any

import pytest
from textual.app import App
from textual.screen import Screen

import tui_ft.ui

UI = Path(tui_ft.ui.__file__).parent.resolve()
FEATURES = sorted(m.name for m in pkgutil.iter_modules(tui_ft.ui.__path__) if m.ispkg)


def defined_in(package: str, kind: type) -> list[type]:
    """The subclasses of `kind` that the modules of `package` define (not those they import)."""
    found: list[type] = []
    top = importlib.import_module(package)
    modules = [top]
    for info in pkgutil.walk_packages(getattr(top, "__path__", []), package + "."):
        modules.append(importlib.import_module(info.name))
    for module in modules:
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, kind)
                and value.__module__ == module.__name__
                and value not in found  # a class also bound to another name
            ):
                found.append(value)
    return found


def css_files(cls: type) -> list[Path]:
    """A class's own CSS_PATH as files, resolved from its module's folder as Textual does."""
    paths: Any = cls.__dict__.get("CSS_PATH") or []
    if isinstance(paths, str | PurePath):
        paths = [paths]
    folder = Path(inspect.getfile(cls)).parent
    return [(folder / path).resolve() for path in paths]


def test_the_features_are_found() -> None:
    assert {"shell", "runs", "chat", "export", "wizard"} <= set(FEATURES)


@pytest.mark.parametrize("feature", FEATURES)
def test_screens_keep_no_inline_css(feature: str) -> None:
    screens = defined_in(f"tui_ft.ui.{feature}", Screen)
    assert screens
    inline = [s.__name__ for s in screens if {"CSS", "DEFAULT_CSS"} & set(vars(s))]
    assert inline == [], f"move their CSS into {feature}/{feature}.tcss and name it in CSS_PATH"


@pytest.mark.parametrize("feature", FEATURES)
def test_screens_load_their_own_feature_s_stylesheet(feature: str) -> None:
    own = UI / feature / f"{feature}.tcss"
    for screen in defined_in(f"tui_ft.ui.{feature}", Screen):
        files = css_files(screen)
        assert files in ([], [own]), f"{screen.__name__} loads {files}, not {own}"
        assert all(f.is_file() for f in files), screen.__name__


def test_the_app_has_no_inline_css_and_its_stylesheets_exist() -> None:
    (app,) = defined_in("tui_ft.ui.app", App)
    assert "CSS" not in vars(app)
    files = css_files(app)
    assert files and all(f.is_file() for f in files)


def test_every_stylesheet_is_loaded_by_someone() -> None:
    """A `.tcss` nobody names in CSS_PATH would be dead style: none is left lying around."""
    named = {f for cls in defined_in("tui_ft.ui", Screen) for f in css_files(cls)}
    named |= {f for cls in defined_in("tui_ft.ui", App) for f in css_files(cls)}
    assert set(UI.rglob("*.tcss")) == named
