"""Files, folders and settings that cannot be used: each is a sentence naming the path and the
fix, exit 1, never "unexpected … report it"."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tui_ft.cli import main
from tui_ft.core import paths
from tui_ft.core.chat.client import ChatClient
from tui_ft.core.chat.protocol import ChatError
from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.errors import UserError
from tui_ft.core.runs.layout import RunDir
from tui_ft.engine.export import merge as export_module


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "unexpected" not in err and "report it" not in err, err
    return code, err


def test_runs_home_pointing_at_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "runs"
    home.write_text("not a folder")
    monkeypatch.setenv("TUI_FT_HOME", str(home))
    (tmp_path / "run.yaml").write_text("model: demo\ndataset: demo\n")
    code, err = run_cli(["train", str(tmp_path / "run.yaml"), "--detach"], capsys)
    assert code == 1
    assert f"error: the runs home {home} is a file, not a folder." in err
    assert "hint: Point TUI_FT_HOME at a folder you can write" in err


def test_runs_home_below_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(UserError) as err:
        RunDir.create("r1", tmp_path / "file" / "runs")
    assert err.value.message == (
        f"the runs home {tmp_path / 'file' / 'runs'} cannot be made: "
        f"{tmp_path / 'file'} is a file, not a folder."
    )


def test_read_only_runs_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "runs"
    home.mkdir()
    # os.access, not chmod: root (as in many CI containers) may write a 0o555 folder.
    monkeypatch.setattr(paths.os, "access", lambda path, mode: Path(path) != home)
    with pytest.raises(UserError) as err:
        RunDir.create("r1", home)
    assert err.value.message == f"the runs home {home} is not writable."
    assert not (home / "r1").exists()


def test_a_full_disk_names_the_file_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(UserError) as err:
        save_config(RunConfig(), tmp_path / "run.yaml")
    path = tmp_path / "run.yaml"
    assert err.value.message == f"cannot write the run config at {path}: the disk is full."
    assert "Free some space" in err.value.hint
    assert list(tmp_path.iterdir()) == []


def fake_run(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    save_config(RunConfig(), run / "run.yaml")
    return run


def test_export_to_an_unwritable_out_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = fake_run(tmp_path)
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "model"
    code, err = run_cli(["export", str(run), "--out", str(out)], capsys)
    assert code == 1
    assert f"error: the folder for the export {out.parent} is a file, not a folder." in err
    assert "hint: Choose a folder you can write with --out DIR" in err


def test_export_to_a_read_only_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = fake_run(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(paths.os, "access", lambda path, mode: Path(path) != locked)
    code, err = run_cli(["export", str(run), "--out", str(locked / "model")], capsys)
    assert code == 1
    assert f"error: the folder for the export {locked} is not writable." in err


def test_a_failed_swap_keeps_the_earlier_export_and_leaves_no_old_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, new = tmp_path / "merged", tmp_path / ".merged.tmp-1-x"
    target.mkdir()
    (target / "weights").write_text("earlier")
    new.mkdir()
    real_replace = os.replace

    def replace(src: Path, dst: Path) -> None:
        if Path(src) == new:
            raise OSError(errno.EACCES, "Permission denied", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(export_module.os, "replace", replace)
    with pytest.raises(UserError) as err:
        export_module.replace_folder(new, target)
    assert err.value.message == f"cannot write the export at {target}: permission denied."
    assert (target / "weights").read_text() == "earlier"
    assert not list(tmp_path.glob(".merged.old-*"))


def test_a_cache_that_is_a_file_stops_the_chat_with_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    cache.write_text("")
    monkeypatch.setenv("TUI_FT_CACHE", str(cache))
    client = ChatClient(command=["false"])
    with pytest.raises(ChatError) as err:
        client.start()
    assert err.value.message == (
        f"the chat's log folder {cache / 'logs'} cannot be made: {cache} is a file, not a folder."
    )
    assert "TUI_FT_CACHE" in err.value.hint
    assert not client.alive
