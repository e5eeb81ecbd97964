"""Text from outside never drives the terminal and is never markup: the sanitizer itself, and
every CLI command that shows a dataset, a model's answer, a run's files or an error sentence,
fed the hostile text of tests/hostile.py. `--json` stays exact."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from tests.hostile import HOSTILE, MARKUP, assert_no_escape
from tests.tiny import write_model_dir
from tui_ft.cli import main
from tui_ft.core.errors import UserError
from tui_ft.core.hardware.snapshot import FAKE_GPU_ENV
from tui_ft.core.paths import run_dir
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import RunError, Status
from tui_ft.core.safe_text import MARK, json_for_terminal, safe, safe_text, visible

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # whole lines: the markup must show as written


# --- the sanitizer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain words, [brackets] and ünïcode", "plain words, [brackets] and ünïcode"),
        ("keeps\ttabs\nand newlines", "keeps\ttabs\nand newlines"),
        ("windows\r\nline ends", "windows\nline ends"),
        ("a\x1b]52;c;aGk=\x07b", f"a{MARK}b"),  # OSC 52 ended by BEL
        ("a\x1b]52;c;aGk=\x1b\\b", f"a{MARK}b"),  # ... or by ST
        ("a\x1b]52;c;aGk=", f"a{MARK}"),  # unterminated: runs to the end
        ("\x1b[2Jx", f"{MARK}x"),  # CSI with a parameter
        ("\x1b[?1049hx", f"{MARK}x"),  # private CSI
        ("\x1b[38;2;1;2;3mx", f"{MARK}x"),
        ("\x1b]8;;https://e.example\x1b\\link\x1b]8;;\x1b\\", f"{MARK}link{MARK}"),  # OSC 8
        ("\x9b31mx", f"{MARK}x"),  # C1 CSI
        ("\x9d0;title\x9cx", f"{MARK}x"),  # C1 OSC ended by C1 ST
        ("\x1bPq#0\x1b\\x", f"{MARK}x"),  # DCS (sixel)
        ("\x1b7\x1b(Bx", f"{MARK}{MARK}x"),  # ESC x, ESC ( B
        ("\x1b", MARK),  # a lone ESC (a stream token cut in two)
        (
            "bell\x07 back\x08 cr\r nul\x00 del\x7f nel\x85",
            f"bell{MARK} back{MARK} cr{MARK} nul{MARK} del{MARK} nel{MARK}",
        ),
    ],
)
def test_safe_removes_sequences_whole_and_marks_controls(text: str, shown: str) -> None:
    assert safe(text) == shown


def test_safe_leaves_clean_text_as_it_is() -> None:
    text = "no controls here"
    assert safe(text) is text  # the streaming path: no copy per token


def test_safe_text_is_never_markup() -> None:
    text = safe_text(MARKUP, "bold")
    assert text.plain == MARKUP
    assert text.style == "bold"
    assert "\x1b" not in safe_text(HOSTILE).plain


def test_visible_keeps_the_length_and_shows_every_control() -> None:
    text = "a\x1b[2J\tb\x9b\x7f"
    shown = visible(text)
    assert shown == "a\u241b[2J\u2409b\ufffd\u2421"
    assert len(shown) == len(text)  # an input box's cursor stays on its character


def test_json_for_terminal_is_exact_and_writes_no_control() -> None:
    value = {"text": HOSTILE + "\x7f é 漢", "n": [1, 2.5]}
    out = json_for_terminal(value, indent=2)
    assert json.loads(out) == value
    assert_no_escape(out)
    assert "é 漢" in out  # non-ASCII text stays readable


# --- run names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["nl\n", "cr\r", "tab\tx", "esc\x1b[2J", "nul\x00", "c1\x9b", "a\n"]
)
def test_run_names_with_controls_are_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a valid run name"):
        run_dir(name, tmp_path)


def test_a_trailing_newline_does_not_make_an_unaddressable_run(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        RunDir.create("nl\n", tmp_path)
    assert not any(tmp_path.iterdir())


# --- the CLI --------------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model_dir(tmp_path_factory.mktemp("models") / "tiny")


def hostile_dataset(folder: Path) -> Path:
    """A good row whose every field is hostile, and a bad row with markup for a role."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rows.jsonl"
    good = {
        "messages": [
            {"role": "system", "content": HOSTILE},
            {"role": "user", "content": HOSTILE},
            {"role": "assistant", "content": HOSTILE},
        ]
    }
    bad = {"messages": [{"role": f"[/nope]{HOSTILE}", "content": "hi"}]}
    path.write_text("\n".join(json.dumps(row) for row in (good, bad, good)), encoding="utf-8")
    return path


@pytest.mark.parametrize("extra", [(), ("--example", "1")], ids=["plain", "example"])
def test_data_inspect_shows_hostile_rows_inert(
    extra: tuple[str, ...], tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The folder's name is hostile too: it is printed as the dataset.
    path = hostile_dataset(tmp_path / "d[/x]\x1b]52;c;aGFja2Vk\x07")
    code, out, err = cli(capsys, "data", "inspect", str(path), "--model", str(model_dir), *extra)
    assert code == 1, err  # one bad row: a report, not a crash
    assert "unexpected" not in err
    assert "1 bad rows" in out and "[/nope]" in out  # the markup is shown as written
    assert_no_escape(out + err)


def test_data_inspect_json_stays_exact(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = hostile_dataset(tmp_path / "d")
    args = ("data", "inspect", str(path), "--model", str(model_dir), "--example", "1", "--json")
    _, out, _ = cli(capsys, *args)
    assert_no_escape(out)  # C0 escaped by JSON, DEL and C1 by json_for_terminal
    report = json.loads(out)
    assert HOSTILE in "".join(seg["text"] for seg in report["example"]["segments"])


@pytest.mark.parametrize("unpaired", [False, True], ids=["pairs", "unpaired"])
def test_data_inspect_shows_hostile_preference_rows_inert(
    unpaired: bool, tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "prefs.jsonl"
    answers = (
        [{"completion": HOSTILE, "label": True}, {"completion": f"{HOSTILE}!", "label": False}]
        if unpaired
        else [{"chosen": HOSTILE, "rejected": f"{MARKUP}{HOSTILE}"}]
    )
    bad = {"prompt": HOSTILE, "chosen": HOSTILE, "rejected": HOSTILE}  # the same answer twice
    rows = [{"system": HOSTILE, "prompt": HOSTILE, **a} for a in answers] + [bad]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    args = ("data", "inspect", str(path), "--model", str(model_dir))
    code, out, err = cli(capsys, *args)
    assert code == 1, err  # the bad row: a report, not a crash
    assert "1 bad rows" in out
    assert_no_escape(out + err)
    _, out, _ = cli(capsys, *args, "--json")
    assert_no_escape(out)
    answers_shown = json.loads(out)["example"]["answers"]
    assert all(HOSTILE in answer["text"] for answer in answers_shown)


def hostile_run(name: str = "hostile") -> RunDir:
    run = RunDir.create(name)
    run.config_path.write_text(
        json.dumps({"model": f"Qwen[/x]{HOSTILE}", "method": "lora", "dataset": HOSTILE})
    )
    error = RunError("crashed", f"{HOSTILE} [/nope]", f"hint {HOSTILE}")
    run.write_status(Status("failed", step=3, max_steps=9, error=error))
    return run


def test_runs_lists_every_run_whatever_its_files_hold(capsys: pytest.CaptureFixture[str]) -> None:
    hostile_run()
    RunDir.create("plain").write_status(Status("completed", step=1, max_steps=1))
    code, out, err = cli(capsys, "runs")
    assert code == 0, err
    assert "Qwen[/x]" in out and "plain" in out and "[/nope]" in out
    assert_no_escape(out + err)


def test_runs_json_stays_exact(capsys: pytest.CaptureFixture[str]) -> None:
    hostile_run()
    _, out, _ = cli(capsys, "runs", "--json")
    assert_no_escape(out)
    (run,) = json.loads(out)
    assert run["model"] == f"Qwen[/x]{HOSTILE}"
    assert run["error"]["message"] == f"{HOSTILE} [/nope]"


def test_stop_names_a_hostile_run_safely(capsys: pytest.CaptureFixture[str]) -> None:
    run = hostile_run()
    code, out, err = cli(capsys, "stop", str(run.path))
    assert code == 1 and err.startswith("error: ")
    assert_no_escape(out + err)


def test_the_error_printer_makes_messages_and_unexpected_errors_safe(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(args: argparse.Namespace) -> int:
        raise UserError(f"bad file {HOSTILE}", f"fix {HOSTILE}")

    monkeypatch.setattr("tui_ft.cli.dispatch", fails)
    code, out, err = cli(capsys, "runs")
    assert code == 1 and "error: bad file" in err and "hint: fix" in err
    assert_no_escape(out + err)

    def crashes(args: argparse.Namespace) -> int:
        raise ValueError(HOSTILE)

    monkeypatch.setattr("tui_ft.cli.dispatch", crashes)
    code, out, err = cli(capsys, "runs")
    assert code == 1 and "unexpected ValueError" in err
    assert_no_escape(out + err)


def test_estimate_names_a_hostile_model_folder_safely(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "m[bold]x\x1b]52;c;aGFja2Vk\x07"
    folder.mkdir()
    (folder / "config.json").write_text((model_dir / "config.json").read_text())
    code, out, err = cli(capsys, "estimate", "--model", str(folder), "--gpu-memory", "16")
    assert code == 0, err
    assert "m[bold]x" in out  # not read as markup
    assert_no_escape(out + err)


def test_doctor_shows_hostile_gpu_and_process_names_safely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = json.loads((FIXTURES / "fake_gpu_2xh100.json").read_text(encoding="utf-8"))
    snapshot["gpus"][0]["name"] = f"H100 {HOSTILE}"
    snapshot["gpus"][0]["processes"] = [
        {"pid": 7, "used_memory": 2**30, "name": f"python {HOSTILE}", "user": "[/nope]"}
    ]
    path = tmp_path / "gpus.json"
    path.write_text(json.dumps(snapshot), encoding="utf-8")
    monkeypatch.setenv(FAKE_GPU_ENV, str(path))
    code, out, err = cli(capsys, "doctor")
    assert code == 0, err
    assert "[/nope]" in out
    assert_no_escape(out + err)


# --- tui-ft chat, with a chat process that answers hostile text -------------------------------


class HostileClient:
    """Stands in for ChatClient: loads at once and answers HOSTILE on every side."""

    log_path = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def start(self, wait: float | None = None) -> dict[str, Any]:
        return {"event": "ready"}

    def load_and_wait(self, run: str | None, **kwargs: Any) -> dict[str, Any]:
        return {
            "event": "loaded",
            "model": f"Qwen[/x]{HOSTILE}",
            "method": None,
            "kind": "base-only",
            "sides": ["base"],
            "device": "cpu",
            "dtype": "float32",
            "seconds": 1.0,
            "note": f"note {HOSTILE}",
        }

    def ask(self, messages: dict[str, Any], **kwargs: Any) -> dict[str, dict[str, Any]]:
        on_event = kwargs.get("on_event")
        if on_event is not None:
            on_event({"event": "started", "seed": 1})
        done = {"event": "done", "text": HOSTILE, "finish": "eos", "new_tokens": 3}
        return {side: {**done, "side": side, "seconds": 1.0, "flags": []} for side in messages}

    def close(self) -> None:
        pass


@pytest.fixture
def hostile_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui_ft.commands.chat.ChatClient", HostileClient)


@pytest.mark.usefixtures("hostile_chat")
def test_chat_prompt_prints_a_hostile_answer_inert(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "chat", "--model", f"m{HOSTILE}", "--prompt", HOSTILE)
    assert code == 0, err
    assert "[/nope]" in out
    assert_no_escape(out + err)


@pytest.mark.usefixtures("hostile_chat")
def test_chat_prompt_json_stays_exact(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = cli(capsys, "chat", "--model", "m", "--prompt", HOSTILE, "--json")
    assert_no_escape(out)
    data = json.loads(out)
    assert data["base"]["text"] == HOSTILE and data["prompt"] == HOSTILE


@pytest.mark.usefixtures("hostile_chat")
def test_chat_eval_table_shows_hostile_prompts_and_answers_inert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"prompt": HOSTILE, "expect": [MARKUP]}) + "\n")
    code, out, err = cli(capsys, "chat", "--model", "m", "--eval", str(prompts))
    assert code == 0, err
    assert "[/nope]" in out
    assert_no_escape(out + err)
