"""Numbers for people: counts, byte sizes and context lengths."""

from __future__ import annotations

from tui_ft.core.units import format_bytes, format_context, format_count


def test_formatting_helpers() -> None:
    assert format_count(134_515_008) == "135M"
    assert format_count(8_030_261_248) == "8.0B"
    assert format_count(999) == "999"
    assert format_context(8192) == "8k" and format_context(131072) == "128k"
    assert format_bytes(269_060_552) == "256.6 MiB" and format_bytes(None) == "n/a"
