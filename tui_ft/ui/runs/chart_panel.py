"""The monitor's charts: the objective's (for supervised runs loss with eval loss), then learning
rate, grad norm, tokens/s, memory and GPU utilization (core/runs/charts.py). Narrow terminals
show one chart at a time (number keys pick it); wide ones show all."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Grid
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from tui_ft.core.objectives.spec import Chart, ChartLine
from tui_ft.core.runs.series import RunSeries
from tui_ft.ui.runs.metric_chart import MetricChart

WIDE_WIDTH = 120  # from this many columns (and WIDE_HEIGHT rows of panel) all charts show
WIDE_HEIGHT = 20


class ChartPanel(Widget):
    def __init__(self, charts: Sequence[Chart], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.charts = tuple(charts)
        self.selected = self.charts[0].name

    def compose(self) -> ComposeResult:
        yield Static(id="chart-tabs")
        with Grid(id="chart-grid"):
            for spec in self.charts:
                yield MetricChart(spec.tab, spec.lines, empty=spec.empty, id=f"chart-{spec.name}")

    def on_mount(self) -> None:
        self.select(self.selected)

    def on_resize(self) -> None:
        wide = self.size.width >= WIDE_WIDTH and self.size.height >= WIDE_HEIGHT
        self.set_class(wide, "-wide")

    def select(self, name: str) -> None:
        self.selected = name
        for spec in self.charts:
            self.query_one(f"#chart-{spec.name}").set_class(spec.name == name, "-selected")
        self.query_one("#chart-tabs", Static).update(tabs_content(self.charts, name))

    def show_series(self, series: RunSeries, changed: set[str]) -> None:
        for spec in self.charts:
            if changed & {line.series for line in spec.lines}:
                data = {line.series: series.xy(line.series) for line in spec.lines}
                chart = self.query_one(f"#chart-{spec.name}", MetricChart)
                chart.set_data(data, title=chart_title(spec, series))


def tabs_content(charts: Sequence[Chart], selected: str) -> Content:
    tabs = []
    for number, spec in enumerate(charts, start=1):
        text = f" {number} {spec.tab} "
        # Brackets as well as reverse video: the choice reads without colour.
        tabs.append(Content.styled(f"[{text}]", "reverse bold") if spec.name == selected else text)
    return Content("").join(tabs)


def chart_title(spec: Chart, series: RunSeries) -> str:
    """The chart's name with the latest value of each line: the number matters as much."""
    parts = []
    for line in spec.lines:
        points = series.points[line.series]
        if points:
            parts.append(f"{_label(line, series)} {_number(points[-1][1])}")
    return " · ".join(parts) or spec.tab


def _label(line: ChartLine, series: RunSeries) -> str:
    if line.series != "memory":
        return line.label
    return "GPU memory GiB" if series.memory_key == "gpu_mem" else "process RSS GiB"


def _number(value: float) -> str:
    if value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e5):
        return f"{value:.2e}"
    return f"{value:.4g}"
