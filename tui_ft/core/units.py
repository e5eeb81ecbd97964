"""Numbers for people: parameter counts ('135M'), byte sizes ('79.6 GiB'), context lengths ('8k'),
durations ('3m05s').

Shared by the model info line and the UI's model lists.
"""

from __future__ import annotations


def format_count(n: float) -> str:
    """134_515_008 -> '135M', 8_030_261_248 -> '8.0B', 7_500 -> '7.5k'."""
    for scale, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "k")):
        if abs(n) >= scale:
            value = n / scale
            return f"{value:.1f}{suffix}" if value < 10 else f"{value:.0f}{suffix}"
    return str(int(n))


def format_context(tokens: int) -> str:
    """Context lengths are powers of two: 8192 -> '8k', 131072 -> '128k', 2047 -> '2047'."""
    return f"{tokens // 1024}k" if tokens >= 1024 and tokens % 1024 == 0 else str(tokens)


def format_bytes(value: int | None) -> str:
    """Binary units, one decimal: what nvidia-smi users expect ("79.6 GiB"); None is "n/a"."""
    if value is None:
        return "n/a"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def format_duration(seconds: float) -> str:
    """42 -> '42s', 185 -> '3m05s', 7380 -> '2h03m': an ETA or a run time."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def format_age(seconds: float) -> str:
    """'12 s', '3 min', '2 h', '4 days': how long ago, for people."""
    seconds = max(0.0, seconds)
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {'day' if unit == 'days' and count == 1 else unit}"
    return f"{int(seconds)} s"
