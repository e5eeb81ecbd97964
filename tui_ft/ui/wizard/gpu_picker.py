"""Which GPU the run trains on: every GPU with its free memory, its utilization and the other
processes holding memory on it (often another person's job), and whether the run fits there.
Without a GPU, the one choice is the CPU, with the RAM it has and a word about training time.

The list follows the app's hardware poll; the chosen GPU stays chosen across refreshes.
"""

from __future__ import annotations

from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui_ft.core.hardware.snapshot import GpuInfo, GpuProcess, HardwareSnapshot
from tui_ft.core.safe_text import safe
from tui_ft.core.units import format_bytes
from tui_ft.ui.shell.header import short_gpu_name

CPU_ID = "cpu"
CPU_WARNING = (
    "Training on the CPU works, but slowly: minutes for the demo, hours or more for "
    "models of a billion parameters."
)
MAX_PROCESSES = 2  # shown per GPU; the rest are counted


class GpuPicker(OptionList):
    DEFAULT_CSS = """
    GpuPicker {
        height: auto;
        max-height: 10;
        border: none;
        padding: 0;
    }
    GpuPicker:focus {
        border: none;
        background-tint: $foreground 5%;
    }
    """

    class Chosen(Message):
        """The person moved to another GPU (None: the CPU)."""

        def __init__(self, picker: GpuPicker, index: int | None) -> None:
            super().__init__()
            self.picker = picker
            self.index = index

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snapshot: HardwareSnapshot | None = None
        self.chosen: int | None = None
        self._shown: list[tuple[str | None, str]] = []

    def show(
        self,
        snapshot: HardwareSnapshot,
        chosen: int | None,
        fits: dict[int, bool | None] | None = None,
    ) -> None:
        """List the devices of `snapshot` with `chosen` highlighted; `fits` marks, per GPU
        index, whether the run fits in its free memory."""
        self.snapshot = snapshot
        self.chosen = chosen if snapshot.has_gpu else None
        fits = fits or {}
        if snapshot.has_gpu:
            options = [
                Option(gpu_prompt(gpu, fits.get(gpu.index)), id=str(gpu.index))
                for gpu in snapshot.gpus
            ]
        else:
            options = [Option(cpu_prompt(snapshot), id=CPU_ID)]
        # The poll repeats itself most of the time: rebuilding the same list only flickers.
        shown = [(o.id, str(o.prompt)) for o in options]
        if shown != self._shown:
            self._shown = shown
            self.set_options(options)
        if not snapshot.has_gpu:
            self.highlighted = 0
        elif chosen is not None:
            self.highlighted = self.get_option_index(str(chosen))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_id in (None, CPU_ID):
            return
        index = int(event.option_id)
        # Highlights set by `show` arrive here too, for the GPU already chosen: not a choice.
        if index != self.chosen:
            self.chosen = index
            self.post_message(self.Chosen(self, index))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()  # enter on a GPU chooses it as highlighting did; nothing more to do


def gpu_prompt(gpu: GpuInfo, fits: bool | None) -> Content:
    name = short_gpu_name(gpu.name, detailed=True)
    head = Content.assemble((f"GPU{gpu.index}", "bold"), safe(f" {name}"))
    if gpu.error:
        return Content.assemble(head, "\n", (safe(f"cannot be read: {gpu.error}"), "$text-error"))
    total = format_bytes(gpu.memory_total)
    free = f"free {format_bytes(gpu.memory_free).removesuffix(' GiB')} of {total}"
    util = "n/a" if gpu.utilization_pct is None else f"{gpu.utilization_pct}%"
    mark: Content | str = ""
    if fits is True:
        mark = Content.styled(" ✔ fits", "$vram-ok")
    elif fits is False:
        mark = Content.styled(" ✘ too full", "$vram-over")
    return Content.assemble(head, mark, f"\n{free} · busy {util}", "\n", others(gpu))


def others(gpu: GpuInfo) -> Content:
    """Who else holds memory there: the person deciding may be about to share a GPU."""
    if gpu.processes is None:
        return Content.styled("other processes: not listed by the driver", "$text-muted")
    if not gpu.processes:
        return Content.styled("no other processes", "$text-muted")
    shown = ", ".join(_process(p) for p in gpu.processes[:MAX_PROCESSES])
    more = len(gpu.processes) - MAX_PROCESSES
    if more > 0:
        shown += f" and {more} more"
    return Content.styled(safe(f"in use by {shown}"), "$text-warning")  # process names


def _process(process: GpuProcess) -> str:
    who = process.name or f"pid {process.pid}"
    if process.user:
        who += f" ({process.user})"
    if process.used_memory is not None:
        who += f" {format_bytes(process.used_memory)}"
    return who


def cpu_prompt(snapshot: HardwareSnapshot) -> Content:
    host = snapshot.host
    ram = "RAM n/a"
    if host.ram_available is not None:
        ram = f"RAM {format_bytes(host.ram_available)} free of {format_bytes(host.ram_total)}"
    cpus = f"{host.cpu_threads} CPUs · " if host.cpu_threads else ""
    why = snapshot.message[:1].upper() + snapshot.message[1:] + "."
    return Content.assemble(("CPU only", "bold"), f"\n{ram}\n", (cpus + why, "$text-muted"))
