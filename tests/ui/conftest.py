"""UI tests: colours on, quick polling, and a fixed runs home for the snapshots (paths show)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui_ft.ui.runs.monitor import MonitorScreen


@pytest.fixture(autouse=True)
def ui_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TUI_FT_FAKE_GPU", raising=False)
    monkeypatch.setattr(MonitorScreen, "POLL_S", 0.05)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def fixed_home() -> Iterator[Path]:
    """Snapshots show run folders: a path that is the same on every run of the tests."""
    path = Path(tempfile.gettempdir()) / "tui-ft-snapshots" / "runs"
    shutil.rmtree(path.parent, ignore_errors=True)
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)
