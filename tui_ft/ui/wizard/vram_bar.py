"""The VRAM estimate as a picture: one stacked bar of the estimate's terms (weights, gradients,
optimizer states, activations, ...) and then the band up to the estimate's high figure, against
the memory free on the chosen device, a legend with each term's size, and the verdict sentence.

Each term has its own glyph as well as its own colour, and the verdict is words with a ✔/✘,
so nothing depends on colour alone (NO_COLOR, colour-blind eyes, a washed-out projector).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget

from tui_ft.core.estimate.peak import Estimate
from tui_ft.core.units import format_bytes

TIGHT = 0.9  # fits, but with less than a tenth free: other processes may take the rest


@dataclass(frozen=True)
class Look:
    glyph: str
    style: str  # a theme variable: every theme (and the high-contrast one) restyles the bar
    short: str  # the legend's name for the term


# The chart colours double as the bar's palette: they are the theme's set of distinct hues,
# and a theme that makes them readable makes the bar readable too.
LOOKS = {
    "weights": Look("█", "$memory", "weights"),
    "adapter": Look("▇", "$tuned", "adapter"),
    "optimizer": Look("▓", "$lr", "optimizer"),
    "gradients": Look("▒", "$grad-norm", "gradients"),
    "activations": Look("░", "$loss", "activations"),
    "logits": Look("▚", "$eval-loss", "logits"),
    "recompute": Look("▞", "$throughput", "recompute"),
    "backward": Look("▙", "$accent", "backward"),
    "attention": Look("▜", "$lr", "mask"),
    "step": Look("▛", "$grad-norm", "step"),
    "dequant": Look("▗", "$tuned", "dequant"),
    "workspace": Look("▟", "$base", "cuBLAS"),
    "slack": Look("▄", "$base", "slack"),
    "context": Look("▀", "$text-muted", "CUDA ctx"),
    "vllm": Look("▘", "$throughput", "vLLM"),
    # Not a term: from the estimate to its high figure, what the run may need on top.
    "band": Look("?", "$vram-warn", "maybe"),
}
OTHER = Look("▖", "$foreground", "other")
FREE = Look("·", "$text-muted", "free")


def look(key: str, device: str = "cuda") -> Look:
    found = LOOKS.get(key, OTHER)
    if key == "context" and device != "cuda":
        return Look(found.glyph, found.style, "runtime")  # Python and the libraries
    return found


def segments(estimate: Estimate, width: int) -> list[tuple[str, int]]:
    """(term key, "band" or "free", cells) along a bar `width` cells wide. The bar spans the
    larger of the high figure and the free memory; boundaries are rounded cumulatively so that
    the cells add up to `width` exactly."""
    available = estimate.available_bytes or 0
    high = estimate.required_high_bytes
    scale = max(high, available, 1)
    parts = [(t.key, t.bytes) for t in estimate.terms if t.bytes > 0]
    if high > estimate.required_bytes:
        parts.append(("band", high - estimate.required_bytes))
    if available > high:
        parts.append(("free", available - high))
    out: list[tuple[str, int]] = []
    total, drawn = 0, 0
    for key, size in parts:
        total += size
        end = round(total / scale * width)
        if end > drawn:
            out.append((key, end - drawn))
            drawn = end
    return out


def limit_cell(estimate: Estimate, width: int) -> int | None:
    """The cell where the free memory ends, when the high figure goes past it."""
    available = estimate.available_bytes
    high = estimate.required_high_bytes
    if available is None or high <= available:
        return None
    return min(width - 1, round(available / high * width))


def short_bytes(size: int) -> str:
    """'942M', '7.6G': the legend is read at a glance; the verdict has the exact sizes."""
    if size >= 1024**3:
        return f"{size / 1024**3:.1f}G"
    return f"{max(1, round(size / 1024**2))}M"


def verdict(estimate: Estimate) -> Content:
    fits = estimate.fits
    text = estimate.verdict()
    if fits is None:
        return Content.assemble(("? ", "bold"), text)
    if not fits:
        return Content.assemble(("✘ ", "bold $vram-over"), (text, "$vram-over"))
    available = estimate.available_bytes or 1
    if estimate.required_high_bytes > TIGHT * available:
        more = " Little room is left: other processes may take it."
        return Content.assemble(("✔ ", "bold $vram-warn"), (text + more, "$vram-warn"))
    return Content.assemble(("✔ ", "bold $vram-ok"), (text, "$vram-ok"))


class VramBar(Widget):
    DEFAULT_CSS = """
    VramBar {
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.estimate: Estimate | None = None
        self.waiting = "Estimating…"

    def show(self, estimate: Estimate | None, waiting: str = "Estimating…") -> None:
        """Draw `estimate`; None shows `waiting` (the model is being read, or a field is
        invalid) instead of a picture that would be wrong."""
        self.estimate = estimate
        self.waiting = waiting
        self.refresh(layout=True)

    def render(self) -> Content:
        return self.picture(self.content_size.width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # Layout asks for the height at the width about to be given: the picture's lines
        # depend on it, and the widget's current size may still be the old one.
        # Textual annotates RulesMap, yet passes a widget's styles here itself (Widget's own
        # get_content_height): the styles answer every rule with its default applied.
        return self.picture(width).get_height(self.styles, width)  # type: ignore[arg-type]

    def picture(self, width: int) -> Content:
        if self.estimate is None:
            return Content(self.waiting).stylize("$text-muted")
        width = max(10, width or 40)
        return Content("\n").join(
            [
                self._bar(self.estimate, width),
                self._ruler(self.estimate, width),
                verdict(self.estimate),
                *self._legend(self.estimate, width),
            ]
        )

    def _bar(self, estimate: Estimate, width: int) -> Content:
        device = estimate.target.device
        cells: list[tuple[str, str]] = []
        for key, count in segments(estimate, width):
            item = FREE if key == "free" else look(key, device)
            cells.extend([(item.glyph, item.style)] * count)
        limit = limit_cell(estimate, width)
        if limit is not None:  # where the free memory ends, drawn over the terms past it
            cells[limit] = ("┃", "bold $vram-over")
        return Content.assemble(*cells)

    def _ruler(self, estimate: Estimate, width: int) -> Content:
        if estimate.available_bytes is None:
            return Content("free memory unknown".rjust(width)).stylize("$text-muted")
        free = f"{format_bytes(estimate.available_bytes)} free"
        limit = limit_cell(estimate, width)
        if limit is None:
            label = f"{free} ┘"
            return Content(label.rjust(width)).stylize("$text-muted")
        high = estimate.required_high_bytes
        up_to = "up to " if high > estimate.required_bytes else ""
        over = f" needs {up_to}{format_bytes(high)} ┘"
        left = f"{free} ┘" if limit + 1 >= len(free) + 2 else ""
        head = left.rjust(limit + 1) if left else " " * limit + "└ " + free
        tail = over.rjust(max(0, width - len(head)))
        return Content.assemble((head, "$vram-over"), (tail, "$text-muted"))

    def _legend(self, estimate: Estimate, width: int) -> list[Content]:
        device = estimate.target.device
        entries = [
            (look(t.key, device), short_bytes(t.bytes)) for t in estimate.terms if t.bytes > 0
        ]
        band = estimate.required_high_bytes - estimate.required_bytes
        if band > 0:
            entries.append((LOOKS["band"], short_bytes(band)))
        headroom = estimate.headroom_bytes
        if headroom is not None and headroom > 0:
            entries.append((FREE, short_bytes(headroom)))
        lines: list[Content] = []
        line = Content("")
        for item, size in entries:
            entry = Content.assemble((item.glyph, item.style), f" {item.short} {size}")
            if line.cell_length and line.cell_length + 2 + entry.cell_length > width:
                lines.append(line)
                line = Content("")
            line = line + "  " + entry if line.cell_length else entry
        if line.cell_length:
            lines.append(line)
        return lines
