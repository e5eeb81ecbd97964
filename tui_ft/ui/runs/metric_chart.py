"""One live chart. Ours wraps textual-plotext so that the plotting backend can change without
touching the screens; it redraws at most MAX_HZ times a second however fast data arrives, and
takes its line colours from the theme's variables ($loss, $eval-loss ...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual.app import ComposeResult
from textual.color import Color
from textual.widget import Widget
from textual.widgets import Static
from textual_plotext import PlotextPlot

from tui_ft.core.objectives.spec import ChartLine
from tui_ft.core.runs.series import thin

MAX_HZ = 4
POINTS_PER_CELL = 2  # braille draws two dots per cell across


XY = tuple[Sequence[float], Sequence[float]]


class MetricChart(Widget):
    def __init__(
        self, title: str, lines: Sequence[ChartLine], *, empty: str = "", id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.title = title
        self.lines = tuple(lines)
        self.empty = empty or f"{title}: waiting for the first log"
        self.data: dict[str, XY] = {}
        self._dirty = False
        self._drawn_once = False

    def compose(self) -> ComposeResult:
        yield Static(self.empty, classes="chart-empty")
        yield PlotextPlot()

    def on_mount(self) -> None:
        self.query_one(PlotextPlot).display = False
        self.set_interval(1 / MAX_HZ, self._flush)
        self.app.theme_changed_signal.subscribe(self, lambda _: self._mark_dirty())

    def set_data(self, data: Mapping[str, XY], title: str | None = None) -> None:
        self.data.update(data)
        if title is not None:
            self.title = title
        self._mark_dirty()
        if not self._drawn_once:
            self._flush()  # the first picture at once; later ones at the throttled pace

    def _mark_dirty(self) -> None:
        self._dirty = True

    def _flush(self) -> None:
        # A hidden chart keeps its news until it is shown: no drawing nobody sees.
        if not self._dirty or not self.is_mounted or self.size.area == 0:
            return
        self._dirty = False
        self._drawn_once = True
        has_points = any(len(self.data.get(line.series, ((), ()))[0]) for line in self.lines)
        self.query_one(".chart-empty").display = not has_points
        plot = self.query_one(PlotextPlot)
        plot.display = has_points
        if has_points:
            self._draw(plot)

    def _draw(self, plot: PlotextPlot) -> None:
        plt = plot.plt
        plt.clear_data()
        limit = max(10, self.size.width * POINTS_PER_CELL)
        for line in self.lines:
            xs, ys = self.data.get(line.series, ((), ()))
            if len(xs):
                self._draw_line(plot, line, *thin(xs, ys, limit))
        plt.title(self.title)
        # plotext annotates ticks as list[float]; whole steps are floats to it too.
        plt.xticks([*step_ticks(self.data, self.lines)])
        plot.refresh()

    def _draw_line(
        self, plot: PlotextPlot, line: ChartLine, xs: list[float], ys: list[float]
    ) -> None:
        color = self._rgb(line.color)
        if line.points:
            plot.plt.scatter(xs, ys, label=line.label, color=color, marker=line.points)
        else:
            plot.plt.plot(xs, ys, label=line.label, color=color, marker="braille")

    def _rgb(self, variable: str) -> tuple[int, int, int] | str:
        value = self.app.theme_variables.get(variable)
        return Color.parse(value).rgb if value else "default"


def step_ticks(data: Mapping[str, XY], lines: Sequence[ChartLine], count: int = 5) -> list[int]:
    """Whole steps on the x axis: plotext would label them 30.8, 60.5 ..."""
    steps = [x for line in lines for x in data.get(line.series, ((), ()))[0]]
    low, high = int(min(steps)), int(max(steps))
    if high - low < count:
        return list(range(low, high + 1))
    return sorted({round(low + (high - low) * i / (count - 1)) for i in range(count)})
