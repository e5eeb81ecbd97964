"""Datasets: every format from every file type, bad rows reported with their place, the HF cache."""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from tui_ft.core import paths
from tui_ft.core.datasets.load import (
    FORMATS,
    Dataset,
    Example,
    Message,
    examples_fingerprint,
    load_dataset,
    split_examples,
)
from tui_ft.core.errors import UserError

HI = (Message("user", "Hi"), Message("assistant", "Hello!"))
# One row per format, and what it becomes.
SAMPLES: dict[str, tuple[dict[str, object], tuple[Message, ...] | str]] = {
    "alpaca": (
        {"instruction": "Add 2 and 3.", "input": "", "output": "5"},
        (Message("user", "Add 2 and 3."), Message("assistant", "5")),
    ),
    "sharegpt": (
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}]},
        HI,
    ),
    "messages": (
        {
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
            ]
        },
        HI,
    ),
    "prompt_completion": (
        {"prompt": "2+3=", "completion": "5"},
        (Message("user", "2+3="), Message("assistant", "5")),
    ),
    "text": ({"text": "Once upon a time."}, "Once upon a time."),
    # Preference rows keep the prompt in `messages`, the answers apart.
    "preference": ({"prompt": "Hi", "chosen": "Hello!", "rejected": "What?"}, HI[:1]),
    "unpaired_preference": ({"prompt": "Hi", "completion": "Hello!", "label": True}, HI[:1]),
    # Prompts for GRPO keep their other fields for the rewards.
    "prompt_only": ({"prompt": "2+3=", "answer": "5"}, (Message("user", "2+3="),)),
}
REASONS = {
    "alpaca": "every row has `instruction` and `output` → Alpaca",
    "sharegpt": "every row has a `conversations` list → ShareGPT",
    "messages": "every row has a `messages` list → OpenAI messages",
    "prompt_completion": "every row has `prompt` and `completion` → prompt/completion",
    "text": "every row has `text` → plain text",
    "preference": "every row has `chosen` and `rejected` → preference pairs",
    "unpaired_preference": "every row has `prompt`, `completion` and `label` → unpaired preferences",
    "prompt_only": "every row has `prompt` without an answer → prompts (GRPO)",
}
KINDS = ("jsonl", "json", "csv", "parquet")


def write(folder: Path, kind: str, rows: list[dict[str, object]], name: str = "data") -> Path:
    """`rows` as a .jsonl, .json (pretty-printed), .csv (lists as JSON text) or .parquet file."""
    path = folder / f"{name}.{kind}"
    if kind == "jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    elif kind == "json":
        path.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    elif kind == "csv":
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def _cell(value: object) -> object:
    return json.dumps(value) if isinstance(value, list | dict) else value


def write_lines(tmp_path: Path, text: str, name: str = "data.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def content(example: Example) -> tuple[Message, ...] | str | None:
    return example.text if example.text is not None else example.messages


def user_error(ref: object, **kwargs: object) -> UserError:
    with pytest.raises(UserError) as caught:
        load_dataset(str(ref), **kwargs)  # type: ignore[arg-type]
    return caught.value


# --- formats × file types --------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_detected_from_every_file_type(tmp_path: Path, fmt: str, kind: str) -> None:
    row, expected = SAMPLES[fmt]
    data = load_dataset(str(write(tmp_path, kind, [row, row])))
    assert (data.format, data.problem_count, data.rows_total) == (fmt, 0, 2)
    assert data.reason.startswith(REASONS[fmt])
    assert [content(e) for e in data.examples] == [expected, expected]
    assert data.path == tmp_path / f"data.{kind}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_data_has_one_fingerprint_in_every_file_type(tmp_path: Path, fmt: str) -> None:
    row, _ = SAMPLES[fmt]
    rows = [row, {**row}]
    prints = {load_dataset(str(write(tmp_path, kind, rows))).fingerprint for kind in KINDS}
    assert len(prints) == 1
    assert len(prints.pop()) == 16


def test_places_are_lines_in_jsonl_and_rows_elsewhere(tmp_path: Path) -> None:
    row, _ = SAMPLES["text"]
    lines = write_lines(tmp_path, f"\n{json.dumps(row)}\n\n{json.dumps(row)}\n")
    assert [e.where for e in load_dataset(str(lines)).examples] == [
        "data.jsonl line 2",
        "data.jsonl line 4",
    ]
    wheres = {
        kind: load_dataset(str(write(tmp_path, kind, [row, row]))).examples[1].where
        for kind in ("json", "csv", "parquet")
    }
    assert wheres == {
        "json": "data.json row 2",
        "csv": "data.csv row 2 (line 3)",
        "parquet": "data.parquet row 2",
    }


def test_demo_is_the_shipped_messages_dataset() -> None:
    if not (paths.DATA_DIR / "demo" / "identity.jsonl").is_file():
        pytest.skip("the demo dataset is not written yet")
    data = load_dataset("demo")
    assert (data.source, data.format, data.problem_count) == ("demo", "messages", 0)
    assert data.examples and data.path == paths.DATA_DIR / "demo" / "identity.jsonl"


def test_a_missing_demo_is_a_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path)
    assert "demo dataset is missing" in user_error("demo").message


# --- what each format becomes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param(
            {
                "system": "Be brief.",
                "history": [["Hi", "Hello!"]],
                "instruction": "Translate:",
                "input": "bonjour",
                "output": "hello",
            },
            (
                Message("system", "Be brief."),
                *HI,
                Message("user", "Translate:\n\nbonjour"),
                Message("assistant", "hello"),
            ),
            id="alpaca-system-history-input",
        ),
        pytest.param(
            {
                "conversations": [
                    {"from": "system", "value": "S"},
                    {"from": "user", "value": "Q"},
                    {"from": "model", "value": "A"},
                    {"from": "Human", "value": "Q2"},
                    {"from": "assistant", "value": "A2"},
                ]
            },
            (
                Message("system", "S"),
                Message("user", "Q"),
                Message("assistant", "A"),
                Message("user", "Q2"),
                Message("assistant", "A2"),
            ),
            id="sharegpt-role-names",
        ),
        pytest.param(
            {"conversations": [{"role": "user", "content": "Hi"}, {"role": "gpt", "value": "x"}]},
            None,
            id="sharegpt-keys-must-pair",
        ),
        pytest.param(
            {
                "messages": [
                    {"role": "system", "content": "S", "name": "ignored"},
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello!", "weight": 1},
                ]
            },
            (Message("system", "S"), *HI),
            id="messages-extra-keys",
        ),
        pytest.param(
            {"system": "S", "prompt": "2+3=", "completion": "5"},
            (Message("system", "S"), Message("user", "2+3="), Message("assistant", "5")),
            id="prompt-completion-system",
        ),
        pytest.param(
            {"prompt": [{"role": "user", "content": "Hi"}], "completion": [{}]},
            None,
            id="conversational-prompt-completion-bad-turn",
        ),
        pytest.param(
            {
                "prompt": [{"role": "user", "content": "Hi"}],
                "completion": [{"role": "assistant", "content": "Hello!"}],
            },
            HI,
            id="conversational-prompt-completion",
        ),
    ],
)
def test_rows_become_conversations(
    tmp_path: Path, row: dict[str, object], expected: tuple[Message, ...] | None
) -> None:
    data = load_dataset(str(write(tmp_path, "jsonl", [row])))
    if expected is None:
        assert data.problem_count == 1 and not data.examples
    else:
        assert [e.messages for e in data.examples] == [expected]


@pytest.mark.parametrize(
    ("text", "expected", "rows"),
    [
        ("One\ntwo\n\n\nThree\n", ["One\ntwo", "Three"], [1, 5]),
        ("\n  \nOnly one\r\ndocument\r\n", ["Only one\ndocument"], [3]),
        ("A whole\nfile\nwithout blank lines", ["A whole\nfile\nwithout blank lines"], [1]),
    ],
)
def test_text_files_are_split_into_paragraphs(
    tmp_path: Path, text: str, expected: list[str], rows: list[int]
) -> None:
    data = load_dataset(str(write_lines(tmp_path, text, "notes.txt")))
    assert data.format == "text"
    assert f"each paragraph (lines between blank lines) is one example, {len(expected)}" in (
        data.reason
    )
    assert [(e.text, e.row) for e in data.examples] == list(zip(expected, rows, strict=True))


# --- detection, --format, columns ------------------------------------------------------------


def test_the_reason_counts_rows_when_not_all_fit(tmp_path: Path) -> None:
    good, _ = SAMPLES["alpaca"]
    data = load_dataset(str(write(tmp_path, "jsonl", [good, good, {"prompt": "p"}])))
    assert data.format == "alpaca"
    assert data.reason.startswith("2 of 3 rows have `instruction` and `output`")
    assert [p.message for p in data.problems] == ["missing `instruction` and `output`"]


def test_messages_win_over_a_text_column_unless_chosen(tmp_path: Path) -> None:
    row = {**SAMPLES["messages"][0], "text": "<rendered>"}
    path = write(tmp_path, "jsonl", [row])
    assert load_dataset(str(path)).format == "messages"
    chosen = load_dataset(str(path), fmt="text")
    assert (chosen.format, chosen.reason) == ("text", "the format was chosen: text")
    assert chosen.examples[0].text == "<rendered>"


def test_a_chosen_format_reports_rows_that_do_not_fit(tmp_path: Path) -> None:
    data = load_dataset(str(write(tmp_path, "jsonl", [SAMPLES["alpaca"][0]])), fmt="Messages")
    assert data.format == "messages"
    assert [str(p) for p in data.problems] == ["data.jsonl line 1: missing `messages`"]


def test_rows_of_no_known_format_name_their_fields(tmp_path: Path) -> None:
    err = user_error(write(tmp_path, "jsonl", [{"question": "q", "answer": "a"}]))
    assert "data.jsonl" in err.message and "`answer`, `question`" in err.message
    assert "--column prompt=question" in err.hint and "--format" in err.hint


@pytest.mark.parametrize(
    ("row", "columns", "fmt", "expected"),
    [
        (
            {"question": "2+3=", "answer": "5", "text": "noise"},
            {"prompt": "question", "completion": "answer"},
            "prompt_completion",
            (Message("user", "2+3="), Message("assistant", "5")),
        ),
        (
            {"dialog": SAMPLES["messages"][0]["messages"]},
            {"messages": "dialog"},
            "messages",
            HI,
        ),
        ({"body": "Once."}, {"text": "body"}, "text", "Once."),
    ],
)
def test_columns_map_the_files_names_to_ours(
    tmp_path: Path, row: dict[str, object], columns: dict[str, str], fmt: str, expected: object
) -> None:
    data = load_dataset(str(write(tmp_path, "csv", [row])), columns=columns)
    assert data.format == fmt
    assert "(after mapping `" in data.reason
    assert [content(e) for e in data.examples] == [expected]


def test_a_mapped_column_no_row_has_names_the_columns_there(tmp_path: Path) -> None:
    path = write(tmp_path, "csv", [{"question": "q", "answer": "a"}])
    err = user_error(path, columns={"prompt": "questoin", "completion": "answer"})
    assert "'questoin'" in err.message and str(path) in err.message
    assert "question, answer" in err.message or "answer, question" in err.message


def test_a_mapping_to_an_unknown_field_names_the_nearest(tmp_path: Path) -> None:
    err = user_error(write(tmp_path, "csv", [{"q": "q"}]), columns={"promt": "q"})
    assert "'promt'" in err.message and "'prompt'" in err.message


def test_bad_rows_of_a_mapped_file_speak_of_its_columns(tmp_path: Path) -> None:
    rows = [{"question": "q", "answer": "a"}, {"question": "q"}]
    data = load_dataset(
        str(write(tmp_path, "jsonl", rows)), columns={"prompt": "question", "completion": "answer"}
    )
    assert [str(p) for p in data.problems] == ["data.jsonl line 2: missing `answer`"]


@pytest.mark.parametrize(
    ("fmt", "nearest"),
    [("alpca", "alpaca"), ("share_gtp", "sharegpt"), ("prompt-complete", "prompt_completion")],
)
def test_an_unknown_format_names_the_nearest(tmp_path: Path, fmt: str, nearest: str) -> None:
    err = user_error(write(tmp_path, "jsonl", [SAMPLES["text"][0]]), fmt=fmt)
    assert f"{fmt!r}" in err.message and f"the nearest is {nearest!r}" in err.message
    assert "prompt_completion" in err.hint


def test_a_text_file_is_only_text(tmp_path: Path) -> None:
    err = user_error(write_lines(tmp_path, "Some prose.", "notes.txt"), fmt="alpaca")
    assert "notes.txt" in err.message and "plain text only" in err.message


# --- bad rows ---------------------------------------------------------------------------------

GOOD = json.dumps(SAMPLES["messages"][0])


def turns(*pairs: tuple[object, object]) -> str:
    return json.dumps({"messages": [{"role": r, "content": c} for r, c in pairs]})


BAD_MESSAGES_ROWS = [
    ("[1, 2]", "expected an object with fields, got a list"),
    ('{"other": 1}', "missing `messages`"),
    ('{"messages": "hi"}', "`messages` should be a list, got text"),
    ('{"messages": []}', "`messages` is empty"),
    (
        '{"messages": [3]}',
        "turn 1 of `messages` should be an object with role and content, got a number (3)",
    ),
    (
        '{"messages": [{"role": "user"}]}',
        "turn 1 of `messages` needs `role` and `content` (or ShareGPT's `from` and `value`)",
    ),
    (
        turns(("user", "Hi"), ("tool", "{}")),
        "turn 2 of `messages` has the unknown role 'tool'; "
        "valid roles: system, user, human, assistant, gpt, model",
    ),
    (
        turns(("user", "Hi"), ("assistant", 42)),
        "turn 2 of `messages` should be text, got a number (42)",
    ),
    (turns(("user", "Hi"), ("assistant", " \n")), "the assistant turn (turn 2 of 2) is empty"),
    (turns(("user", "Hi"), ("assistant", None)), "the assistant turn (turn 2 of 2) is empty"),
    (
        turns(("system", "S"), ("user", "Hi")),
        "has no assistant turn (its roles: system, user), so nothing to learn from",
    ),
]


@pytest.mark.parametrize(("second_row", "message"), BAD_MESSAGES_ROWS)
@pytest.mark.parametrize(
    ("name", "where"), [("data.jsonl", "data.jsonl line 2"), ("data.json", "data.json row 2")]
)
def test_a_bad_row_is_reported_with_its_place(
    tmp_path: Path, name: str, where: str, second_row: str, message: str
) -> None:
    text = f"{GOOD}\n{second_row}\n{GOOD}\n"
    if name.endswith(".json"):
        text = f"[{GOOD},\n{second_row},\n{GOOD}]"
    data = load_dataset(str(write_lines(tmp_path, text, name)))
    assert (data.format, len(data.examples), data.problem_count, data.rows_total) == (
        "messages",
        2,
        1,
        3,
    )
    assert [str(p) for p in data.problems] == [f"{where}: {message}"]


def test_a_malformed_json_line_names_line_and_column(tmp_path: Path) -> None:
    data = load_dataset(str(write_lines(tmp_path, f'{GOOD}\n{{"messages": [\n')))
    assert [str(p) for p in data.problems] == [
        "data.jsonl line 2: not valid JSON: Expecting value at column 15"
    ]


@pytest.mark.parametrize(
    ("fmt", "row", "message"),
    [
        ("alpaca", {"instruction": "i"}, "missing `output`"),
        ("alpaca", {"instruction": "i", "output": ["o"]}, "`output` should be text, got a list"),
        ("alpaca", {"instruction": "i", "output": ""}, "the assistant turn (turn 2 of 2) is empty"),
        (
            "alpaca",
            {"instruction": "i", "output": "o", "history": [["only user"]]},
            "`history` item 1 should be a [user, assistant] pair",
        ),
        (
            "prompt_completion",
            {"prompt": "p", "completion": 5},
            "`completion` should be text, got a number (5)",
        ),
        ("prompt_completion", {"prompt": None, "completion": "c"}, "missing `prompt`"),
        (
            "prompt_completion",
            {"prompt": "p", "completion": "c", "system": True},
            "`system` should be text, got true/false",
        ),
        ("text", {"text": "  "}, "`text` is empty"),
        ("text", {"text": {"a": 1}}, "`text` should be text, got an object (dict)"),
        (
            "sharegpt",
            {"conversations": [{"from": "human", "value": "Hi"}]},
            "has no assistant turn (its roles: user), so nothing to learn from",
        ),
    ],
)
def test_rows_of_each_format_that_do_not_fit(
    tmp_path: Path, fmt: str, row: dict[str, object], message: str
) -> None:
    good, _ = SAMPLES[fmt]
    data = load_dataset(str(write(tmp_path, "jsonl", [good, row])), fmt=fmt)
    assert [str(p) for p in data.problems] == [f"data.jsonl line 2: {message}"]


def test_a_csv_record_with_too_many_values_names_row_and_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path, 'prompt,completion\n"a\nb",c\nx,y,z\n', "data.csv")
    data = load_dataset(str(path))
    assert [e.where for e in data.examples] == ["data.csv row 1 (line 2)"]
    assert [str(p) for p in data.problems] == [
        "data.csv row 2 (line 4): has 3 values but the header names 2 columns"
    ]


def test_a_csv_cell_with_broken_json_is_a_bad_row(tmp_path: Path) -> None:
    path = write_lines(tmp_path, 'messages\n"[{""role"": }]"\n', "data.csv")
    data = load_dataset(str(path), fmt="messages")
    assert data.problems[0].message.startswith("`messages` is not valid JSON")


def test_problems_keep_the_first_few_and_count_all(tmp_path: Path) -> None:
    lines = [GOOD, *(["{broken"] * 30), GOOD]
    data = load_dataset(str(write_lines(tmp_path, "\n".join(lines))), max_problems=5)
    assert (len(data.examples), len(data.problems), data.problem_count, data.rows_total) == (
        2,
        5,
        30,
        32,
    )
    assert [p.where for p in data.problems] == [f"data.jsonl line {n}" for n in range(2, 7)]


def test_no_row_is_dropped_silently(tmp_path: Path) -> None:
    rng = random.Random(7)
    bad = [
        "{oops",
        "[]",
        turns(("user", "x")),
        '{"messages": null}',
        turns(("user", "x"), ("x", "y")),
    ]
    lines = [rng.choice([GOOD, GOOD, *bad]) for _ in range(200)]
    data = load_dataset(str(write_lines(tmp_path, "\n\n".join(lines))), max_problems=1000)
    assert len(data.examples) + data.problem_count == data.rows_total == 200
    places = sorted(
        [e.row for e in data.examples] + [int(p.where.split()[-1]) for p in data.problems]
    )
    assert places == list(range(1, 400, 2))


# --- whole-file failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("data.jsonl", "", "data.jsonl has no rows"),
        ("data.jsonl", "\n  \n", "data.jsonl has no rows"),
        ("data.json", "[]", "data.json has no rows"),
        ("data.csv", "prompt,completion\n", "data.csv has no rows"),
        ("notes.txt", "\n\n", "notes.txt has no rows"),
        (
            "data.json",
            '[{"text": "a"},\n {"text": }]',
            "is not valid JSON: Expecting value at line 2, column 11",
        ),
        (
            "data.json",
            '{"a": [], "b": []}',
            "holds an object with the fields 'a', 'b', not a list of rows",
        ),
        ("data.json", '"just text"', "holds a single str value"),
        (
            "data.jsonl",
            "{oops\n{nope\n",
            "could be read; the first: data.jsonl line 1: not valid JSON",
        ),
        ("data.csv", 'a,b\n"x,y\n', "data.csv is not valid CSV at line 2: unexpected end of data"),
        (
            "data.csv",
            'a,b\n"x"y,z\n',
            "data.csv is not valid CSV at line 2: ',' expected after '\"'",
        ),
        ("data.docx", "hello", "data.docx is not a supported data file: unknown extension '.docx'"),
        ("README", "hello", "README is not a supported data file: no extension"),
        ("data.parquet", "not parquet", "data.parquet is not a readable Parquet file"),
    ],
)
def test_a_file_that_cannot_be_read_is_a_sentence(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    assert message in user_error(write_lines(tmp_path, text, name)).message


def test_the_supported_extensions_are_listed(tmp_path: Path) -> None:
    err = user_error(write_lines(tmp_path, "x", "data.xlsx"))
    assert all(ext in err.hint for ext in (".jsonl", ".json", ".csv", ".parquet", ".txt"))


def test_a_json_file_holding_json_lines_is_read_as_json_lines(tmp_path: Path) -> None:
    data = load_dataset(str(write_lines(tmp_path, f"{GOOD}\n{GOOD}\n", "data.json")))
    assert [e.where for e in data.examples] == ["data.json line 1", "data.json line 2"]


def test_an_object_with_one_list_holds_the_rows(tmp_path: Path) -> None:
    path = write_lines(tmp_path, json.dumps({"version": 2, "data": [SAMPLES["text"][0]]}), "d.json")
    assert load_dataset(str(path)).examples[0].text == "Once upon a time."


def test_non_utf8_names_the_line_and_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    err = user_error(path)
    assert "data.jsonl is not UTF-8" in err.message
    assert "line 2, column 14" in err.message and "0xe9" in err.message
    assert "byte offset 28" in err.message and "iconv" in err.hint


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"\xef\xbb\xbfprompt,completion\r\nq,a\r\n")
    assert load_dataset(str(path)).format == "prompt_completion"


def test_a_missing_file_suggests_close_names(tmp_path: Path) -> None:
    write_lines(tmp_path, GOOD, "train.jsonl")
    err = user_error(tmp_path / "trian.jsonl")
    assert "trian.jsonl was not found" in err.message
    assert str(tmp_path / "train.jsonl") in err.hint


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    err = user_error(tmp_path / "nowhere" / "data.jsonl")
    assert "the folder" in err.message and "does not exist" in err.message


def test_a_folder_is_not_a_dataset(tmp_path: Path) -> None:
    write_lines(tmp_path, GOOD, "train.jsonl")
    err = user_error(tmp_path)
    assert "is a folder" in err.message and "train.jsonl" in err.hint


def test_a_relative_path_that_looks_like_an_id_but_has_an_extension_is_a_file() -> None:
    assert "was not found" in user_error("missing/data.jsonl").message


# --- require_clean -----------------------------------------------------------------------------


def test_require_clean(tmp_path: Path) -> None:
    load_dataset(str(write_lines(tmp_path, GOOD, "clean.jsonl"))).require_clean()
    data = load_dataset(str(write_lines(tmp_path, f"{GOOD}\n{{x\n[]\n")))
    with pytest.raises(UserError) as caught:
        data.require_clean()
    assert caught.value.message == (
        f"{data.source} has 2 bad rows; the first: data.jsonl line 2: "
        "not valid JSON: Expecting property name enclosed in double quotes at column 2."
    )
    assert "skip_bad_rows: true" in caught.value.hint
    data.require_clean(skip_bad_rows=True)


def test_require_clean_says_one_bad_row_and_refuses_a_dataset_with_none_good(
    tmp_path: Path,
) -> None:
    one = load_dataset(str(write_lines(tmp_path, f"{GOOD}\n[]\n")))
    with pytest.raises(UserError, match="has 1 bad row;"):
        one.require_clean()
    none_good = load_dataset(str(write_lines(tmp_path, "[]\n[]\n", "bad.jsonl")), fmt="messages")
    with pytest.raises(UserError, match="has no usable rows: all 2 are bad"):
        none_good.require_clean(skip_bad_rows=True)


# --- fingerprint and split ---------------------------------------------------------------------


def examples(count: int) -> list[Example]:
    return [
        Example(n, f"d line {n}", (Message("user", f"q{n}"), Message("assistant", f"a{n}")))
        for n in range(1, count + 1)
    ]


def test_the_fingerprint_is_about_content_not_places_or_formats(tmp_path: Path) -> None:
    moved = [Example(e.row + 5, "elsewhere", e.messages) for e in examples(3)]
    assert examples_fingerprint(moved) == examples_fingerprint(examples(3))
    assert examples_fingerprint(examples(3)) != examples_fingerprint(examples(3)[::-1])
    alpaca = write(tmp_path, "jsonl", [{"instruction": "2+3=", "output": "5"}], "a")
    completion = write(tmp_path, "json", [SAMPLES["prompt_completion"][0]], "p")
    assert load_dataset(str(alpaca)).fingerprint == load_dataset(str(completion)).fingerprint
    text = write(tmp_path, "jsonl", [{"text": '[["user","2+3="],["assistant","5"]]'}], "t")
    assert load_dataset(str(text)).fingerprint != load_dataset(str(alpaca)).fingerprint


def test_a_good_example_changes_the_fingerprint_a_bad_row_does_not(tmp_path: Path) -> None:
    base = load_dataset(str(write_lines(tmp_path, f"{GOOD}\n", "a.jsonl"))).fingerprint
    noisy = load_dataset(str(write_lines(tmp_path, f"\n{GOOD}\n{{bad\n", "b.jsonl"))).fingerprint
    more = load_dataset(str(write_lines(tmp_path, f"{GOOD}\n{GOOD}\n", "c.jsonl"))).fingerprint
    assert base == noisy != more


def test_the_split_is_deterministic_and_keeps_order() -> None:
    pool = examples(100)
    train, held = split_examples(pool, 0.1, seed=42)
    assert (len(train), len(held)) == (90, 10)
    assert split_examples(pool, 0.1, seed=42) == (train, held)
    assert split_examples(pool, 0.1, seed=7)[1] != held
    assert sorted(train + held, key=lambda e: e.row) == pool
    assert train == sorted(train, key=lambda e: e.row) and held == sorted(held, key=lambda e: e.row)
    shuffled = random.Random(1).sample(pool, len(pool))
    assert {e.row for e in split_examples(shuffled, 0.1, seed=42)[1]} == {e.row for e in held}


@pytest.mark.parametrize(
    ("count", "fraction", "held"),
    [(100, 0.0, 0), (5, 0.05, 1), (1, 0.5, 0), (3, 0.9, 2), (0, 0.1, 0)],
)
def test_the_split_size(count: int, fraction: float, held: int) -> None:
    train, evals = split_examples(examples(count), fraction, seed=0)
    assert (len(train), len(evals)) == (count - held, held)


@pytest.mark.parametrize("fraction", [1.0, -0.1, 1.5])
def test_an_impossible_eval_fraction_is_a_sentence(fraction: float) -> None:
    with pytest.raises(UserError, match="eval fraction must be at least 0 and below 1"):
        split_examples(examples(10), fraction, seed=0)


# --- Hugging Face datasets ---------------------------------------------------------------------


def fake_snapshot(repo_id: str, files: dict[str, str], cache: Path | None = None) -> Path:
    """A hub-cache snapshot laid out as huggingface_hub writes it: files are links to blobs."""
    repo = (
        cache or Path(os.environ["HF_HOME"]) / "hub"
    ) / f"datasets--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / "0123abcd"
    for number, (name, text) in enumerate(files.items()):
        blob = repo / "blobs" / f"blob{number}"
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_text(text, encoding="utf-8")
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).symlink_to(blob)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text("0123abcd")
    return snapshot


def text_rows(*texts: str) -> str:
    return "".join(json.dumps({"text": t}) + "\n" for t in texts)


HUB_FILES = {
    "data/train-00000-of-00002.jsonl": text_rows("t1", "t2"),
    "data/train-00001-of-00002.jsonl": text_rows("t3"),
    "data/test-00000-of-00001.jsonl": text_rows("e1"),
    "LICENSE.txt": "not data",
    ".gitattributes": "*.jsonl lfs",
}


@pytest.mark.parametrize(
    ("ref", "source", "texts"),
    [
        ("org/name", "org/name:train", ["t1", "t2", "t3"]),
        ("org/name:train", "org/name:train", ["t1", "t2", "t3"]),
        ("org/name:test", "org/name:test", ["e1"]),
    ],
)
def test_a_cached_hub_dataset_is_read_from_its_files(
    ref: str, source: str, texts: list[str]
) -> None:
    snapshot = fake_snapshot("org/name", HUB_FILES)
    data = load_dataset(ref)
    assert (data.source, data.format) == (source, "text")
    assert [e.text for e in data.examples] == texts
    assert data.examples[0].where.startswith("data/")
    assert data.path in (snapshot, snapshot / "data/test-00000-of-00001.jsonl")


def test_a_missing_split_lists_the_splits_there() -> None:
    fake_snapshot("org/name", HUB_FILES)
    err = user_error("org/name:validation")
    assert err.message == "org/name has no split 'validation'; it has: test, train."
    assert "org/name:test" in err.hint


def test_files_that_name_no_split_are_all_train() -> None:
    fake_snapshot("org/plain", {"b.jsonl": text_rows("b"), "a.jsonl": text_rows("a")})
    assert [e.text for e in load_dataset("org/plain").examples] == ["a", "b"]
    assert "has no split 'test'; it has: train" in user_error("org/plain:test").message


def test_the_dataset_cards_default_config_chooses_the_files() -> None:
    card = (
        "---\nconfigs:\n- config_name: other\n  data_files: other/*.jsonl\n"
        "- config_name: main\n  default: true\n  data_files:\n"
        "  - split: train\n    path: main/part-*.jsonl\n  - split: eval\n    path: [main/ev.jsonl]\n"
        "---\n# Card\n"
    )
    fake_snapshot(
        "org/card",
        {
            "README.md": card,
            "other/train.jsonl": text_rows("other"),
            "main/part-1.jsonl": text_rows("m1"),
            "main/ev.jsonl": text_rows("ev"),
        },
    )
    assert [e.text for e in load_dataset("org/card").examples] == ["m1"]
    assert [e.text for e in load_dataset("org/card:eval").examples] == ["ev"]


def test_hf_hub_cache_wins_over_hf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    fake_snapshot("org/name", {"train.csv": "text\nfrom elsewhere\n"}, tmp_path / "elsewhere")
    assert load_dataset("org/name").examples[0].text == "from elsewhere"


def test_an_uncached_dataset_offline_is_a_sentence() -> None:
    err = user_error("org/absent")
    assert "org/absent" in err.message and "offline" in err.message
    assert "neither a local file" in err.message
    assert "hf download org/absent --repo-type dataset" in err.hint


class FakeHubApi:
    """Answers the short look-up before a download, so that no test reaches the network."""

    def dataset_info(self, repo_id: str, timeout: float) -> SimpleNamespace:
        assert timeout <= 10
        return SimpleNamespace(sha="0123abcd")


def online(monkeypatch: pytest.MonkeyPatch, download: Callable[..., str]) -> None:
    import huggingface_hub

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHubApi)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", download)


def test_an_uncached_dataset_online_is_downloaded_into_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    calls: list[dict[str, object]] = []

    def download(repo_id: str, **kwargs: object) -> str:
        calls.append({"repo_id": repo_id, **kwargs})
        return str(fake_snapshot(repo_id, {"train.jsonl": text_rows("fetched")}))

    online(monkeypatch, download)
    assert load_dataset("org/fresh").examples[0].text == "fetched"
    assert calls[0]["repo_id"] == "org/fresh" and calls[0]["repo_type"] == "dataset"
    assert calls[0]["revision"] == "0123abcd"
    assert calls[0]["cache_dir"] == Path(os.environ["HF_HOME"]) / "hub"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ("missing", "neither a local file nor a dataset on the Hugging Face hub"),
        ("gated", "is a gated dataset"),
        ("unreachable", "could not be downloaded: no route"),
        ("server", "could not be downloaded: 500 Server Error"),
    ],
)
def test_a_failed_download_is_a_sentence(
    monkeypatch: pytest.MonkeyPatch, error: str, message: str
) -> None:
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    response = SimpleNamespace(headers={}, request=None)
    errors = {
        "missing": RepositoryNotFoundError("404", response=response),  # type: ignore[arg-type]
        "gated": GatedRepoError("403", response=response),  # type: ignore[arg-type]
        "unreachable": LocalEntryNotFoundError("no route to the hub\nmore"),
        "server": HfHubHTTPError("500 Server Error", response=response),  # type: ignore[arg-type]
    }

    def download(repo_id: str, **kwargs: object) -> str:
        raise errors[error]

    online(monkeypatch, download)
    assert message in user_error("org/nowhere").message


def test_reading_jsonl_loads_neither_pyarrow_nor_the_hub_client(tmp_path: Path) -> None:
    path = write_lines(tmp_path, GOOD)
    code = (
        "import sys\nfrom tui_ft.core.datasets.load import load_dataset\n"
        f"load_dataset({str(path)!r})\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pyarrow', 'huggingface_hub'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dataset_is_the_documented_shape() -> None:
    assert set(Dataset.__dataclass_fields__) == {
        "source",
        "path",
        "format",
        "reason",
        "examples",
        "problems",
        "problem_count",
        "rows_total",
        "fingerprint",
        "dataset_problem",
    }


# --- preference data -----------------------------------------------------------------------------


def said(*turns: tuple[str, str]) -> tuple[Message, ...]:
    return tuple(Message(role, content) for role, content in turns)


def msgs(*turns: tuple[str, str]) -> list[dict[str, str]]:
    return [{"role": role, "content": content} for role, content in turns]


PROMPT = said(("user", "Hi"))
# Every preference variant the docs show: the row, then the prompt, chosen and rejected it holds.
PREFERENCE_ROWS = [
    pytest.param(
        {"system": "Be brief.", "prompt": "Hi", "chosen": "Hello!", "rejected": "What?"},
        said(("system", "Be brief."), ("user", "Hi")),
        said(("assistant", "Hello!")),
        said(("assistant", "What?")),
        id="trl-standard-system",
    ),
    pytest.param(
        {
            "prompt": msgs(("system", "S"), ("user", "Hi")),
            "chosen": msgs(("assistant", "Hello!")),
            "rejected": msgs(("assistant", "What?")),
        },
        said(("system", "S"), ("user", "Hi")),
        said(("assistant", "Hello!")),
        said(("assistant", "What?")),
        id="trl-conversational",
    ),
    pytest.param(
        {
            "chosen": msgs(("user", "Hi"), ("assistant", "Hello!")),
            "rejected": msgs(("user", "Hi"), ("assistant", "What?")),
        },
        PROMPT,
        said(("assistant", "Hello!")),
        said(("assistant", "What?")),
        id="trl-implicit-prompt",
    ),
    pytest.param(
        {"instruction": "Translate:", "input": "bonjour", "chosen": "hello", "rejected": "bye"},
        said(("user", "Translate:\n\nbonjour")),
        said(("assistant", "hello")),
        said(("assistant", "bye")),
        id="llamafactory-alpaca",
    ),
    pytest.param(
        {
            "conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "Hi"}],
            "chosen": {"from": "gpt", "value": "Hello!"},
            "rejected": {"from": "gpt", "value": "What?"},
        },
        said(("system", "S"), ("user", "Hi")),
        said(("assistant", "Hello!")),
        said(("assistant", "What?")),
        id="llamafactory-sharegpt",
    ),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("row", "prompt", "chosen", "rejected"), PREFERENCE_ROWS)
def test_every_preference_variant_from_every_file_type(
    tmp_path: Path,
    kind: str,
    row: dict[str, object],
    prompt: tuple[Message, ...],
    chosen: tuple[Message, ...],
    rejected: tuple[Message, ...],
) -> None:
    data = load_dataset(str(write(tmp_path, kind, [row, row])))
    assert (data.format, data.problem_count, data.dataset_problem) == ("preference", 0, None)
    assert [(e.messages, e.chosen, e.rejected, e.label) for e in data.examples] == [
        (prompt, chosen, rejected, None)
    ] * 2


@pytest.mark.parametrize("kind", KINDS)
def test_unpaired_rows_read_their_labels_from_every_file_type(tmp_path: Path, kind: str) -> None:
    rows = [
        {"prompt": "Hi", "completion": "Hello!", "label": True},
        {"prompt": "Hi", "completion": "Go away.", "label": False},
    ]
    data = load_dataset(str(write(tmp_path, kind, rows)))
    assert (data.format, data.problem_count, data.dataset_problem) == (
        "unpaired_preference",
        0,
        None,
    )
    assert [(e.messages, e.chosen, e.label) for e in data.examples] == [
        (PROMPT, said(("assistant", "Hello!")), True),
        (PROMPT, said(("assistant", "Go away.")), False),
    ]


def test_csv_labels_are_read_as_words(tmp_path: Path) -> None:
    text = "prompt,completion,label\nHi,Hello!,true\nHi,No.,FALSE\nHi,Eh.,maybe\nHi,Ok., True \n"
    data = load_dataset(str(write_lines(tmp_path, text, "kto.csv")))
    assert [e.label for e in data.examples] == [True, False, True]
    assert [str(p) for p in data.problems] == [
        "kto.csv row 3 (line 4): `label` should be true or false, got text"
    ]


def test_a_preference_fingerprint_counts_the_answers_and_labels(tmp_path: Path) -> None:
    def fingerprint(rows: list[dict[str, object]], name: str) -> str:
        return load_dataset(str(write(tmp_path, "jsonl", rows, name))).fingerprint

    pair = {"prompt": "Hi", "chosen": "Hello!", "rejected": "What?"}
    swapped = {"prompt": "Hi", "chosen": "What?", "rejected": "Hello!"}
    assert fingerprint([pair], "a") != fingerprint([swapped], "b")
    good = {"prompt": "Hi", "completion": "Hello!", "label": True}
    bad = {**good, "label": False}
    assert fingerprint([good, bad], "c") != fingerprint([bad, good], "d")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        pytest.param(
            {"prompt": "Hi", "chosen": "Hello!", "rejected": " Hello! "},
            "`chosen` and `rejected` are the same answer, so there is nothing to prefer",
            id="identical",
        ),
        pytest.param(
            {
                "chosen": msgs(("user", "Hi"), ("assistant", "Same")),
                "rejected": msgs(("user", "Hi"), ("assistant", "Same")),
            },
            "`chosen` and `rejected` are the same answer, so there is nothing to prefer",
            id="identical-implicit",
        ),
        pytest.param(
            {"prompt": "Hi", "chosen": "  ", "rejected": "What?"},
            "`chosen` is empty",
            id="empty-chosen",
        ),
        pytest.param(
            {"prompt": "Hi", "chosen": "Hello!", "rejected": msgs(("assistant", ""))},
            "`rejected` is empty",
            id="empty-rejected",
        ),
        pytest.param(
            {"prompt": "Hi", "chosen": "Hello!", "rejected": None},
            "missing `rejected`",
            id="missing-rejected",
        ),
        pytest.param(
            {"chosen": "Hello!", "rejected": "What?"},
            "missing the prompt (`prompt`, `instruction` or `conversations`, or answers as "
            "message lists that begin with the same user turn)",
            id="missing-prompt",
        ),
        pytest.param(
            {"prompt": " ", "chosen": "Hello!", "rejected": "What?"},
            "the prompt should end with a user turn that is not empty",
            id="empty-prompt",
        ),
        pytest.param(
            {"prompt": "Hi", "chosen": msgs(("user", "Hello!")), "rejected": "What?"},
            "`chosen` should end with an assistant turn, not user",
            id="chosen-ends-with-user",
        ),
    ],
)
def test_preference_rows_that_do_not_fit(
    tmp_path: Path, row: dict[str, object], message: str
) -> None:
    good = {"prompt": "Hi", "chosen": "Hello!", "rejected": "What?"}
    data = load_dataset(str(write(tmp_path, "jsonl", [good, row])), fmt="preference")
    assert [str(p) for p in data.problems] == [f"data.jsonl line 2: {message}"]
    assert len(data.examples) + data.problem_count == data.rows_total


@pytest.mark.parametrize("label", [True, False])
def test_kto_labels_all_one_value_spoil_the_dataset(tmp_path: Path, label: bool) -> None:
    rows = [{"prompt": f"q{n}", "completion": "a", "label": label} for n in range(3)]
    data = load_dataset(str(write(tmp_path, "jsonl", rows)))
    value = "true" if label else "false"
    assert data.problem_count == 0
    assert data.dataset_problem == (
        f"every row's `label` is {value}: unpaired preference (KTO) data needs both desirable "
        "(true) and undesirable (false) answers"
    )
    with pytest.raises(UserError) as caught:
        data.require_clean(skip_bad_rows=True)  # skipping rows cannot fix it
    assert caught.value.message.startswith(f"{data.source} cannot be trained on: every row")


def test_columns_map_the_preference_fields(tmp_path: Path) -> None:
    rows = [
        {"question": "Hi", "good": "Hello!", "bad": "What?"},
        {"question": "Hi", "good": "Same", "bad": "Same"},
    ]
    path = write(tmp_path, "csv", rows)
    data = load_dataset(
        str(path), columns={"prompt": "question", "chosen": "good", "rejected": "bad"}
    )
    assert data.format == "preference"
    assert data.reason.endswith(
        "(after mapping `question` → `prompt`, `good` → `chosen`, `bad` → `rejected`)"
    )
    assert [(e.messages, e.chosen) for e in data.examples] == [
        (PROMPT, said(("assistant", "Hello!")))
    ]
    assert [p.message for p in data.problems] == [
        "`good` and `bad` are the same answer, so there is nothing to prefer"
    ]
    kto = write(
        tmp_path, "jsonl", [{"q": "Hi", "a": "Yo", "ok": True}, {"q": "Hi", "a": "No", "ok": False}]
    )
    mapped = load_dataset(str(kto), columns={"prompt": "q", "completion": "a", "label": "ok"})
    assert (mapped.format, [e.label for e in mapped.examples]) == (
        "unpaired_preference",
        [True, False],
    )


def test_a_cached_hub_dataset_of_preference_pairs_loads_like_a_file() -> None:
    rows = [
        {
            "chosen": msgs(("user", "Hi"), ("assistant", "Hello!")),
            "rejected": msgs(("user", "Hi"), ("assistant", "No.")),
        }
    ]
    fake_snapshot("org/prefs", {"data/train.jsonl": "".join(json.dumps(r) + "\n" for r in rows)})
    data = load_dataset("org/prefs")
    assert (data.source, data.format, data.problem_count) == ("org/prefs:train", "preference", 0)
    assert data.examples[0].messages == PROMPT
