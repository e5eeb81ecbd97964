"""Whether a value written by one process has the keys its TypedDict declares: mypy checks the
code on both sides, this checks what actually went over the boundary (Any-typed values from
torch and transformers pass mypy whatever they hold)."""

from __future__ import annotations

from collections.abc import Mapping


def shape_problems(value: Mapping[str, object], shape: type) -> list[str]:
    """What is wrong with `value` as a `shape` (a TypedDict class): keys missing, keys unknown."""
    required: frozenset[str] = shape.__required_keys__
    optional: frozenset[str] = shape.__optional_keys__
    missing = sorted(required - set(value))
    unknown = sorted(set(value) - required - optional)
    return [f"{shape.__name__} lacks {key!r}" for key in missing] + [
        f"{shape.__name__} does not declare {key!r}" for key in unknown
    ]
