"""The one error type that reaches a person: a sentence saying what is wrong and what to do."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix. `message` says what is wrong (and where); `hint` what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


def from_cli_output(stderr: str) -> UserError | None:
    """The UserError a tui-ft child process printed (tui_ft.cli writes `error: …` then
    `hint: …`), read back from its stderr; None when it printed none. The last error counts;
    lines after it continue its message until `hint:`, then continue the hint."""
    lines = stderr.rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    if not starts:
        return None
    message: list[str] = []
    hint: list[str] = []
    for line in lines[starts[-1] :]:
        if line.startswith("hint: "):
            hint.append(line.removeprefix("hint: "))
        elif hint:
            hint.append(line)
        else:
            message.append(line.removeprefix("error: "))
    return UserError("\n".join(message), "\n".join(hint))
