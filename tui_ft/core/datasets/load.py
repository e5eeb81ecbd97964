"""Datasets for training: find, read, detect the format, normalize, report bad rows, split.

`load_dataset(ref)` takes `demo`, a data file (.jsonl, .json, .csv, .parquet, .txt) or a
Hugging Face dataset id `org/name[:split]` (read from the hub cache; see sources.py). Its
rows become `Example`s: a conversation of `Message`s for the alpaca, sharegpt, messages and
prompt_completion formats, a string for the text format, a prompt and its answers for the
preference formats (see formats.py). A row that does
not fit is never dropped silently: it is a `Problem` naming its file and line or row, and
`len(examples) + problem_count == rows_total` always holds.

Where the places come from:
- .jsonl: `line N` (blank lines are skipped but counted); .json: `row N` of its array (an object
  with one list field, like {"data": [...]}, works too; JSON lines under a .json name are read
  as JSON lines); .csv: `row N (line L)` with N counted from the first row after the header;
  .parquet: `row N`.
- .txt, for continued pre-training: every paragraph (lines between blank lines) is one example,
  at `line N` where it starts; a file without blank lines is a single example, the whole
  document. Line breaks inside a paragraph are kept.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tui_ft.core.datasets.files import RawRow, read_rows
from tui_ft.core.datasets.formats import (
    FIELDS,
    FORMATS,
    Example,
    Message,
    RowError,
    dataset_problem,
    detect_format,
    to_example,
)
from tui_ft.core.datasets.sources import Source, resolve
from tui_ft.core.errors import UserError

__all__ = [
    "FORMATS",
    "Dataset",
    "Example",
    "Message",
    "Problem",
    "examples_fingerprint",
    "load_dataset",
    "split_examples",
]

_SKIP_HINT = (
    "Fix them, or set `skip_bad_rows: true` in run.yaml to train without them (they stay counted)."
)


@dataclass(frozen=True)
class Problem:
    where: str  # e.g. "data.jsonl line 7", "data.csv row 3 (line 4)"
    message: str  # what is wrong there, e.g. "missing `output`"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Dataset:
    source: str  # the dataset as named: "demo", the path given, or "org/name:split"
    path: Path | None  # the file read (a HF split of several files: their snapshot folder)
    format: str
    reason: str  # why this format, e.g. "every row has a `messages` list → OpenAI messages ..."
    examples: list[Example]
    problems: list[Problem]  # the first `max_problems` bad rows
    problem_count: int  # all bad rows
    rows_total: int
    fingerprint: str  # of the good examples' content: same data, same fingerprint, any file type
    # What spoils the dataset as a whole though its rows are good (KTO labels all one value).
    dataset_problem: str | None = None

    def require_clean(self, skip_bad_rows: bool = False) -> None:
        """Raise UserError when the dataset has bad rows (unless skipped), no good row at all,
        or a problem of the whole (which skipping rows cannot fix)."""
        if self.dataset_problem:
            raise UserError(
                f"{self.source} cannot be trained on: {self.dataset_problem}.",
                "Add rows of the missing kind, or train with another objective.",
            )
        if not self.problem_count:
            return
        first = f"; the first: {self.problems[0]}" if self.problems else ""
        if not self.examples:
            raise UserError(
                f"{self.source} has no usable rows: all {self.rows_total} are bad{first}.",
                "Fix them; `tui-ft data inspect` lists them.",
            )
        if not skip_bad_rows:
            rows = "1 bad row" if self.problem_count == 1 else f"{self.problem_count} bad rows"
            raise UserError(f"{self.source} has {rows}{first}.", _SKIP_HINT)


def load_dataset(
    ref: str,
    fmt: str = "auto",
    columns: Mapping[str, str] | None = None,
    max_problems: int = 20,
) -> Dataset:
    """Read `ref` as `fmt` (or the format its rows show), reading field F from column
    `columns[F]`. Raises UserError for what spoils the whole file; keeps bad rows as problems."""
    wanted = _checked_format(fmt)
    mapping = _checked_fields(columns or {})
    source = resolve(ref)
    rows = [row for file in source.files for row in read_rows(file)]
    if not rows:
        raise UserError(
            f"{source.label} has no rows: the file is empty or holds only a header.",
            "Check that this is the file you meant; training needs at least one example.",
        )
    _check_columns(mapping, rows, source.label)
    fmt, reason = _format(wanted, source, rows, mapping)
    examples, problems, count = _examples(rows, fmt, mapping, max_problems)
    return Dataset(
        source=source.label,
        path=source.path,
        format=fmt,
        reason=reason,
        examples=examples,
        problems=problems,
        problem_count=count,
        rows_total=len(rows),
        fingerprint=examples_fingerprint(examples),
        dataset_problem=dataset_problem(fmt, examples),
    )


def _checked_format(fmt: str) -> str:
    name = fmt.strip().lower().replace("-", "_")
    choices = ("auto", *FORMATS)
    if name in choices:
        return name
    nearest = difflib.get_close_matches(name, choices, n=1, cutoff=0)
    raise UserError(
        f"{fmt!r} is not a dataset format; the nearest is {nearest[0]!r}.",
        f"Choose one of: {', '.join(choices)}.",
    )


def _checked_fields(columns: Mapping[str, str]) -> dict[str, str]:
    for field in columns:
        if field not in FIELDS:
            nearest = difflib.get_close_matches(field, FIELDS, n=1, cutoff=0)
            raise UserError(
                f"{field!r} is not a field a dataset format reads; the nearest is {nearest[0]!r}.",
                f"Map one of: {', '.join(FIELDS)} (as FIELD=COLUMN).",
            )
    return dict(columns)


def _fields_in(rows: Iterable[RawRow]) -> list[str]:
    return sorted({str(k) for row in rows if isinstance(row.value, Mapping) for k in row.value})


def _check_columns(mapping: Mapping[str, str], rows: list[RawRow], label: str) -> None:
    present = _fields_in(rows)
    for field, column in mapping.items():
        if column not in present:
            raise UserError(
                f"the column {column!r} (mapped to `{field}`) is in no row of {label}; "
                f"its columns are: {', '.join(present[:20]) or 'none'}.",
                "Name a column the file has, as FIELD=COLUMN (e.g. prompt=question).",
            )


def _renamed(value: object, mapping: Mapping[str, str]) -> object:
    if not mapping or not isinstance(value, Mapping):
        return value
    renamed = dict(value)
    for field, column in mapping.items():
        if column in value:
            renamed[field] = value[column]
    return renamed


def _format(
    wanted: str, source: Source, rows: list[RawRow], mapping: Mapping[str, str]
) -> tuple[str, str]:
    """The format to read the rows as, and the sentence that says why."""
    values = [_renamed(row.value, mapping) for row in rows if row.error is None]
    if all(file.kind == "txt" for file in source.files):
        return _text_file_format(wanted, source.label, len(values))
    if wanted != "auto":
        fmt, reason = wanted, f"the format was chosen: {wanted}"
    elif not values:
        raise UserError(
            f"no row of {source.label} could be read; the first: {rows[0].where}: {rows[0].error}.",
            "Check that the file is what its extension says (one JSON object per line for .jsonl).",
        )
    else:
        detected = detect_format(values, prefer=mapping)
        if detected is None:
            raise _undetected(source.label, rows)
        fmt, reason = detected
    mapped = ", ".join(f"`{column}` → `{field}`" for field, column in mapping.items())
    return fmt, f"{reason} (after mapping {mapped})" if mapped else reason


def _text_file_format(wanted: str, label: str, paragraphs: int) -> tuple[str, str]:
    if wanted not in ("auto", "text"):
        raise UserError(
            f"{label} is a .txt file, which holds plain text only, not the {wanted} format.",
            "Use the text format, or a .jsonl/.json/.csv/.parquet file for conversations.",
        )
    return "text", (
        f"a .txt file: each paragraph (lines between blank lines) is one example, {paragraphs} "
        "here → plain text (continued pre-training)"
    )


def _undetected(label: str, rows: list[RawRow]) -> UserError:
    fields = _fields_in(rows)
    has = f"its rows have {', '.join(f'`{f}`' for f in fields[:20])}" if fields else "no fields"
    return UserError(
        f"the format of {label} could not be told: {has}.",
        "Formats read `messages`, `conversations`, `instruction`+`output`, `prompt`+`completion`, "
        "`text`, `chosen`+`rejected` (preference pairs) or `prompt`+`completion`+`label` "
        "(KTO); map your columns (e.g. --column prompt=question) or pass --format.",
    )


def _examples(
    rows: list[RawRow], fmt: str, mapping: Mapping[str, str], max_problems: int
) -> tuple[list[Example], list[Problem], int]:
    examples: list[Example] = []
    problems: list[Problem] = []
    count = 0
    for row in rows:
        try:
            examples.append(_example(row, fmt, mapping))
        except RowError as err:
            count += 1
            if len(problems) < max_problems:
                problems.append(Problem(row.where, _in_file_terms(str(err), mapping)))
    return examples, problems, count


def _example(row: RawRow, fmt: str, mapping: Mapping[str, str]) -> Example:
    if row.error is not None:
        raise RowError(row.error)
    return to_example(_renamed(row.value, mapping), fmt, row.row, row.where)


def _in_file_terms(message: str, mapping: Mapping[str, str]) -> str:
    """Name mapped fields by the file's columns: the person knows `question`, not `prompt`."""
    for field, column in mapping.items():
        message = message.replace(f"`{field}`", f"`{column}`")
    return message


def _canonical(example: Example) -> str:
    content: object = example.text
    if example.text is None:
        content = _turns(example.messages)
    if example.chosen or example.rejected:
        # Preference rows: the answers and the label are the data as much as the prompt is.
        content = [content, _turns(example.chosen), _turns(example.rejected), example.label]
    if example.fields:
        # Prompt-only rows (GRPO): the answers the rewards check are the data too.
        content = [content, dict(sorted(example.fields.items()))]
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"))


def _turns(messages: Iterable[Message]) -> list[list[str]]:
    return [[message.role, message.content] for message in messages]


def examples_fingerprint(examples: Iterable[Example]) -> str:
    """16 hex digits of sha256 over the examples' roles and contents, in order: the places,
    the file type and its layout do not count."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(_canonical(example).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def split_examples(
    examples: Iterable[Example], eval_fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """(train, eval): round(n × eval_fraction) examples held out (at least 1 when the fraction is
    above 0 and there are 2 or more, never all), both in their original order.

    Which examples are held out depends only on their content and the seed, not on their order,
    so adding rows to a dataset moves few of the old ones across the split.
    """
    if not 0 <= eval_fraction < 1:
        raise UserError(
            f"the eval fraction must be at least 0 and below 1, not {eval_fraction}.",
            "Use e.g. 0.1 to hold out a tenth of the examples, or 0 for no evaluation.",
        )
    pool = list(examples)
    order = sorted(range(len(pool)), key=lambda i: (_split_key(pool[i], seed), i))
    held = set(order[: _eval_size(len(pool), eval_fraction)])
    train = [example for i, example in enumerate(pool) if i not in held]
    return train, [example for i, example in enumerate(pool) if i in held]


def _split_key(example: Example, seed: int) -> bytes:
    return hashlib.sha256(f"{seed}\n{_canonical(example)}".encode()).digest()


def _eval_size(total: int, fraction: float) -> int:
    if fraction == 0 or total < 2:
        return 0
    return min(total - 1, max(1, round(total * fraction)))
