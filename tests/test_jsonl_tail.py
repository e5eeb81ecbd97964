"""JsonlTail: following metrics.jsonl while the trainer appends, rewrites or damages it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tui_ft.core.runs.jsonl_tail import JsonlTail, TextTail, read_jsonl, read_jsonl_tail


def line(record: dict) -> bytes:
    return (json.dumps(record) + "\n").encode()


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def test_a_missing_file_reads_as_nothing_until_it_appears(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    tail = JsonlTail(path)
    assert tail.read_new() == []
    append(path, line({"step": 1}))
    assert tail.read_new() == [{"step": 1}]


def test_only_new_records_are_returned(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    append(path, line({"step": 1}) + line({"step": 2}))
    tail = JsonlTail(path)
    assert tail.read_new() == [{"step": 1}, {"step": 2}]
    assert tail.read_new() == []
    append(path, line({"step": 3}))
    assert tail.read_new() == [{"step": 3}]
    assert tail.offset == path.stat().st_size


def test_a_half_written_line_waits_for_its_end(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    whole = line({"step": 2, "loss": 1.25})
    append(path, line({"step": 1}) + whole[:9])
    tail = JsonlTail(path)
    assert tail.read_new() == [{"step": 1}]
    assert tail.read_new() == []
    append(path, whole[9:])
    assert tail.read_new() == [{"step": 2, "loss": 1.25}]
    assert tail.bad_lines == 0


def test_truncation_restarts_from_the_beginning(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    append(path, line({"step": 1}) + line({"step": 2}))
    tail = JsonlTail(path)
    tail.read_new()
    path.write_bytes(line({"step": 9}))
    assert tail.read_new() == [{"step": 9}]


def test_a_rewrite_that_grew_past_the_offset_is_noticed(tmp_path: Path) -> None:
    """Truncated and refilled between two polls: the size alone would hide it."""
    path = tmp_path / "metrics.jsonl"
    append(path, line({"step": 1}))
    tail = JsonlTail(path)
    tail.read_new()
    with path.open("r+b") as handle:  # same inode, new content
        handle.write(line({"step": 10, "loss": 0.5}) + line({"step": 11}))
    assert tail.read_new() == [{"step": 10, "loss": 0.5}, {"step": 11}]


def test_a_file_replaced_by_os_replace_is_read_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    append(path, line({"step": 1}) + line({"step": 2}) + line({"step": 3}))
    tail = JsonlTail(path)
    tail.read_new()
    new = tmp_path / "metrics.jsonl.new"
    new.write_bytes(line({"step": 1}) + line({"step": 2}) + line({"step": 4}) + line({"x": 5}))
    os.replace(new, path)  # longer than before, so only the inode tells
    assert tail.read_new() == [{"step": 1}, {"step": 2}, {"step": 4}, {"x": 5}]


def test_bad_lines_are_counted_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    append(path, b'{"step": 1}\nnot json\n[1, 2]\n\n\xff\xfe\n{"step": 2}\n')
    tail = JsonlTail(path)
    assert tail.read_new() == [{"step": 1}, {"step": 2}]
    assert tail.bad_lines == 3  # the blank line is not bad


def test_an_overlong_line_is_skipped_and_counted_once(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    tail = JsonlTail(path, max_line_bytes=64)
    long = line({"text": "x" * 200})
    append(path, line({"step": 1}) + long[:100])
    assert tail.read_new() == [{"step": 1}]  # the long line is already known to be too long
    assert tail.bad_lines == 1
    append(path, long[100:] + line({"step": 2}))
    assert tail.read_new() == [{"step": 2}]
    assert tail.bad_lines == 1
    assert tail.offset == path.stat().st_size


def test_a_line_of_exactly_the_limit_is_kept(tmp_path: Path) -> None:
    record = line({"k": "v" * 20})
    path = tmp_path / "metrics.jsonl"
    append(path, record)
    tail = JsonlTail(path, max_line_bytes=len(record) - 1)  # the limit excludes the newline
    assert tail.read_new() == [{"k": "v" * 20}]


def test_read_jsonl_keeps_a_whole_unterminated_last_record(tmp_path: Path) -> None:
    path = tmp_path / "probes.jsonl"
    path.write_bytes(line({"step": 1}) + b'{"step": 2}')
    assert read_jsonl(path) == [{"step": 1}, {"step": 2}]
    path.write_bytes(line({"step": 1}) + b'{"step": 2, "ans')
    assert read_jsonl(path) == [{"step": 1}]
    assert read_jsonl(tmp_path / "missing.jsonl") == []


def test_read_jsonl_tail_reads_only_the_end(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b"".join(line({"step": i, "loss": 1 / (i + 1)}) for i in range(5000)))
    records = read_jsonl_tail(path, max_bytes=200)
    assert records and records[-1]["step"] == 4999
    assert all(set(r) == {"step", "loss"} for r in records)  # no torn first line
    assert len(records) < 10
    append(path, b'{"step": 5000, "lo')
    assert read_jsonl_tail(path, max_bytes=200)[-1]["step"] == 4999
    assert read_jsonl_tail(tmp_path / "missing.jsonl") == []


# --- TextTail: train.log ------------------------------------------------------------------


def test_text_tail_starts_near_the_end_at_a_line_boundary(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    append(path, b"".join(f"line {i}\n".encode() for i in range(1000)))
    tail = TextTail(path, start_bytes=100)
    lines = tail.read_new()
    assert lines[-1] == "line 999"
    assert all(line.startswith("line ") for line in lines)  # no cut first line
    assert len(lines) < 20
    append(path, b"next\npartial")
    assert tail.read_new() == ["next"]
    append(path, b" line\n")
    assert tail.read_new() == ["partial line"]


def test_text_tail_keeps_a_progress_bar_last_state_and_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    append(path, b"10%\r50%\r100%\n\xff broken utf-8\n\n")
    assert TextTail(path).read_new() == ["100%", "\ufffd broken utf-8", ""]


def test_text_tail_of_a_small_file_reads_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    append(path, b"a\nb\n")
    assert TextTail(path).read_new() == ["a", "b"]
