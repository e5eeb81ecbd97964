"""The loss curve of a run as a small PNG, for its model card.

Written by hand (zlib and struct from the standard library) rather than with matplotlib, which
is not a dependency of tui-ft and would add tens of megabytes (and a font cache) to draw two
lines. PNG rather than SVG: the Hub and GitHub show a PNG referenced from a README everywhere,
where an SVG may be refused as active content. The axes carry their numbers in a tiny built-in
digit font; what the axes are (step, loss) is said in the card's caption.
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from collections.abc import Sequence

Point = tuple[float, float]
Colour = tuple[int, int, int]

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 12, 28  # room for the tick numbers
TRAIN: Colour = (31, 119, 180)  # the blue and orange most plotting tools start with
EVAL: Colour = (255, 127, 14)
AXIS: Colour = (90, 90, 90)
GRID: Colour = (225, 225, 225)
WHITE: Colour = (255, 255, 255)
SCALE = 2  # each font pixel is 2×2 image pixels

# 3×5 glyphs, one string of 15 bits a glyph, row by row.
_GLYPHS = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001010010010",
    "8": "111101111101111",
    "9": "111101111001111",
    ".": "000000000000010",
    "-": "000000111000000",
    "+": "000010111010000",
    "e": "000111101110111",
}


def loss_png(train: Sequence[Point], evals: Sequence[Point] = ()) -> bytes | None:
    """The training loss (a line) and the eval loss (a line with dots) against the step; None
    when there is no finite point to draw."""
    train = _finite(train)
    evals = _finite(evals)
    points = [*train, *evals]
    if not points:
        return None
    canvas = _Canvas(WIDTH, HEIGHT)
    x_ticks = nice_ticks(min(p[0] for p in points), max(p[0] for p in points))
    y_ticks = nice_ticks(min(p[1] for p in points), max(p[1] for p in points))
    frame = _Frame(x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1])
    for value in x_ticks:
        x = frame.x(value)
        canvas.line(x, TOP, x, frame.bottom, GRID)
        canvas.text(tick_label(value), x, frame.bottom + 8, AXIS, centre=True)
    for value in y_ticks:
        y = frame.y(value)
        canvas.line(LEFT, y, frame.right, y, GRID)
        label = tick_label(value)
        canvas.text(label, LEFT - 6 - _text_width(label), y - 5, AXIS)
    canvas.line(LEFT, TOP, LEFT, frame.bottom, AXIS)
    canvas.line(LEFT, frame.bottom, frame.right, frame.bottom, AXIS)
    for series, colour, dots in ((train, TRAIN, False), (evals, EVAL, True)):
        pixels = [(frame.x(x), frame.y(y)) for x, y in series]
        for (x0, y0), (x1, y1) in itertools.pairwise(pixels):
            canvas.line(x0, y0, x1, y1, colour, thick=True)
        for x, y in pixels if dots or len(pixels) == 1 else ():
            canvas.square(x, y, 3, colour)
    return canvas.png()


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round numbers (1, 2 or 5 times a power of ten apart) from at or below `low` to at or
    above `high`, about `count` of them."""
    if high <= low:
        spread = abs(low) * 0.1 or 1.0
        low, high = low - spread, high + spread
    raw = (high - low) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = [first]
    while ticks[-1] < high - step * 1e-9:
        ticks.append(first + len(ticks) * step)
    return [round(t, 12) for t in ticks]


def tick_label(value: float) -> str:
    """At most 4 significant digits, no trailing zeros: 0.25, 1.5, 120, 1e-05."""
    return f"{value:.4g}"


def _finite(points: Sequence[Point]) -> list[Point]:
    return sorted((x, y) for x, y in points if math.isfinite(x) and math.isfinite(y))


class _Frame:
    """Data coordinates to pixels inside the margins."""

    def __init__(self, x0: float, x1: float, y0: float, y1: float) -> None:
        self.x0, self.x1, self.y0, self.y1 = x0, x1, y0, y1
        self.right = WIDTH - RIGHT
        self.bottom = HEIGHT - BOTTOM

    def x(self, value: float) -> int:
        return round(LEFT + (value - self.x0) / (self.x1 - self.x0) * (self.right - LEFT))

    def y(self, value: float) -> int:
        return round(self.bottom - (value - self.y0) / (self.y1 - self.y0) * (self.bottom - TOP))


def _text_width(text: str) -> int:
    return len(text) * 4 * SCALE - SCALE


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(WHITE * (width * height))

    def dot(self, x: int, y: int, colour: Colour) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            at = (y * self.width + x) * 3
            self.pixels[at : at + 3] = bytes(colour)

    def square(self, x: int, y: int, half: int, colour: Colour) -> None:
        for dy in range(-half, half + 1):
            for dx in range(-half, half + 1):
                self.dot(x + dx, y + dy, colour)

    def line(self, x0: int, y0: int, x1: int, y1: int, colour: Colour, thick: bool = False) -> None:
        """Bresenham's line; thick: two pixels wide."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        error = dx + dy
        while True:
            self.dot(x0, y0, colour)
            if thick:
                self.dot(x0 + 1, y0, colour)
                self.dot(x0, y0 + 1, colour)
            if x0 == x1 and y0 == y1:
                return
            doubled = 2 * error
            if doubled >= dy:
                error += dy
                x0 += sx
            if doubled <= dx:
                error += dx
                y0 += sy

    def text(self, text: str, x: int, y: int, colour: Colour, centre: bool = False) -> None:
        if centre:
            x -= _text_width(text) // 2
        for char in text:
            bits = _GLYPHS.get(char)
            for index, bit in enumerate(bits or ""):
                if bit == "1":
                    row, column = divmod(index, 3)
                    for sy in range(SCALE):
                        for sx in range(SCALE):
                            self.dot(x + column * SCALE + sx, y + row * SCALE + sy, colour)
            x += 4 * SCALE

    def png(self) -> bytes:
        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[row * stride : (row + 1) * stride])
            for row in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
