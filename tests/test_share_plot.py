"""The loss curve's PNG, written without a plotting library: a valid file (chunks and their
checksums), the curves drawn in their colours, round tick values."""

from __future__ import annotations

import math
import struct
import zlib

import pytest

from tui_ft.core.share.plot import EVAL, HEIGHT, TRAIN, WIDTH, loss_png, nice_ticks, tick_label


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    found, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + data)
        found.append((kind, data))
        at += 12 + length
    return found


def pixels(png: bytes) -> set[tuple[int, int, int]]:
    parts = dict(chunks(png))
    width, height, depth, colour_type = struct.unpack(">IIBB", parts[b"IHDR"][:10])
    assert (width, height, depth, colour_type) == (WIDTH, HEIGHT, 8, 2)
    raw = zlib.decompress(parts[b"IDAT"])
    stride = 1 + width * 3
    assert len(raw) == stride * height
    colours = set()
    for row in range(height):
        line = raw[row * stride + 1 : (row + 1) * stride]
        colours |= {tuple(line[i : i + 3]) for i in range(0, len(line), 3)}
    return colours


def test_a_valid_png_with_both_curves() -> None:
    png = loss_png([(s, 2 / s) for s in range(1, 30)], [(10, 0.5), (20, 0.3)])
    assert png is not None
    assert [kind for kind, _ in chunks(png)] == [b"IHDR", b"IDAT", b"IEND"]
    assert {TRAIN, EVAL} <= pixels(png)


def test_nothing_to_draw() -> None:
    assert loss_png([], []) is None
    assert loss_png([(1, math.nan), (2, math.inf)]) is None


def test_a_diverged_point_is_left_out_and_one_point_still_shows() -> None:
    png = loss_png([(1, 2.0), (2, math.nan)])
    assert png is not None and TRAIN in pixels(png)


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0.31, 2.7, [0.0, 1.0, 2.0, 3.0]),
        (1, 60, [0, 20, 40, 60]),
        (5, 5, [4.5, 5.0, 5.5]),
        (0.0012, 0.0031, [0.001, 0.0015, 0.002, 0.0025, 0.003, 0.0035]),
    ],
)
def test_nice_ticks(low: float, high: float, ticks: list[float]) -> None:
    assert nice_ticks(low, high) == pytest.approx(ticks)


@pytest.mark.parametrize(
    ("value", "label"), [(0.0, "0"), (2.5, "2.5"), (120.0, "120"), (1e-5, "1e-05")]
)
def test_tick_labels(value: float, label: str) -> None:
    assert tick_label(value) == label
