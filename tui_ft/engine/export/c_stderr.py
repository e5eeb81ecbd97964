"""What llama.cpp prints while it works, caught instead of shown.

llama.cpp's quantizer prints a warning line per tensor it cannot give the asked type (181 on
SmolLM2-135M): through its log callback, which llama-cpp-python forwards to sys.stderr, and any
other C-level write goes straight to file descriptor 2. Either would flood `tui-ft export`'s
progress and the Export screen's log, where one summary line (core.export.report's
fallback_sentence) says the same. The text is kept for the check report.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# ggml.h's ggml_log_level: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5 (continues the
# last line). llama-cpp-python 0.3.36's own callback still maps the older order (3 as ERROR),
# which is why its logger at ERROR let every warning through.
QUIET_LEVELS = (1, 2)
GGML_LOG_CONT = 5


@dataclass
class Captured:
    text: str = ""  # filled in once the block ends


@contextlib.contextmanager
def captured_llama_output(llama_cpp: Any) -> Iterator[Captured]:
    """Inside the block, llama.cpp's log lines and whatever writes to fd 2 are collected;
    llama-cpp-python's own log callback and fd 2 are restored however the block ends."""
    captured = Captured()
    parts: list[str] = []
    keeping = [True]  # whether the last line was kept: a continuation follows its fate

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def collect(level: int, text: bytes, _user_data: Any) -> None:
        # Warnings and errors; llama.cpp's info lines (a few hundred a model) say nothing new.
        keeping[0] = keeping[0] if level == GGML_LOG_CONT else level not in QUIET_LEVELS
        if keeping[0]:
            parts.append(text.decode("utf-8", "replace"))

    llama_cpp.llama_log_set(collect, ctypes.c_void_p(0))
    try:
        with captured_stderr() as written:
            yield captured
    finally:
        from llama_cpp import _logger  # the callback llama-cpp-python installs on import

        llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))
        captured.text = "".join(parts) + written.text


@contextlib.contextmanager
def captured_stderr() -> Iterator[Captured]:
    """Inside the block, whatever writes to fd 2 (C code, this process's children) goes to a
    temporary file; fd 2 is restored however the block ends."""
    captured = Captured()
    sys.stderr.flush()  # Python's own pending lines belong before the block, on the terminal
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            log.seek(0)
            captured.text = log.read().decode("utf-8", "replace")
