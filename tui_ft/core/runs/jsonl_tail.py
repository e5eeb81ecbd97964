"""Reading JSON-lines files that another process is still appending to (metrics.jsonl,
probes.jsonl), the Toolong way: a byte offset, complete lines only, truncation and replacement
noticed, bad and overlong lines counted instead of raised.

Pure Python: the UI polls these files several times a second.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

DEFAULT_MAX_LINE_BYTES = 1 << 20
TAIL_BYTES = 64 * 1024

T = TypeVar("T")


class _LineTail(Generic[T]):
    """Complete lines appended since the previous `read_new()`, each parsed by `_parse`."""

    def __init__(self, path: Path, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.path = Path(path)
        self.max_line_bytes = max_line_bytes
        self.offset = 0
        self.bad_lines = 0
        self._file_id: tuple[int, int] | None = None
        # Inside an overlong line: its bytes are dropped up to the next newline.
        self._skipping = False

    def read_new(self) -> list[T]:
        try:
            handle = self.path.open("rb")
        except OSError:  # not written yet, or removed while being replaced
            return []
        with handle:
            self._restart_if_replaced(handle)
            handle.seek(self.offset)
            return self._read_lines(handle)

    def _restart_if_replaced(self, handle: BinaryIO) -> None:
        info = os.fstat(handle.fileno())
        file_id = (info.st_dev, info.st_ino)
        if file_id != self._file_id or info.st_size < self.offset or self._mid_line(handle):
            self._file_id = file_id
            self._start(info.st_size)

    def _start(self, size: int) -> None:
        """Where reading a new (or replaced) file begins: its first byte."""
        self.offset = 0
        self._skipping = False

    def _mid_line(self, handle: BinaryIO) -> bool:
        """A file truncated and refilled past our offset between two polls keeps its size
        growing; the byte before the offset is then no longer the newline we stopped after."""
        if self.offset == 0 or self._skipping:
            return False
        handle.seek(self.offset - 1)
        return handle.read(1) != b"\n"

    def _read_lines(self, handle: BinaryIO) -> list[T]:
        records: list[T] = []
        while line := handle.readline(self.max_line_bytes + 1):
            complete = line.endswith(b"\n")
            if not complete and len(line) <= self.max_line_bytes and not self._skipping:
                break  # half-written: read it again, whole, next time
            self.offset += len(line)
            if self._skipping:
                self._skipping = not complete
            elif not complete:
                self.bad_lines += 1  # overlong: counted once, skipped to its end
                self._skipping = True
            else:
                self._add(records, line)
        return records

    def _add(self, records: list[T], line: bytes) -> None:
        if not line.strip():
            return
        record = self._parse(line)
        if record is None:
            self.bad_lines += 1
        else:
            records.append(record)

    def _parse(self, line: bytes) -> T | None:
        raise NotImplementedError


class JsonlTail(_LineTail[dict[str, Any]]):
    """Each `read_new()` returns the JSON objects appended since the previous call."""

    def _parse(self, line: bytes) -> dict[str, Any] | None:
        return parse_record(line)


class TextTail(_LineTail[str]):
    """The lines of a log another process appends to. The first read starts `start_bytes`
    before the end (a long run's log can be large), at the next line boundary."""

    def __init__(
        self,
        path: Path,
        start_bytes: int = TAIL_BYTES,
        max_line_bytes: int = TAIL_BYTES,
    ) -> None:
        super().__init__(path, max_line_bytes)
        self.start_bytes = start_bytes

    def _start(self, size: int) -> None:
        self.offset = max(0, size - self.start_bytes)
        # Most likely mid-line: drop up to the next newline, as for an overlong line.
        self._skipping = self.offset > 0

    def _add(self, records: list[str], line: bytes) -> None:
        # A progress bar redraws its line with carriage returns: only its last state matters.
        text = line.decode("utf-8", errors="replace").rstrip("\r\n").rpartition("\r")[2]
        records.append(text)


def parse_record(line: bytes) -> dict[str, Any] | None:
    """One JSON object, or None for anything else (broken JSON, bad UTF-8, a bare value)."""
    try:
        value = json.loads(line)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return None
    return value if isinstance(value, dict) else None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The whole file, with JsonlTail's tolerance. A last line without its newline is kept only
    when it is already a whole JSON object (a writer cut short mid-line leaves broken JSON)."""
    tail = JsonlTail(path)
    records = tail.read_new()
    if tail._skipping:  # what follows is the end of an overlong line, not a record
        return records
    return records + _unterminated_last_record(Path(path), tail.offset)


def read_jsonl_tail(path: Path, max_bytes: int = TAIL_BYTES) -> list[dict[str, Any]]:
    """The last records of a file of any size, reading at most `max_bytes` from its end:
    enough for "the last loss" without reading a long run's whole history."""
    try:
        with Path(path).open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            start = max(0, size - max_bytes)
            handle.seek(start)
            data = handle.read(size - start)
    except OSError:
        return []
    lines = data.split(b"\n")
    if start > 0:
        lines = lines[1:]  # began mid-line
    lines = lines[:-1]  # after the last newline: empty, or a line still being written
    return [record for line in lines if (record := parse_record(line)) is not None]


def _unterminated_last_record(path: Path, offset: int) -> list[dict[str, Any]]:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            rest = handle.read(DEFAULT_MAX_LINE_BYTES + 1)
    except OSError:
        return []
    record = parse_record(rest) if rest.strip() and b"\n" not in rest else None
    return [] if record is None else [record]
