"""Property tests of what reads files people bring: the dataset readers and run.yaml. Whatever
the bytes, reading ends in a dataset or a UserError (never another exception), and every
message names the file, and the line (or row) where the problem is.

Deterministic and quick: derandomized, a modest number of examples, no deadline."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_ft.core.config import RunConfig, all_keys, load_config
from tui_ft.core.datasets.formats import FIELDS
from tui_ft.core.datasets.load import load_dataset
from tui_ft.core.errors import UserError

PROPERTY = settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PLACE = re.compile(r"(line|row) \d+")
# Text near the formats' grammar finds more than uniformly random bytes; the long fragments
# reach the parsers' limits (recursion depth, Python's 4300-digit int limit).
JSON_FRAGMENTS = [
    *'[]{}":,\\ \n\r\t0-.eé\u2028',
    "true",
    "null",
    "NaN",
    "\\ud800",
    "\\udc00",
    "\\ud83d\\ude00",
    '{"messages": ',
    '{"role": "user", "content": ',
    '"instruction"',
    '"output"',
    '"text"',
    "[" * 1500,
    "1" * 4400,
]
JSONISH = st.lists(st.sampled_from(JSON_FRAGMENTS), max_size=30).map("".join)
YAML_FRAGMENTS = [
    *"abclmnorst_:-[]{}!&*?|>'\"#%@`,. \n\t019\x01\ufeff",
    "model: ",
    "lora:\n  rank: ",
    "learning_rate: ",
    ".nan",
    ".inf",
    "2024-13-01",
    "!!python/object:os.system",
    "<<: ",
    "[" * 1200,
    "1" * 4400,
]
YAMLISH = st.lists(st.sampled_from(YAML_FRAGMENTS), max_size=20).map("".join)
KEYS = st.sampled_from([*FIELDS, "role", "content", "from", "value"]) | st.text(max_size=6)
ROLES = st.sampled_from(["user", "assistant", "system", "human", "gpt", "tool", ""])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | ROLES
    | st.sampled_from(["\ud800", "[1, 2", '[{"role": "user", "content": "hi"}]'])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=20,
)


@contextmanager
def written(name: str, data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        yield path


def check_dataset(path: Path) -> None:
    try:
        dataset = load_dataset(str(path))
        dataset.require_clean()
    except UserError as err:
        assert path.name in err.message, err.message
        if "not valid" in err.message or "not UTF-8" in err.message:
            assert "line " in err.message, err.message
        return
    assert len(dataset.examples) + dataset.problem_count == dataset.rows_total


def check_problems(path: Path) -> None:
    """Bad rows are problems placed at their file's line or row."""
    try:
        dataset = load_dataset(str(path))
    except UserError as err:
        assert path.name in err.message, err.message
        return
    for problem in dataset.problems:
        assert problem.where.startswith(f"{path.name} "), problem
        assert PLACE.match(problem.where.removeprefix(f"{path.name} ")), problem


@PROPERTY
@given(
    suffix=st.sampled_from([".jsonl", ".json", ".csv", ".txt", ".parquet"]),
    data=st.binary(max_size=200)
    | st.just(b"PAR1")
    | st.binary(max_size=60).map(lambda b: b"PAR1" + b + b"PAR1"),
)
def test_any_bytes_read_as_a_dataset_or_a_user_error(suffix: str, data: bytes) -> None:
    with written(f"data{suffix}", data) as path:
        check_dataset(path)


@PROPERTY
@given(suffix=st.sampled_from([".jsonl", ".json", ".csv"]), text=JSONISH)
def test_json_like_text_reads_as_a_dataset_or_a_user_error(suffix: str, text: str) -> None:
    with written(f"data{suffix}", text.encode("utf-8", "surrogatepass")) as path:
        check_dataset(path)
        check_problems(path)


@PROPERTY
@given(rows=st.lists(JSON_VALUES, min_size=1, max_size=6), as_lines=st.booleans())
def test_any_json_rows_are_examples_or_placed_problems(rows: list[object], as_lines: bool) -> None:
    if as_lines:
        name, text = "data.jsonl", "\n".join(json.dumps(row) for row in rows)
    else:
        name, text = "data.json", json.dumps(rows, indent=1)
    with written(name, text.encode("utf-8", "surrogatepass")) as path:
        check_dataset(path)
        check_problems(path)


def check_config(path: Path) -> RunConfig | None:
    try:
        return load_config(path)
    except UserError as err:
        assert err.message.startswith(str(path)), err.message
        return None


@PROPERTY
@given(data=st.binary(max_size=200))
def test_any_bytes_read_as_a_config_or_a_user_error(data: bytes) -> None:
    with written("run.yaml", data) as path:
        check_config(path)


@PROPERTY
@given(text=YAMLISH)
def test_yaml_like_text_reads_as_a_config_or_a_user_error(text: str) -> None:
    with written("run.yaml", text.encode()) as path:
        check_config(path)


YAML_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(["2e-4", "lora", "qlora", "fp32", "all-linear", "demo", "2024-13-01"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
CONFIG_KEYS = st.sampled_from([*all_keys(), "lora", "qlora"]) | st.text(max_size=8)


@PROPERTY
@given(data=st.dictionaries(CONFIG_KEYS, YAML_VALUES, min_size=1, max_size=6))
def test_every_config_problem_names_its_line(data: dict[str, object]) -> None:
    nested: dict[str, object] = {}
    for key, value in data.items():  # `lora.rank: 8` is written as `lora:` then `rank: 8`
        head, _, tail = key.partition(".")
        if tail and head in ("lora", "qlora") and isinstance(nested.get(head, {}), dict):
            nested.setdefault(head, {})[tail] = value  # type: ignore[index]
        else:
            nested[key] = value
    text = yaml.safe_dump(nested, allow_unicode=True)
    with written("run.yaml", text.encode("utf-8", "surrogatepass")) as path:
        try:
            load_config(path)
        except UserError as err:
            message = err.message
            if "is empty" in message:
                return
            many = re.match(rf"{re.escape(str(path))} has (\d+) problems:\n", message)
            if many:
                assert message.count("\n  - line ") == int(many.group(1)), message
            else:
                assert message.startswith(f"{path} line "), message


# What the properties found in the readers, kept as plain examples.
MESSAGES = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": %s}]}'


def test_a_lone_surrogate_is_a_bad_row_and_a_pair_is_text() -> None:
    text = "\n".join([MESSAGES % '"\\ud800"', MESSAGES % '"\\ud83d\\ude00"'])
    with written("data.jsonl", text.encode()) as path:
        dataset = load_dataset(str(path))
    assert [str(p) for p in dataset.problems] == [
        "data.jsonl line 1: not valid JSON: the lone surrogate \\ud800 is not text at column 84"
    ]
    assert dataset.examples[0].messages[-1].content == "😀"


def test_too_deep_nesting_is_a_bad_row_or_a_sentence_at_its_line() -> None:
    with written("data.jsonl", (MESSAGES % '"ok"' + "\n" + "[" * 3000).encode()) as path:
        assert "nest too deeply" in str(load_dataset(str(path)).problems[0])
    with written("data.json", ("[\n" + "[" * 3000).encode()) as path:
        try:
            load_dataset(str(path))
        except UserError as err:
            assert "data.json is not valid JSON: lists or objects nest too deeply" in err.message
            assert "at line 2, column 3000" in err.message


def test_a_number_past_pythons_digit_limit_reads_as_a_number() -> None:
    with written("data.jsonl", (MESSAGES % ("1" * 5000)).encode()) as path:
        problems = load_dataset(str(path)).problems
    assert "should be text, got a number (inf)" in str(problems[0])
