"""Text that tries to drive the terminal or to be read as markup, for the terminal-safety tests:
each piece is what a dataset row, a model's answer, a run file or a file name could hold."""

from __future__ import annotations

OSC52 = "\x1b]52;c;aGFja2Vk\x07"  # set the clipboard to "hacked"
CLEAR = "\x1b[2J"  # clear the screen
ALT_SCREEN = "\x1b[?1049h"  # switch to the alternate screen
LINK = "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"  # an OSC 8 hyperlink
C1_CSI = "\x9b31m"  # the one-byte CSI: red, on terminals that take 8-bit controls
BELL_CR = "\x07\r\x08"
MARKUP = "[/nope] [bold red]loud[/bold red] [link=https://evil.example]x[/link]"

SEQUENCES = (OSC52, CLEAR, ALT_SCREEN, LINK, C1_CSI, BELL_CR)
HOSTILE = "start " + "".join(SEQUENCES) + " " + MARKUP + " end"

# Each payload's escape as the terminal would obey it. The app's own escape codes are fine, and
# none of them looks like these; a payload shown as visible text (`\\x1b]52;…`) is inert.
PAYLOAD_MARKS = ("\x1b]52;", "\x1b[2J", "\x1b[?1049h", "\x1b]8;;https://evil", "\x9b", "\x07")


def assert_inert(output: str) -> None:
    """No payload reached `output`: none of its distinctive parts, and no C1 control."""
    for mark in PAYLOAD_MARKS:
        assert mark not in output, f"{mark!r} reached the output"
    assert not any("\x80" <= ch <= "\x9f" for ch in output), "a C1 control reached the output"


def assert_no_escape(output: str) -> None:
    """Plain output (not a terminal: Rich writes no codes of its own) holds no ESC at all."""
    assert_inert(output)
    assert "\x1b" not in output, "an ESC reached the output"
