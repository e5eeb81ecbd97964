"""The Export screen's push dialog (p), driven with a scripted runner: the listing first
(`tui-ft push --dry-run --json`, offline allowed), then the push itself (online), and the
command's own sentence when it refuses. The command is tested in tests/test_push.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_export_screen import ollama_report, open_export
from textual.widgets import Input, RadioSet, Static
from ui_helpers import app_for, three_runs, wait_for

from tests.fake_children import FakeChild, FakeRunner
from tui_ft.core.share.process import PushRequest
from tui_ft.ui.export.push import PushScreen


def summary(request: PushRequest) -> dict[str, Any]:
    return {
        "run": request.run.name,
        "what": request.what,
        "repo": request.repo,
        "url": f"https://huggingface.co/{request.repo}",
        "private": request.private,
        "dry_run": request.dry_run,
        "files": [
            {"path": "README.md", "size_bytes": 4096},
            {"path": "adapter_model.safetensors", "size_bytes": 3 * 2**20},
        ],
        "total_bytes": 3 * 2**20 + 4096,
        "uploaded": not request.dry_run,
        **(
            {}
            if request.dry_run
            else {"commit_url": f"https://huggingface.co/{request.repo}/commit/abc"}
        ),
    }


def answering(request: Any) -> FakeChild:
    return FakeChild(json.dumps(summary(request)), ["uploading…"], 0)


def result(screen: PushScreen) -> str:
    return str(screen.query_one("#push-result", Static).render())


async def open_push(pilot: Any, app: Any) -> PushScreen:
    await open_export(pilot, app)
    await pilot.press("p")
    await wait_for(pilot, lambda: isinstance(app.screen, PushScreen))
    return app.screen  # type: ignore[no-any-return]


async def test_list_then_push(home: Path) -> None:
    three_runs(home)
    runner = FakeRunner(answering)
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_push(pilot, app)
        assert screen.what == "adapter"  # a LoRA run, nothing exported yet
        screen.query_one("#push-repo", Input).value = "me/wren"
        await pilot.press("enter")  # enter in the repository field lists
        await wait_for(pilot, lambda: screen.outcome is not None)
        listing = runner.requests[-1]
        assert listing.dry_run and listing.repo == "me/wren" and listing.what == "adapter"
        assert "--dry-run" in listing.argv() and not listing.command().online
        assert "Would push 2 files (3.0 MiB) to https://huggingface.co/me/wren (public)" in result(
            screen
        )
        assert "adapter_model.safetensors  3.0 MiB" in result(screen)

        screen.outcome = None
        await pilot.click("#push-go")
        await wait_for(pilot, lambda: screen.outcome is not None)
        push = runner.requests[-1]
        assert not push.dry_run and push.command().online
        assert "✓ Pushed 2 files" in result(screen) and "/commit/abc" in result(screen)
        await pilot.press("escape")
        assert not isinstance(app.screen, PushScreen)


async def test_a_bad_repository_id_and_a_refusal_are_sentences(home: Path) -> None:
    three_runs(home)
    refusal = FakeChild(
        "",
        [
            "error: run demo-lora-done has no merged export in /x/export/merged.",
            "hint: Write it first: `tui-ft export demo-lora-done --format merged`, then push again.",
        ],
        1,
    )
    runner = FakeRunner(lambda request: refusal)
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_push(pilot, app)
        screen.query_one("#push-repo", Input).value = "not a repo"
        await pilot.press("enter")
        await pilot.pause()
        assert "is not a Hugging Face repository id" in result(screen)
        assert not runner.requests  # refused before any process

        screen.query_one("#push-repo", Input).value = "me/wren"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.outcome is not None)
        assert "✗ run demo-lora-done has no merged export" in result(screen)
        assert "tui-ft export demo-lora-done --format merged" in result(screen)


async def test_the_gguf_just_exported_is_the_one_pushed(home: Path) -> None:
    """A run may hold a GGUF export per quantization: the dialog opened after one pushes it."""
    runs = three_runs(home)
    report = {**ollama_report(runs["done"].path), "format": "gguf", "quant": "q6_k"}
    del report["ollama"]

    def answer(request: Any) -> FakeChild:
        if isinstance(request, PushRequest):
            return answering(request)
        return FakeChild(json.dumps(report), [], 0)

    runner = FakeRunner(answer)
    app = app_for(home, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        export = await open_export(pilot, app)
        export.query_one("#export-quant", RadioSet).focus()
        await pilot.press("down", "enter", "x")  # q8_0 -> q6_k, export
        await wait_for(pilot, lambda: export.state == "done")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PushScreen))
        screen = app.screen
        assert isinstance(screen, PushScreen)
        assert (screen.what, screen.quant) == ("gguf", "q6_k")
        screen.query_one("#push-repo", Input).value = "me/wren"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.outcome is not None)
        listing = runner.requests[-1]
        assert isinstance(listing, PushRequest) and listing.quant == "q6_k"
        assert listing.argv()[-4:] == ["--json", "--quant", "q6_k", "--dry-run"]
