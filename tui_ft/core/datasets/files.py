"""Reading one data file into raw rows: UTF-8 decoding, then JSON lines, JSON, CSV, Parquet or text.

A row that cannot be parsed (a malformed JSON line, a CSV record with too many values) comes
back as a `RawRow` carrying an `error`, so that it is reported with its line and the rest of
the file still loads; a file that cannot be read at all is a `UserError`.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tui_ft.core.errors import UserError

# Extension → reader kind. Order matters where a folder holds several kinds (see sources.py).
KINDS = {
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".txt": "txt",
}
SUPPORTED = ", ".join(KINDS)

# A \uXXXX escape of a UTF-16 surrogate: JSON allows a lone one, which is no text (it cannot be
# written as UTF-8, so a tokenizer or the dataset's fingerprint would fail on it).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")

# LLM answers in a CSV cell easily pass the csv module's default field limit of 128 KiB.
_CSV_FIELD_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class DataFile:
    """A file to read, and how sentences name it (its name, or its path inside a HF dataset)."""

    path: Path
    name: str

    @property
    def kind(self) -> str | None:
        return KINDS.get(self.path.suffix.lower())


@dataclass(frozen=True)
class RawRow:
    """One row as read: `value` when it parsed, else `error` (a fragment that follows `where: `)."""

    row: int
    where: str
    value: object = None
    error: str | None = None


def read_rows(file: DataFile) -> list[RawRow]:
    """Every row of `file`, parsed or not, in file order."""
    if file.kind is None:
        raise UserError(
            f"{file.name} is not a supported data file: "
            + (f"unknown extension {file.path.suffix!r}." if file.path.suffix else "no extension."),
            f"Use one of {SUPPORTED} (convert the file, or rename it if it already is one).",
        )
    if file.kind == "parquet":
        return _parquet_rows(file)
    return _TEXT_READERS[file.kind](file, _decoded_text(file))


def _read_bytes(file: DataFile) -> bytes:
    try:
        return file.path.read_bytes()
    except OSError as err:
        raise UserError(
            f"{file.name} could not be read: {err.strerror or err}.",
            f"Check that {file.path} is a readable file.",
        ) from None


def _decoded_text(file: DataFile) -> str:
    data = _read_bytes(file)
    # Spreadsheet programs write a byte-order mark; it is not part of the first column's name.
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as err:
        raise _not_utf8(file, data, bom + err.start) from None


def _not_utf8(file: DataFile, data: bytes, offset: int) -> UserError:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return UserError(
        f"{file.name} is not UTF-8 text: line {line}, column {column} holds the byte "
        f"0x{data[offset]:02x} (byte offset {offset} in the file).",
        f"Save it as UTF-8, e.g. `iconv -f latin1 -t utf-8 {file.name} > utf8-{file.name}` "
        "if it was written as Latin-1.",
    )


def _numbered(file: DataFile, items: Iterable[object]) -> list[RawRow]:
    """Rows of a file without lines of its own (JSON array, Parquet): `row N`, counted from 1."""
    return [RawRow(n, f"{file.name} row {n}", item) for n, item in enumerate(items, start=1)]


def _jsonl_rows(file: DataFile, text: str) -> list[RawRow]:
    # split("\n"), not splitlines(): U+2028 and friends may stand unescaped inside JSON strings.
    lines = enumerate(text.split("\n"), start=1)
    return [_json_line(file, number, line) for number, line in lines if line.strip()]


def parse_json(text: str) -> object:
    """json.loads for data people bring. Everything that spoils the text is a JSONDecodeError
    with a place: nesting too deep to parse, a lone surrogate escape. A whole number longer
    than Python's int limit (4300 digits) reads as a float instead of failing."""
    try:
        value = json.loads(text, parse_int=_int)
    except RecursionError:
        where = _deepest(text)
        raise json.JSONDecodeError(
            "lists or objects nest too deeply to read", text, where
        ) from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as err:
            escape = f"\\u{ord(err.object[err.start]):04x}"
            where = max(0, text.lower().find(escape))
            raise json.JSONDecodeError(
                f"the lone surrogate {escape} is not text", text, where
            ) from None
    return value


def _int(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:  # past sys.get_int_max_str_digits()
        return float(text)


def _deepest(text: str) -> int:
    """Where the text first reaches its deepest nesting of [ and { outside strings."""
    depth = deepest = where = 0
    in_string = escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif in_string:
            escaped, in_string = char == "\\", char != '"'
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, index
        elif char in "]}":
            depth -= 1
    return where


def _json_line(file: DataFile, number: int, line: str) -> RawRow:
    where = f"{file.name} line {number}"
    try:
        return RawRow(number, where, parse_json(line))
    except json.JSONDecodeError as err:
        return RawRow(number, where, error=f"not valid JSON: {err.msg} at column {err.colno}")


def _json_rows(file: DataFile, text: str) -> list[RawRow]:
    if not text.strip():
        return []
    try:
        value = parse_json(text)
    except json.JSONDecodeError as err:
        if err.msg == "Extra data" and _first_line_is_object(text):
            return _jsonl_rows(file, text)  # JSON lines saved under a .json name: common, harmless
        raise UserError(
            f"{file.name} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}.",
            "Fix the file there; a file with one JSON object per line should be named .jsonl.",
        ) from None
    return _numbered(file, _json_items(file, value))


def _first_line_is_object(text: str) -> bool:
    first = next(line for line in text.split("\n") if line.strip())
    try:
        return isinstance(parse_json(first), dict)
    except json.JSONDecodeError:
        return False


def _json_items(file: DataFile, value: object) -> list[object]:
    """The rows of a JSON document: a list, or the one list inside an object like {"data": [...]}."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        lists = [key for key, item in value.items() if isinstance(item, list)]
        if len(lists) == 1:
            return value[lists[0]]
        found = f"the fields {', '.join(map(repr, value))}" if value else "no fields"
        raise UserError(
            f"{file.name} holds an object with {found}, not a list of rows.",
            'Write it as a JSON array of rows, or an object with one list field ({"data": [...]}).',
        )
    raise UserError(
        f"{file.name} holds a single {type(value).__name__} value, not a list of rows.",
        "Write it as a JSON array of objects, one object per example.",
    )


def _csv_rows(file: DataFile, text: str) -> list[RawRow]:
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    # strict: a stray quote is an error at its line, not a cell that swallows the rows after it.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[RawRow] = []
    try:
        header = next(reader, None)
        start = reader.line_num + 1
        for record in reader:
            if record:  # the csv module yields [] for a blank line: no row there
                rows.append(_csv_row(file, header or [], record, len(rows) + 1, start))
            start = reader.line_num + 1
    except csv.Error as err:
        raise UserError(
            f"{file.name} is not valid CSV at line {reader.line_num}: {err}.",
            "Fix the file there (quote cells that hold commas, quotes or line breaks).",
        ) from None
    return rows


def _csv_row(file: DataFile, header: list[str], record: list[str], row: int, line: int) -> RawRow:
    # Both numbers: spreadsheets show rows, editors show lines, and a quoted cell may span lines.
    where = f"{file.name} row {row} (line {line})"
    if len(record) != len(header):
        return RawRow(
            row, where, error=f"has {len(record)} values but the header names {len(header)} columns"
        )
    return RawRow(row, where, dict(zip(header, record, strict=True)))


def _parquet_rows(file: DataFile) -> list[RawRow]:
    # Imported here: pyarrow is large, and only Parquet files need it.
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(file.path)
    except (pa.ArrowException, OSError, ValueError) as err:
        raise UserError(
            f"{file.name} is not a readable Parquet file: {err}.",
            "Check that the file is complete; re-export it if it was cut short.",
        ) from None
    return _numbered(file, table.to_pylist())


def _txt_rows(file: DataFile, text: str) -> list[RawRow]:
    """Paragraphs (runs of non-blank lines) are examples; a file without blank lines is one."""
    rows: list[RawRow] = []
    paragraph: list[str] = []
    start = 0
    for number, line in enumerate([*text.split("\n"), ""], start=1):
        if line.strip():
            start = start or number
            paragraph.append(line.rstrip("\r"))
        elif paragraph:
            where = f"{file.name} line {start}"
            rows.append(RawRow(start, where, {"text": "\n".join(paragraph)}))
            paragraph, start = [], 0
    return rows


_TEXT_READERS: dict[str, Callable[[DataFile, str], list[RawRow]]] = {
    "jsonl": _jsonl_rows,
    "json": _json_rows,
    "csv": _csv_rows,
    "txt": _txt_rows,
}
