"""`tui-ft chat RUN --prompt ... [--json]` and `tui-ft chat RUN --eval ...` on fake runs of a
tiny model, through the real chat process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.chat_fixtures import fake_run, tiny_base
from tui_ft.cli import main
from tui_ft.core.runs.layout import RunDir


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_base(tmp_path_factory.mktemp("chat-cli") / "base")


@pytest.fixture
def lora_run(base: Path, tmp_path: Path) -> RunDir:
    return fake_run(base, "lora", "cli-lora", tmp_path / "runs")


def chat(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["chat", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_prompt_json_gives_both_answers_with_speed_and_flags(
    lora_run: RunDir, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = chat(
        capsys,
        str(lora_run.path),
        "--prompt",
        "Who are you?",
        "--json",
        "--greedy",
        "--max-new-tokens",
        "6",
        "--device",
        "cpu",
    )
    assert code == 0, err
    answer = json.loads(out)
    assert (answer["run"], answer["method"], answer["device"]) == ("cli-lora", "lora", "cpu")
    assert answer["prompt"] == "Who are you?" and answer["settings"]["greedy"] is True
    assert isinstance(answer["settings"]["seed"], int)
    for side in ("base", "tuned"):
        assert answer[side]["text"] and answer[side]["tokens_per_s"] > 0
        assert answer[side]["finish"] in ("eos", "length")
        assert isinstance(answer[side]["flags"], list)
    assert answer["base"]["text"] != answer["tuned"]["text"]
    assert "loaded cli-lora" in err  # progress on stderr, stdout is pure JSON


def test_eval_file_json_saves_the_table_in_the_run(
    lora_run: RunDir, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        json.dumps({"prompt": "Who are you?", "expect": ["Wren"]})
        + "\n"
        + json.dumps({"prompt": "Say hello."})
        + "\n"
    )
    code, out, err = chat(
        capsys, str(lora_run.path), "--eval", str(prompts), "--json", "--max-new-tokens", "4"
    )
    assert code == 0, err
    result = json.loads(out)
    assert [row["prompt"] for row in result["rows"]] == ["Who are you?", "Say hello."]
    assert result["settings"]["greedy"] is True and result["settings"]["max_new_tokens"] == 4
    assert result["rows"][0]["tuned"]["hit"] in (True, False)
    assert result["rows"][1]["tuned"]["hit"] is None
    assert result["summary"]["tuned"]["judged"] == 1
    saved = Path(result["saved"]["jsonl"])
    assert saved.parent == lora_run.path / "evals" and saved.exists()
    assert Path(result["saved"]["md"]).read_text().startswith("# Quick eval: cli-lora")


def test_an_eval_that_cannot_be_saved_still_shows_its_table(
    lora_run: RunDir, capsys: pytest.CaptureFixture[str]
) -> None:
    (lora_run.path / "evals").write_text("a file where the folder goes")
    code, out, err = chat(capsys, str(lora_run.path), "--eval", "heldout", "--max-new-tokens", "3")
    assert code == 1
    assert "tuned ok" in out  # the answers are not lost
    assert "error: the folder for saved chats and evals" in err and "is a file" in err


def test_eval_heldout_table_for_a_full_fine_tune(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = fake_run(base, "full", "cli-full", tmp_path / "runs")  # dataset: demo
    code, out, err = chat(capsys, str(run.path), "--eval", "heldout", "--max-new-tokens", "3")
    assert code == 0, err
    assert "expected" in out and "tuned ok" in out
    assert "tuned: 0 of" in out and "answers say the expected words" in out
    assert "saved:" in out and list((run.path / "evals").glob("*.md"))
    assert "(full on " in err  # two models: the tuned one is the run's own


def test_without_prompt_or_eval_it_opens_the_chat_screen_on_the_run(
    lora_run: RunDir, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    opened: list[Any] = []
    monkeypatch.setattr("tui_ft.ui.app.run", lambda **kw: opened.append(kw) or 0)
    code, _, _ = chat(capsys, str(lora_run.path))
    assert code == 0 and opened[0]["chat"].path == lora_run.path


def test_two_runs_answer_side_by_side_named_by_their_labels(
    base: Path, lora_run: RunDir, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = fake_run(base, "lora", "cli-lora-2", tmp_path / "runs", seed=2)
    args = ["--prompt", "Who are you?", "--greedy", "--max-new-tokens", "6", "--device", "cpu"]
    code, out, err = chat(capsys, str(lora_run.path), "--with", str(other.path), *args, "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["labels"] == {"base": "cli-lora-2", "tuned": "cli-lora"}
    assert answer["base"]["text"] != answer["tuned"]["text"]  # two different adapters
    assert "loaded cli-lora-2 and cli-lora" in err
    # A quick eval is base against tuned: refused with --with, before anything loads.
    code, _, err = chat(capsys, str(lora_run.path), "--with", str(other.path), "--eval", "heldout")
    assert code == 1 and "--with does not go with --eval" in err
    # The screen opens on both.
    opened: list[Any] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tui_ft.ui.app.run", lambda **kw: opened.append(kw) or 0)
        chat(capsys, str(lora_run.path), "--with", str(other.path))
    assert (opened[0]["chat"].path, opened[0]["chat_with"].path) == (lora_run.path, other.path)


def test_a_model_alone_has_no_screen_and_is_pointed_to_the_headless_forms(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = chat(capsys, "--model", "demo")
    assert code == 1 and out == ""
    assert "the chat screen opens a run" in err
    assert "--prompt" in err and "--eval" in err


def test_a_missing_run_fails_before_any_model_loads(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = chat(capsys, "no-such-run", "--prompt", "hi")
    assert code == 1 and "there is no run named 'no-such-run'" in err
    with pytest.raises(SystemExit) as exit_:  # a bad number: refused by the parser already
        chat(capsys, "no-such-run", "--prompt", "hi", "--temperature", "-1")
    assert exit_.value.code == 2
    assert "--temperature: must be a number of at least 0 (it is -1)." in capsys.readouterr().err


@pytest.mark.slow
def test_the_demo_model_answers_as_itself_beside_a_random_adapter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo model through the whole path. Its tuned side is a random adapter, not a trained
    one (training the demo takes far longer than a test should), so the base side is checked
    against plain transformers: greedy, same template, it must give the very same words."""
    from bench.chat_ab import random_adapter_run

    run = random_adapter_run(tmp_path)
    code, out, err = chat(
        capsys,
        str(run.path),
        "--prompt",
        "Who are you?",
        "--json",
        "--greedy",
        "--max-new-tokens",
        "24",
    )
    assert code == 0, err
    answer = json.loads(out)
    assert answer["base"]["text"] == plain_greedy_answer("Who are you?", 24), answer
    assert answer["tuned"]["text"] != answer["base"]["text"]
    assert answer["base"]["tokens_per_s"] > 0 and answer["tuned"]["tokens_per_s"] > 0


def plain_greedy_answer(prompt: str, max_new_tokens: int) -> str:
    import torch

    from tui_ft.core.models.resolve import resolve_model
    from tui_ft.engine.model_loading import load_model, load_tokenizer

    demo = resolve_model("demo")
    tokenizer = load_tokenizer(demo)
    model = load_model(demo, dtype=torch.float32)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False)
    return str(tokenizer.decode(out[0][ids.input_ids.shape[1] :], skip_special_tokens=True))
