"""tools/screenshots.py: it takes the pictures it is asked for (two quick ones here, in a
folder of the test's own), and every picture it can take is in docs/screenshots/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "screenshots.py"


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_only_writes_the_named_screenshots(tmp_path: Path) -> None:
    out = tmp_path / "shots"
    home = tmp_path / "scratch" / "runs"
    done = run_script("--only", "method", "--only", "runs", "--out", str(out), "--home", str(home))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["method.svg", "runs.svg"]
    method = (out / "method.svg").read_text(encoding="utf-8")
    runs = (out / "runs.svg").read_text(encoding="utf-8")
    assert method.lstrip().startswith("<svg") and runs.lstrip().startswith("<svg")
    assert "LoRA&#160;(recommended)" in method
    assert "demo-lora-running" in runs and "demo-full-failed" in runs
    assert not home.parent.exists()  # the scratch runs home is cleaned up


def test_every_screenshot_it_takes_is_in_the_docs() -> None:
    done = run_script("--list")
    assert done.returncode == 0, done.stderr
    names = done.stdout.split()
    assert "monitor" in names and "chat" in names
    shipped = {p.stem for p in (ROOT / "docs" / "screenshots").glob("*.svg")}
    assert set(names) == shipped


def test_a_runs_home_it_could_wipe_by_mistake_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "shots"
    done = run_script("--home", str(tmp_path / "elsewhere"), "--out", str(out))
    assert done.returncode == 2 and "--home must end in a folder named `runs`" in done.stderr
    mine = tmp_path / "mine"
    (mine / "runs").mkdir(parents=True)
    (mine / "notes.txt").write_text("keep me")
    done = run_script("--home", str(mine / "runs"), "--out", str(out))
    assert done.returncode == 2 and "did not make" in done.stderr
    assert (mine / "notes.txt").read_text() == "keep me" and not out.exists()
