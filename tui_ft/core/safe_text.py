"""Text from outside (dataset rows, model answers, file names, run files, exception messages)
made safe to show in a terminal: it can never drive the terminal, and it is never markup.

A terminal obeys the escape sequences in whatever it is sent: `ESC ] 52 ; c ; …` sets the
clipboard, `ESC [ 2J` clears the screen, `ESC [ ?1049h` switches screens, OSC 8 makes links,
and `\\x9b` is the one-byte form of `ESC [`. Neither Rich nor Textual removes them. So every
place that shows such text passes it through `safe` (or `safe_text`, for a Rich `Text`,
which Rich and Textual show without reading `[...]` as markup).

What `safe` does, chosen so that a person still sees that something was there:
- a whole escape sequence (CSI, OSC/DCS/APC/PM/SOS up to BEL or ST, or ESC and its one
  character), 7-bit or C1, becomes one U+FFFD `�`; an unterminated one runs to the end;
- `\\r\\n` becomes `\\n` (files written on Windows); any other C0 control but `\\n` and `\\t`,
  DEL, and any other C1 control becomes `�` too.
`--json` output does not go through it, to stay exact: `json_for_terminal` escapes every control there
(JSON itself escapes only C0; DEL and C1 it would write raw unless everything non-ASCII is).

Text a person edits (an input box holding a path from a cloned run.yaml) keeps its length, so
that the cursor stays on its character: `visible` shows each control as one visible
character instead (`␛` for ESC, `␇` for BEL, `�` for a C1 control), without removing any.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.style import Style
    from rich.text import Text

MARK = "\ufffd"

_SEQUENCE = re.compile(
    r"""
    (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])  # OSC, DCS, SOS, PM, APC: a string up to
        .*?(?:\x07|\x1b\\|\x9c|\Z)          # BEL or ST (or the end of the text)
    | (?:\x1b\[|\x9b)                       # CSI: parameters, intermediates, a final byte
        [\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?
    | \x1b[\x20-\x2f]*[\x30-\x7e]?          # any other ESC x (with intermediates)
    | [\x00-\x08\x0b-\x1f\x7f-\x9f]         # a lone control
    """,
    re.VERBOSE | re.DOTALL,
)
_JSON_RAW = re.compile(r"[\x7f-\x9f]")
_ANY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# One character for one: the C0 controls as their Control Pictures (U+2400 + code), DEL as ␡.
_PICTURES = {code: 0x2400 + code for code in range(0x20)} | {0x7F: 0x2421}
_PICTURES |= {code: ord(MARK) for code in range(0x80, 0xA0)}


def safe(text: str) -> str:
    """`text` with every escape sequence and control but newline and tab shown as `�`."""
    if not _ANY_CONTROL.search(text):  # the usual case, and every streamed token: no copy
        return text
    return _SEQUENCE.sub(MARK, text.replace("\r\n", "\n"))


def safe_text(text: object, style: str | Style = "") -> Text:
    """A Rich `Text` of `text` made `safe`: shown as it reads, `[/nope]` included."""
    from rich.text import Text  # here, so that the CLI's error printer loads no Rich

    return Text(safe(str(text)), style=style)


def visible(text: str) -> str:
    """`text` with every control, newline and tab included, as one visible character."""
    return text.translate(_PICTURES)


def json_for_terminal(value: object, **options: Any) -> str:
    """`json.dumps(value)` for `--json` output: exact, readable non-ASCII text, and no raw
    control at all (DEL and C1 as `\\u009b`; in JSON they can only stand inside strings)."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _JSON_RAW.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
