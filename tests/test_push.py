"""`tui-ft push`: what goes up for each --what (with the card), the dry run's listing, the
sentences when there is nothing to push, no network or no right to write, and the upload
itself through a fake HfApi. No test touches the network; the token never leaves the library."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.share_runs import (
    ADAPTER_FILES,
    STARTED,
    cached_base,
    finished_run,
    gguf_export,
    merged_export,
)
from tui_ft.cli import build_parser, main
from tui_ft.commands import push
from tui_ft.core.errors import UserError
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.share.process import PushRequest

SECRET = "hf_SECRETtokenNEVERshown0123456789"


class FakeApi:
    """HfApi's two calls, recorded; `fail` raised by the upload."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.fail = fail
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []
        self.uploaded: dict[str, bytes] = {}

    def create_repo(self, repo_id: str, **kwargs: Any) -> str:
        self.calls.append(("create_repo", repo_id, kwargs))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, **kwargs: Any) -> Any:
        self.calls.append(("upload_folder", kwargs["repo_id"], kwargs))
        if self.fail is not None:
            raise self.fail
        folder = Path(kwargs["folder_path"])
        for pattern in kwargs["allow_patterns"]:
            self.uploaded[pattern] = (folder / pattern).read_bytes()

        class Commit:
            commit_url = f"https://huggingface.co/{kwargs['repo_id']}/commit/0abc"

        return Commit()


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    cached_base(Path(os.environ["HF_HOME"]))
    return finished_run(Path(os.environ["TUI_FT_HOME"]))


def push_args(*argv: str) -> Any:
    return build_parser().parse_args(["push", *argv])


def test_dry_run_lists_the_adapter_and_its_card(
    run: RunDir, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push", run.name, "--repo", "me/wren", "--dry-run", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["what"] == "adapter" and summary["url"] == "https://huggingface.co/me/wren"
    listed = {f["path"]: f["size_bytes"] for f in summary["files"]}
    # The card first; peft's README and the pickled training arguments stay home.
    assert [f["path"] for f in summary["files"]][:2] == ["README.md", "loss.png"]
    assert {name: listed[name] for name in ADAPTER_FILES} == {
        n: len(d) for n, d in ADAPTER_FILES.items()
    }
    assert "training_args.bin" not in listed
    assert summary["total_bytes"] == sum(listed.values())
    assert not summary["uploaded"]
    assert not (run.path / "export").exists()  # a dry run writes nothing


def test_dry_run_in_words(run: RunDir, capsys: pytest.CaptureFixture[str]) -> None:
    merged_export(run)
    assert (
        main(["push", run.name, "--repo", "me/wren", "--what", "merged", "--dry-run", "--private"])
        == 0
    )
    out = capsys.readouterr().out
    assert (
        f"would push the merged of run {run.name} to https://huggingface.co/me/wren (private" in out
    )
    assert "model.safetensors" in out and "9.8 KiB" in out
    assert "dry run: nothing was uploaded." in out


@pytest.mark.parametrize("what", ["merged", "gguf"])
def test_a_missing_export_names_the_command(
    run: RunDir, what: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["push", run.name, "--repo", "me/wren", "--what", what, "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert f"run {run.name} has no {what} export" in err
    assert f"`tui-ft export {run.name} --format {what}`" in err


def listed(run: RunDir, capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """The dry run's summary (--json)."""
    assert main(["push", run.name, "--repo", "me/wren", "--dry-run", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_push_takes_the_newest_gguf_export_that_passed(
    run: RunDir, capsys: pytest.CaptureFixture[str]
) -> None:
    export = run.path / "export"
    gguf_export(run, "q8_0", True, created=STARTED + 100)
    gguf_export(run, "q6_k", True, created=STARTED + 200)
    gguf_export(run, "q4_k_m", False, created=STARTED + 300)  # newer, but failed its check
    gguf_export(run, "f16", None, created=STARTED + 400)  # newest, never checked
    summary = listed(run, capsys, "--what", "gguf")
    assert summary["folder"] == str(export / "gguf-q6_k")
    assert f"{run.name}-q6_k.gguf" in [f["path"] for f in summary["files"]]
    # --quant picks one (even one that failed: the person asked for it), and implies --what gguf.
    summary = listed(run, capsys, "--quant", "q4_k_m")
    assert summary["what"] == "gguf" and summary["folder"] == str(export / "gguf-q4_k_m")
    assert listed(run, capsys, "--what", "gguf", "--quant", "q8_0")["folder"] == str(
        export / "gguf-q8_0"
    )


def test_push_asks_for_quant_when_no_gguf_export_passed(
    run: RunDir, capsys: pytest.CaptureFixture[str]
) -> None:
    gguf_export(run, "q4_k_m", False, created=STARTED + 300)
    gguf_export(run, "f16", None, created=STARTED + 400)
    assert main(["push", run.name, "--repo", "me/wren", "--what", "gguf", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert (
        f"run {run.name} has no GGUF export that passed its check: f16 in export/gguf-f16 (not "
        "checked); q4_k_m in export/gguf-q4_k_m (failed its check)."
    ) in err
    assert "Push one anyway with --quant QUANT" in err
    # A --quant that was never exported names the command and the exports there are.
    assert main(["push", run.name, "--repo", "me/wren", "--quant", "q6_k", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert f"run {run.name} has no q6_k GGUF export in {run.path / 'export' / 'gguf-q6_k'}" in err
    assert "it has f16 in export/gguf-f16" in err
    assert f"`tui-ft export {run.name} --format gguf --quant q6_k`" in err


def test_an_export_from_before_per_quant_folders_is_still_pushed(
    run: RunDir, capsys: pytest.CaptureFixture[str]
) -> None:
    """export/gguf/, where every quantization went before: its quant read from its marker."""
    old = gguf_export(run, "q8_0", True, created=STARTED + 100, folder_name="gguf")
    assert listed(run, capsys, "--what", "gguf")["folder"] == str(old)
    assert listed(run, capsys, "--quant", "q8_0")["folder"] == str(old)
    gguf_export(run, "q6_k", True, created=STARTED + 200)
    assert listed(run, capsys, "--what", "gguf")["folder"] == str(run.path / "export" / "gguf-q6_k")


def test_quant_goes_with_gguf_only(run: RunDir, capsys: pytest.CaptureFixture[str]) -> None:
    merged_export(run)
    argv = ["push", run.name, "--repo", "me/wren", "--what", "merged", "--quant", "q8_0"]
    assert main([*argv, "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "--quant picks one of a run's GGUF exports; --what merged has no quantizations" in err


def test_a_full_run_has_no_adapter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = finished_run(Path(os.environ["TUI_FT_HOME"]), name="full-run", method="full")
    assert main(["push", run.name, "--repo", "me/full", "--what", "adapter", "--dry-run"]) == 1
    assert "has no adapter to push" in capsys.readouterr().err
    # Its default is the merged model.
    assert main(["push", run.name, "--repo", "me/full", "--dry-run"]) == 1
    assert "no merged export" in capsys.readouterr().err


def test_a_bad_repo_id(run: RunDir, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["push", run.name, "--repo", "wren", "--dry-run"]) == 1
    assert "is not a Hugging Face repository id" in capsys.readouterr().err


def test_offline_is_a_sentence(run: RunDir, capsys: pytest.CaptureFixture[str]) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # as every test runs
    assert main(["push", run.name, "--repo", "me/wren"]) == 1
    err = capsys.readouterr().err
    assert "this machine is offline" in err and "Traceback" not in err


def test_not_logged_in(
    run: RunDir, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert main(["push", run.name, "--repo", "me/wren"]) == 1  # HF_HOME holds no token
    assert "needs a Hugging Face token" in capsys.readouterr().err


def test_upload_through_the_library(
    run: RunDir, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_TOKEN", SECRET)
    api = FakeApi()
    assert push.run(push_args(run.name, "--repo", "me/wren", "--private", "--json"), api=api) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["uploaded"] and summary["commit_url"].endswith("/commit/0abc")
    (create, repo, create_kwargs), (upload, _, upload_kwargs) = api.calls
    assert (create, repo, create_kwargs) == (
        "create_repo",
        "me/wren",
        {"private": True, "exist_ok": True, "repo_type": "model"},
    )
    staged = run.path / "export" / "adapter"
    assert upload == "upload_folder" and Path(upload_kwargs["folder_path"]) == staged
    assert sorted(upload_kwargs["allow_patterns"]) == sorted(f["path"] for f in summary["files"])
    assert "token" not in upload_kwargs  # the library finds it itself
    # The adapter's files are links to output/'s, not copies; the card sits beside them.
    weights = "adapter_model.safetensors"
    assert (staged / weights).stat().st_ino == (run.output_dir / weights).stat().st_ino
    assert api.uploaded["README.md"].startswith(b"---\nbase_model: TestOrg/Base-1B\n")
    assert not (run.output_dir / "README.md").read_bytes().startswith(b"---")  # output/ untouched
    # A second push replaces the staged folder (it is ours: it carries the marker).
    assert push.run(push_args(run.name, "--repo", "me/wren"), api=FakeApi()) == 0


def test_the_token_is_never_written_or_shown(
    run: RunDir, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_TOKEN", SECRET)
    merged_export(run)
    for what in ("adapter", "merged"):
        push.run(push_args(run.name, "--repo", "me/wren", "--what", what), api=FakeApi())
    with pytest.raises(UserError) as refused:
        push.run(push_args(run.name, "--repo", "me/wren"), api=FakeApi(fail=_http_error(401)))
    said = capfd.readouterr()
    assert SECRET not in said.out + said.err + str(refused.value)
    for path in Path(os.environ["TUI_FT_HOME"]).rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (401, "refused the token"),
        (403, "may not write to me/wren"),
        (500, "refused the upload to me/wren (HTTP 500)"),
    ],
)
def test_hub_refusals_are_sentences(
    run: RunDir, monkeypatch: pytest.MonkeyPatch, status: int, said: str
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(UserError, match=said.replace("(", r"\(").replace(")", r"\)")):
        push.run(push_args(run.name, "--repo", "me/wren"), api=FakeApi(fail=_http_error(status)))


def test_no_network_during_the_upload(run: RunDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")

    class ConnectError(Exception):  # httpx's family name, as the library raises it
        pass

    with pytest.raises(UserError, match="this machine is offline"):
        push.run(
            push_args(run.name, "--repo", "me/wren"), api=FakeApi(fail=ConnectError("no route"))
        )


def _http_error(status: int) -> BaseException:
    """What the library raises for an HTTP error answer."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    request = httpx2.Request("POST", "https://huggingface.co/api/repos/create")
    return HfHubHTTPError(f"{status} error", response=httpx2.Response(status, request=request))


def test_the_app_runs_the_push_online_and_the_listing_offline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    push_ = PushRequest(Path("/runs/wren"), "me/wren", "adapter", private=True, dry_run=False)
    assert push_.argv()[-6:] == ["--repo", "me/wren", "--what", "adapter", "--json", "--private"]
    assert "HF_HUB_OFFLINE" not in push_.command().environment()
    listing = PushRequest(Path("/runs/wren"), "me/wren", "adapter")
    assert "--dry-run" in listing.argv()
    assert listing.command().environment()["HF_HUB_OFFLINE"] == "1"
    # The user's own setting is never overridden.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert push_.command().environment()["HF_HUB_OFFLINE"] == "1"
