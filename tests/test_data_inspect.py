"""`tui-ft data inspect`: every format reports its detection, lengths and a marked example;
broken files are named down to the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tiny import write_model_dir
from tui_ft.cli import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_model_dir(tmp_path_factory.mktemp("models") / "tiny"))


def inspect(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["data", "inspect", *args])
    out, err = capsys.readouterr()
    return code, out, err


def inspect_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, err = inspect(capsys, *args, "--json")
    assert code in (0, 1), err
    return json.loads(out)


CHAT = [("Who are you?", "I am Wren."), ("What is 2+2?", "Four.")]
FILES = {
    "messages.jsonl": "\n".join(
        json.dumps(
            {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
        )
        for q, a in CHAT
    ),
    "alpaca.json": json.dumps([{"instruction": q, "input": "", "output": a} for q, a in CHAT]),
    "sharegpt.jsonl": "\n".join(
        json.dumps({"conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]})
        for q, a in CHAT
    ),
    "pc.csv": "prompt,completion\n" + "\n".join(f'"{q}","{a}"' for q, a in CHAT),
    "plain.txt": "Paris is the capital of France.\n\nTwo plus two is four.\n",
}
EXPECTED_FORMAT = {
    "messages.jsonl": "messages",
    "alpaca.json": "alpaca",
    "sharegpt.jsonl": "sharegpt",
    "pc.csv": "prompt_completion",
    "plain.txt": "text",
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_format_is_detected_measured_and_rendered(
    name: str, tmp_path: Path, model_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_text(FILES[name])
    report = inspect_json(capsys, str(path), "--model", model_dir)
    assert report["format"] == EXPECTED_FORMAT[name]
    assert report["reason"]
    assert report["rows"] == report["examples"] == 2 and report["problem_count"] == 0
    stats = report["tokens"]
    assert 0 < stats["min"] <= stats["median"] <= stats["p95"] <= stats["max"]
    assert sum(b["count"] for b in report["histogram"]) == 2
    trained = "".join(s["text"] for s in report["example"]["segments"] if s["trained"])
    if name == "plain.txt":
        assert trained.startswith("Paris is the capital")
    else:
        assert trained == "I am Wren.<|im_end|>\n"
        assert any(s["special"] and not s["trained"] for s in report["example"]["segments"])


def test_same_rows_in_two_file_types_share_a_fingerprint(
    tmp_path: Path, model_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"prompt": q, "completion": a} for q, a in CHAT]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "a.json").write_text(json.dumps(rows, indent=2))
    first = inspect_json(capsys, str(tmp_path / "a.jsonl"), "--model", model_dir)
    second = inspect_json(capsys, str(tmp_path / "a.json"), "--model", model_dir)
    assert first["fingerprint"] == second["fingerprint"]


def test_truncation_is_counted_against_max_length(
    tmp_path: Path, model_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "long.jsonl"
    rows = [{"prompt": "Hi", "completion": "word " * n} for n in (2, 200, 300)]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    report = inspect_json(capsys, str(path), "--model", model_dir, "--max-length", "64")
    assert report["truncated"] == 2
    assert report["tokens"]["max"] > 64


def test_human_output_marks_trained_text_and_names_the_pieces(
    tmp_path: Path, model_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text(FILES["messages.jsonl"])
    code, out, _ = inspect(capsys, str(path), "--model", model_dir, "--example", "2")
    assert code == 0
    for label in ("format", "rows", "fingerprint", "tokens", "max_length", "length histogram"):
        assert label in out
    assert "«Four.<|im_end|>\n»" in out  # not a terminal: trained text is bracketed, not coloured


def test_bad_rows_are_listed_by_line_and_fail_the_command(
    tmp_path: Path, model_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = json.dumps({"prompt": "Hi", "completion": "Hello"})
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([good, "{not json", good, json.dumps({"prompt": "Hi"})]))
    code, out, _ = inspect(capsys, str(path), "--model", model_dir)
    assert code == 1
    assert "2 bad rows" in out
    assert "bad.jsonl line 2" in out and "bad.jsonl line 4" in out
    assert "completion" in out  # names the missing field


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b'{"prompt": "caf\xe9", "completion": "x"}\n', "line 1"),  # Latin-1, not UTF-8
    ],
)
def test_unreadable_files_are_one_sentence_on_stderr(
    content: bytes,
    expected: str,
    tmp_path: Path,
    model_dir: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(content)
    code, out, err = inspect(capsys, str(path), "--model", model_dir)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and expected in err and "Traceback" not in err
    assert "data.jsonl" in err


def test_wrong_column_mapping_names_the_columns(
    tmp_path: Path, model_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "qa.csv"
    path.write_text("question,answer\nHi,Hello\n")
    code, _, err = inspect(capsys, str(path), "--model", model_dir, "--column", "prompt=questoin")
    assert code == 1 and "questoin" in err and "question" in err
    code, out, _ = inspect(
        capsys,
        str(path),
        "--model",
        model_dir,
        "--column",
        "prompt=question",
        "--column",
        "completion=answer",
    )
    assert code == 0 and "prompt_completion" in out


def test_missing_file_and_missing_model_are_sentences(
    tmp_path: Path, model_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = inspect(capsys, str(tmp_path / "nope.jsonl"), "--model", model_dir)
    assert code == 1 and "nope.jsonl" in err
    code, _, err = inspect(capsys, "demo", "--model", str(tmp_path / "no-model"))
    assert code == 1 and "no-model" in err and "Traceback" not in err


def test_a_model_without_chat_template_gets_the_stated_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = str(write_model_dir(tmp_path / "bare", chat_template=None))
    (tmp_path / "m.jsonl").write_text(FILES["messages.jsonl"])
    report = inspect_json(capsys, str(tmp_path / "m.jsonl"), "--model", bare)
    assert "ChatML" in report["template_note"]


@pytest.mark.slow
def test_demo_dataset_with_the_demo_model(capsys: pytest.CaptureFixture[str]) -> None:
    report = inspect_json(capsys, "demo")
    assert report["format"] == "messages" and report["examples"] >= 90
    assert report["truncated"] == 0
    segments = report["example"]["segments"]
    trained = "".join(s["text"] for s in segments if s["trained"])
    assert "Wren" in trained and trained.rstrip().endswith("<|im_end|>")
    assert "SmolLM" in "".join(s["text"] for s in segments if not s["trained"])  # default system


# --- preference data ---------------------------------------------------------------------------

TEST_OBJECTIVES = "tests.objectives.tiny_pairs,tests.objectives.tiny_unpaired"


@pytest.fixture
def pair_objectives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUI_FT_OBJECTIVES", TEST_OBJECTIVES)


def jsonl(*rows: object) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def turn(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


QUESTION = "Why is the sky blue?"
GOOD, BAD = "In short: air scatters blue light.", "Well, it depends, and honestly who knows."
PREFERENCE_FILES = {
    "trl.jsonl": jsonl(
        {"system": "Be brief.", "prompt": QUESTION, "chosen": GOOD, "rejected": BAD},
        {"prompt": "Hi", "chosen": "Hello!", "rejected": "What?"},
    ),
    "trl-conversational.json": json.dumps(
        [
            {
                "prompt": [turn("user", QUESTION)],
                "chosen": [turn("assistant", GOOD)],
                "rejected": [turn("assistant", BAD)],
            },
            {
                "chosen": [turn("user", "Hi"), turn("assistant", "Hello!")],
                "rejected": [turn("user", "Hi"), turn("assistant", "What?")],
            },
        ]
    ),
    "llamafactory-alpaca.csv": "instruction,input,chosen,rejected\n"
    f'"{QUESTION}",,"{GOOD}","{BAD}"\n'
    'Say hi.,,"Hello!","What?"\n',
    "llamafactory-sharegpt.jsonl": jsonl(
        *(
            {
                "conversations": [{"from": "human", "value": q}],
                "chosen": {"from": "gpt", "value": good},
                "rejected": {"from": "gpt", "value": bad},
            }
            for q, good, bad in ((QUESTION, GOOD, BAD), ("Hi", "Hello!", "What?"))
        )
    ),
    "kto.csv": f'prompt,completion,label\n"{QUESTION}","{GOOD}",true\n"{QUESTION}","{BAD}",false\n',
}


@pytest.mark.parametrize("name", sorted(PREFERENCE_FILES))
def test_each_preference_format_is_detected_and_shows_its_answers_apart(
    name: str, tmp_path: Path, model_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_text(PREFERENCE_FILES[name])
    unpaired = name == "kto.csv"
    report = inspect_json(capsys, str(path), "--model", model_dir)
    assert report["format"] == ("unpaired_preference" if unpaired else "preference")
    assert report["reason"].startswith("every row has")
    assert (report["rows"], report["examples"], report["problem_count"]) == (2, 2, 0)
    example = report["example"]
    prompt = "".join(s["text"] for s in example["prompt_segments"])
    assert QUESTION in prompt and GOOD not in prompt and BAD not in prompt
    sides = [(a["side"], a["text"]) for a in example["answers"]]
    assert sides == ([("completion", GOOD)] if unpaired else [("chosen", GOOD), ("rejected", BAD)])
    assert example["label"] is (True if unpaired else None)
    assert all(a["tokens"] > 0 for a in example["answers"])
    assert example["trained_tokens"] == sum(a["tokens"] for a in example["answers"])
    assert example["prompt_tokens"] > 0 and report["nothing_left_to_train"] == 0

    code, out, _ = inspect(capsys, str(path), "--model", model_dir)
    assert code == 0
    assert out.count(QUESTION) == 1  # the prompt once
    for answer in example["answers"]:
        assert f"{answer['side']} · {answer['tokens']} tokens" in out
    if unpaired:
        assert "label: true (desirable)" in out


MALFORMED = {
    "same.jsonl": (
        jsonl(
            {"prompt": "Hi", "chosen": "Hello!", "rejected": "What?"},
            {"prompt": "Hi", "chosen": "Hello!", "rejected": "Hello!"},
        ),
        "same.jsonl line 2: `chosen` and `rejected` are the same answer",
    ),
    "empty.json": (
        json.dumps(
            [
                {"prompt": "Hi", "chosen": "Hello!", "rejected": "What?"},
                {"prompt": "Hi", "chosen": "Hello!", "rejected": "What?"},
                {"prompt": "Hi", "chosen": "Hello!", "rejected": "  "},
            ]
        ),
        "empty.json row 3: `rejected` is empty",
    ),
    "no-prompt.jsonl": (
        jsonl(
            {"prompt": "Hi", "chosen": "Hello!", "rejected": "What?"},
            {"chosen": "Hello!", "rejected": "What?"},
        ),
        "no-prompt.jsonl line 2: missing the prompt",
    ),
    "label.csv": (
        "prompt,completion,label\nHi,Hello!,true\nHi,Go away.,nope\nHi,What?,false\n",
        "label.csv row 2 (line 3): `label` should be true or false, got text",
    ),
    "one-label.jsonl": (
        jsonl(*({"prompt": f"q{n}", "completion": "a", "label": True} for n in range(3))),
        "every row's `label` is true: unpaired preference (KTO) data needs both desirable",
    ),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_preference_files_name_the_bad_line(
    name: str, tmp_path: Path, model_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = MALFORMED[name]
    path = tmp_path / name
    path.write_text(text)
    code, out, err = inspect(capsys, str(path), "--model", model_dir)
    assert code == 1 and "Traceback" not in err
    assert expected in " ".join(out.split())  # the console wraps long lines


@pytest.mark.usefixtures("pair_objectives")
@pytest.mark.parametrize(
    ("name", "objective", "fits"),
    [
        ("trl.jsonl", "tiny_pairs", True),
        ("trl.jsonl", "tiny_unpaired", True),  # pairs unpair into good and bad answers
        ("kto.csv", "tiny_unpaired", True),
        ("kto.csv", "tiny_pairs", False),
        ("trl.jsonl", "sft", False),
    ],
)
def test_the_objective_says_whether_the_data_fit(
    name: str,
    objective: str,
    fits: bool,
    tmp_path: Path,
    model_dir: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / name
    path.write_text(PREFERENCE_FILES[name])
    code, out, _ = inspect(capsys, str(path), "--model", model_dir, "--objective", objective)
    assert code == (0 if fits else 1)
    said = " ".join(out.split())
    if fits:
        assert f"objective {objective} trains on" in said and "it fits" in said
    else:
        assert f"which objective {objective} does not train on" in said
        assert "choose another objective" in said
    report = inspect_json(capsys, str(path), "--model", model_dir, "--objective", objective)
    assert report["fit"]["objective"] == objective and report["fit"]["fits"] is fits


def test_an_unknown_objective_is_named_before_anything_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = inspect(capsys, str(tmp_path / "absent.jsonl"), "--objective", "sfft")
    assert code == 1 and out == ""
    assert "'sfft' is not an objective; the nearest is 'sft'" in err
