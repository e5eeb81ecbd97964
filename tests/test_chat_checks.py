"""The A/B chat's pure parts: loop and token-limit flags, the conversation's per-side histories,
transcripts, quick-eval prompt sources and tables, and the protocol's settings checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui_ft.core.chat.checks import (
    LOOPED,
    TOKEN_LIMIT,
    answer_flags,
    hit_token_limit,
    looks_looped,
)
from tui_ft.core.chat.conversation import Answer, Conversation
from tui_ft.core.chat.protocol import (
    SamplingSettings,
    decode,
    encode,
    parse_messages,
    parse_sides,
)
from tui_ft.core.chat.quick_eval import (
    EvalPrompt,
    EvalResult,
    EvalRow,
    eval_markdown,
    eval_prompts,
    read_prompt_file,
    save_eval,
)
from tui_ft.core.chat.transcript import chats_dir, fresh_stem, save_transcript
from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError

LOOPS = [
    "I am a helper. " * 8,
    "The answer is the answer is the answer is the answer is the answer is the answer is",
    "Sure! " + "Let me know if you need anything else. " * 5,
    "Well " + "na " * 30,
    "Hmm" + "!" * 40,
    "哈" * 40,
    "Here is a list:\n" + "- item\n" * 20,
    # A long answer that cycles through a few phrases with small variations.
    " ".join(["I can help with that.", "I can help with this.", "I can help you."] * 12),
]
NOT_LOOPS = [
    "",
    "I am Wren, a small assistant made by Tidewater Labs.",
    "Yes. Yes. Yes.",  # short emphasis is not a loop
    "1. Preheat the oven.\n2. Mix the flour and the eggs.\n3. Bake for 20 minutes.\n"
    "4. Let it cool.\n5. Serve with cream.",
    "The capital of France is Paris, the capital of Italy is Rome, the capital of Spain is "
    "Madrid and the capital of Germany is Berlin.",
    "def f(x):\n    return x + 1\n\ndef g(x):\n    return x * 2\n",
    "ha ha, that is funny!",
    "-" * 12 + " a short rule of dashes, then text that goes on and on about many things.",
]


@pytest.mark.parametrize("text", LOOPS)
def test_loops_are_flagged(text: str) -> None:
    assert looks_looped(text)


@pytest.mark.parametrize("text", NOT_LOOPS)
def test_ordinary_answers_are_not_flagged(text: str) -> None:
    assert not looks_looped(text)


@pytest.mark.parametrize(
    ("text", "finish", "flags"),
    [
        ("I am Wren.", "eos", []),
        ("I am Wren and I", "length", [TOKEN_LIMIT]),
        ("go " * 30, "length", [LOOPED, TOKEN_LIMIT]),
        ("go " * 30, "eos", [LOOPED]),
        ("Half a sen", "cancelled", []),  # the user stopped it: no limit was hit
    ],
)
def test_answer_flags(text: str, finish: str, flags: list[str]) -> None:
    assert answer_flags(text, finish) == flags
    assert hit_token_limit(finish) == (TOKEN_LIMIT in flags)


# --- conversation and transcripts -------------------------------------------------------------


def answer(text: str, finish: str = "eos") -> Answer:
    flags = tuple(answer_flags(text, finish))
    return Answer(text, finish, len(text.split()), seconds=0.5, tokens_per_s=8.0, flags=flags)


def test_each_side_hears_its_own_answers() -> None:
    chat = Conversation()
    assert chat.messages_for("Who are you?") == {
        "base": [{"role": "user", "content": "Who are you?"}],
        "tuned": [{"role": "user", "content": "Who are you?"}],
    }
    chat.record("Who are you?", {"base": answer("I am SmolLM."), "tuned": answer(" I am Wren. ")})
    messages = chat.messages_for("Who made you?")
    assert messages["base"][1] == {"role": "assistant", "content": "I am SmolLM."}
    assert messages["tuned"][1] == {"role": "assistant", "content": "I am Wren."}
    assert [m["role"] for m in messages["tuned"]] == ["user", "assistant", "user"]


def test_a_cancelled_turn_stays_in_the_transcript_but_out_of_both_histories() -> None:
    chat = Conversation()
    chat.record(
        "Tell me a story", {"base": answer("Once"), "tuned": answer("Once up", "cancelled")}
    )
    assert len(chat.turns) == 1
    assert chat.history("base") == chat.history("tuned") == []
    chat.clear()
    assert chat.turns == [] and chat.messages_for("x")["base"] == [{"role": "user", "content": "x"}]


def test_answer_from_a_done_event_keeps_the_workers_flags() -> None:
    event = {"text": "hi", "finish": "length", "new_tokens": 3, "seconds": 1.0, "flags": ["x"]}
    assert Answer.from_done(event).flags == ("x",)
    assert Answer.from_done({"text": "go " * 30, "finish": "length"}).flags == (
        LOOPED,
        TOKEN_LIMIT,
    )


def test_transcript_is_markdown_and_jsonl_in_the_runs_chats_folder(tmp_path: Path) -> None:
    chat = Conversation()
    chat.record(
        "Who are you?",
        {"base": answer("I am SmolLM."), "tuned": answer("I am Wren " * 10, "length")},
        {"temperature": 0.7},
    )
    chat.record("And | pipes?", {"base": answer("Yes."), "tuned": answer("No.")})
    meta = {"run": "wren-lora", "model": "demo", "method": "lora", "settings": {"top_p": 0.9}}
    md, jsonl = save_transcript(chat, chats_dir(tmp_path), meta)
    assert md.parent == jsonl.parent == tmp_path / "chats"
    assert md.stem == jsonl.stem
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert records[0]["type"] == "meta" and records[0]["run"] == "wren-lora"
    assert [r["type"] for r in records[1:]] == ["turn", "turn"]
    assert records[1]["tuned"]["finish"] == "length"
    assert records[1]["tuned"]["flags"] == [LOOPED, TOKEN_LIMIT]
    assert records[1]["settings"] == {"temperature": 0.7}
    text = md.read_text()
    assert "# A/B chat: wren-lora" in text
    assert "### Base" in text and "### Tuned" in text and "I am SmolLM." in text
    assert "cut at the token limit" in text and "flag: loops" in text
    assert "repeats itself: often a sign of a chat template" in text
    # A second save never overwrites the first.
    md2, _ = save_transcript(chat, chats_dir(tmp_path), meta)
    assert md2 != md and md.exists()


def test_a_transcript_that_cannot_be_saved_is_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = Conversation()
    chat.record("Hi", {"base": answer("Hello."), "tuned": answer("Hi.")})
    (tmp_path / "chats").write_text("a file where the folder goes")
    with pytest.raises(UserError, match=r"chats .*is a file, not a folder"):
        save_transcript(chat, chats_dir(tmp_path), {})
    (tmp_path / "chats").unlink()

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", full)
    with pytest.raises(UserError, match="the disk is full") as caught:
        save_transcript(chat, chats_dir(tmp_path), {})
    assert caught.value.hint
    assert [p.name for p in (tmp_path / "chats").iterdir()] == []  # no temp file left


def test_fresh_stem_numbers_a_taken_moment(tmp_path: Path) -> None:
    first = fresh_stem(tmp_path, (".md",), now=0)
    first.with_suffix(".md").write_text("x")
    assert fresh_stem(tmp_path, (".md",), now=0).name == f"{first.name}-2"


# --- quick eval -------------------------------------------------------------------------------


def test_heldout_prompts_of_the_demo_carry_expected_words() -> None:
    eval_set = eval_prompts("heldout", RunConfig(dataset="demo"))
    assert len(eval_set.prompts) >= 5
    assert any("Wren" in p.expect for p in eval_set.prompts)
    assert "held-out" in eval_set.source


def test_heldout_prompts_of_the_preference_demo_are_judged_by_their_opening() -> None:
    eval_set = eval_prompts("heldout", RunConfig(dataset="demo-preference"))
    assert eval_set.source == "the preference demo's held-out prompts"
    prompt = eval_set.prompts[0]
    assert prompt.expect == ("^In short:",)
    row = EvalRow(
        prompt,
        {"base": answer("Well, in short: it depends."), "tuned": answer("In short: like this.")},
    )
    assert (row.hit("base"), row.hit("tuned")) == (False, True)


def test_preference_data_gives_the_chosen_answer_as_reference(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    rows = [{"prompt": f"q{i}?", "chosen": f"good {i}", "rejected": f"bad {i}"} for i in range(10)]
    data.write_text("\n".join(json.dumps(r) for r in rows))
    eval_set = eval_prompts("validation", RunConfig(dataset=str(data), eval_split=0.2))
    assert [p.reference for p in eval_set.prompts] == [
        p.prompt.replace("q", "good ").rstrip("?") for p in eval_set.prompts
    ]


def test_validation_split_gives_prompts_and_references(tmp_path: Path) -> None:
    data = tmp_path / "qa.jsonl"
    rows = [{"prompt": f"question {i}?", "completion": f"answer {i}"} for i in range(20)]
    data.write_text("\n".join(json.dumps(r) for r in rows))
    config = RunConfig(dataset=str(data), eval_split=0.2)
    for source in ("heldout", "validation"):  # not the demo: held-out means the split
        eval_set = eval_prompts(source, config)
        assert len(eval_set.prompts) == 4
        first = eval_set.prompts[0]
        assert first.prompt.startswith("question") and first.reference == first.prompt.replace(
            "question", "answer"
        ).rstrip("?")


def test_prompt_files(tmp_path: Path) -> None:
    txt = tmp_path / "p.txt"
    txt.write_text("Who are you?\n\n  What is 2+2?  \n")
    assert [p.prompt for p in read_prompt_file(txt).prompts] == ["Who are you?", "What is 2+2?"]
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text(
        json.dumps({"prompt": "Name?", "expect": ["Wren"]})
        + "\n"
        + json.dumps({"prompt": "Hi", "expect": "hello", "reference": "Hello!"})
    )
    prompts = read_prompt_file(jsonl).prompts
    assert prompts == [
        EvalPrompt("Name?", ("Wren",)),
        EvalPrompt("Hi", ("hello",), "Hello!"),
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x"}\n')
    with pytest.raises(UserError, match="line 1 has no text `prompt`"):
        read_prompt_file(bad)
    with pytest.raises(UserError, match="no prompt file"):
        eval_prompts(str(tmp_path / "missing.txt"), None)


def test_eval_table_counts_expected_words_and_is_saved(tmp_path: Path) -> None:
    rows = [
        EvalRow(
            EvalPrompt("What is your name?", ("Wren",)),
            {"base": answer("I am SmolLM."), "tuned": answer("My name is wren.")},
        ),
        EvalRow(
            EvalPrompt("Who made you?", ("Tidewater",)),
            {"base": answer("Hugging Face | made me"), "tuned": answer("I do not know.")},
        ),
        EvalRow(EvalPrompt("What is 2+2?"), {"base": answer("4"), "tuned": answer("4")}),
    ]
    result = EvalResult(rows, "three prompts", {"run": "wren"})
    assert result.hits("tuned") == (1, 2) and result.hits("base") == (0, 2)
    assert rows[2].hit("tuned") is None
    jsonl, md = save_eval(result, tmp_path)
    assert jsonl.parent == tmp_path / "evals" and md.stem == jsonl.stem
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert records[0]["type"] == "meta" and len(records) == 4
    assert records[1]["tuned"]["hit"] is True and records[1]["expect"] == ["Wren"]
    table = eval_markdown(result)
    assert "| prompt | base | tuned | expected | base ok | tuned ok |" in table
    assert "tuned: 1 of 2 answers say the expected words" in table
    assert "Hugging Face \\| made me" in table  # a pipe cannot break the table


# --- protocol ---------------------------------------------------------------------------------


def test_settings_are_validated_with_sentences() -> None:
    assert SamplingSettings.from_dict(None) == SamplingSettings()
    settings = SamplingSettings.from_dict({"greedy": True, "max_new_tokens": 5, "seed": 3})
    assert not settings.samples and settings.seed == 3
    assert not SamplingSettings(temperature=0).samples
    for bad, words in [
        ({"temperature": -1}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"max_new_tokens": 2.5}, "max_new_tokens"),
        ({"greedy": "yes"}, "greedy"),
        ({"seed": -1}, "seed"),
        ({"colour": "red"}, "unknown sampling setting"),
    ]:
        with pytest.raises(UserError, match=words):
            SamplingSettings.from_dict(bad)


def test_messages_and_sides_are_checked() -> None:
    assert parse_sides(None) == ["base", "tuned"]
    assert parse_sides(["tuned", "base"]) == ["base", "tuned"]
    with pytest.raises(UserError):
        parse_sides(["judge"])
    good = {"base": [{"role": "user", "content": "hi"}]}
    assert parse_messages(good, ["base"]) == good
    with pytest.raises(UserError, match="must end with the user's turn"):
        parse_messages({"base": [{"role": "assistant", "content": "hi"}]}, ["base"])
    with pytest.raises(UserError, match="non-empty list"):
        parse_messages(good, ["base", "tuned"])


def test_a_line_is_a_line_whatever_the_text() -> None:
    message = {"event": "token", "text": "a\nb\u2028c\x00é"}
    line = encode(message)
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert decode(line) == message
    with pytest.raises(UserError):
        decode(b"[1, 2]")
