"""The top of every screen: where you are, and what the GPUs are doing right now (memory in use
and utilization, refreshed by the app's hardware poller), or that training would use the CPU."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from tui_ft.core.hardware.snapshot import GpuInfo, HardwareSnapshot
from tui_ft.core.safe_text import safe
from tui_ft.core.units import format_bytes
from tui_ft.ui.shell.services import HardwareState, services

GIB = float(1 << 30)
DETAILED_UP_TO = 2  # more GPUs than this: short names, so that a node of 8 fits in a few lines
WARN_SHARE, OVER_SHARE = 0.7, 0.9  # memory in use: the colour that goes with the number


class AppHeader(Widget):
    def __init__(self, title: str) -> None:
        super().__init__(id="app-header")
        self.title = title

    def compose(self) -> ComposeResult:
        with Horizontal(id="header-top"):
            yield Static(Content.assemble(("tui-ft", "bold"), safe(f" › {self.title}")), id="where")
            yield Static("", id="hw-source")
        yield Static("GPU: reading…", id="gpus")

    def on_mount(self) -> None:
        app = services(self.app)
        app.hardware_signal.subscribe(self, self.show)
        self.show(app.hardware)

    def show(self, state: HardwareState) -> None:
        self.query_one("#gpus", Static).update(hardware_content(state.snapshot, state.error))
        fake = state.snapshot is not None and state.snapshot.source.startswith("fake")
        self.query_one("#hw-source", Static).update("fake GPU data" if fake else "")


def hardware_content(snapshot: HardwareSnapshot | None, error: str = "") -> Content:
    if error:
        return Content.assemble(("GPU: ", "bold"), safe(error))
    if snapshot is None:
        return Content("GPU: reading…")
    if not snapshot.has_gpu:
        return _cpu_only(snapshot)
    detailed = len(snapshot.gpus) <= DETAILED_UP_TO
    cells = [_gpu_cell(gpu, detailed) for gpu in snapshot.gpus]
    return Content(" │ ").join(cells)


def _cpu_only(snapshot: HardwareSnapshot) -> Content:
    if snapshot.state != "no-gpu":  # a driver problem: the reason matters more than the RAM
        return Content.assemble(("CPU only", "bold"), safe(f": {snapshot.message}"))
    host = snapshot.host
    parts = [f"{host.cpu_threads} CPUs"] if host.cpu_threads else []
    if host.ram_available is not None and host.ram_total is not None:
        parts.append(
            f"RAM {format_bytes(host.ram_available)} free of {format_bytes(host.ram_total)}"
        )
    return Content.assemble(("CPU only", "bold"), " · " if parts else "", " · ".join(parts))


def _gpu_cell(gpu: GpuInfo, detailed: bool) -> Content:
    name = short_gpu_name(gpu.name, detailed)
    util = "n/a" if gpu.utilization_pct is None else f"{gpu.utilization_pct}%"
    return Content.assemble(
        (f"GPU{gpu.index}", "bold"), safe(f" {name} "), _memory(gpu), f" {util}"
    )


def _memory(gpu: GpuInfo) -> Content | str:
    if gpu.memory_used is None or not gpu.memory_total:
        return "n/a"
    share = gpu.memory_used / gpu.memory_total
    style = "$vram-over" if share >= OVER_SHARE else "$vram-warn" if share >= WARN_SHARE else ""
    text = f"{gpu.memory_used / GIB:.1f}/{gpu.memory_total / GIB:.1f} GiB"
    return Content.styled(text, style) if style else text


def short_gpu_name(name: str | None, detailed: bool) -> str:
    """'NVIDIA H100 80GB HBM3' -> 'H100 80GB HBM3', or 'H100' when space is short."""
    if not name:
        return "GPU"
    words = name.removeprefix("NVIDIA ").removeprefix("GeForce ").split()
    return " ".join(words) if detailed else (words[0] if words else name)
