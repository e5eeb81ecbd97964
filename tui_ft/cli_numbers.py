"""argparse types for numeric options: a value outside its range is refused by the parser, with
a sentence, before any command starts (so `--nproc 0` never reaches torchrun, nor
`--max-new-tokens 0` a loaded model)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def whole(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """A whole number from `minimum` (to `maximum`)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number.") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"must be {_range(minimum, maximum)} (it is {value}).")
        return value

    return parse


def real(
    minimum: float, *, above: bool = False, maximum: float | None = None
) -> Callable[[str], float]:
    """A finite number of at least `minimum` (above it, with `above`), and at most `maximum`."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number.") from None
        low_ok = value > minimum if above else value >= minimum
        if not math.isfinite(value) or not low_ok or (maximum is not None and value > maximum):
            lower = f"above {minimum:g}" if above else f"of at least {minimum:g}"
            upper = f" and at most {maximum:g}" if maximum is not None else ""
            raise argparse.ArgumentTypeError(f"must be a number {lower}{upper} (it is {text}).")
        return value

    return parse


def _range(minimum: int, maximum: int | None) -> str:
    if maximum is None:
        return f"a whole number of at least {minimum}"
    return f"a whole number from {minimum} to {maximum}"
