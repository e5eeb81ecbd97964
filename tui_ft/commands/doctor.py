"""`tui-ft doctor`: what this machine offers a run, for a person or (`--json`) a bug report.

Library versions come from package metadata: importing torch to ask its version would take
seconds, and the probe must stay as light as the UI process that shares it.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from tui_ft import __version__
from tui_ft.core.hardware.probe import probe
from tui_ft.core.hardware.snapshot import (
    FAKE_GPU_ENV,
    NA,
    GpuInfo,
    HardwareSnapshot,
    HostInfo,
)
from tui_ft.core.paths import runs_home
from tui_ft.core.safe_text import safe_text
from tui_ft.core.units import format_bytes
from tui_ft.core.versions import library_versions

NOT_INSTALLED = "not installed"
GIB = 1024**3


@dataclass(frozen=True)
class Disk:
    path: str  # the runs home, or its nearest existing parent while it does not exist yet
    free: int  # bytes
    total: int


@dataclass(frozen=True)
class Report:
    tui_ft: str
    hardware: HardwareSnapshot
    runs_home: str
    runs_home_exists: bool
    disk: Disk | None
    python: str
    platform: str
    libraries: dict[str, str | None]  # None: not installed
    warnings: tuple[str, ...]


def run(args: argparse.Namespace) -> int:
    report = gather()
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        Console().print(render(report))
    return 0


def gather() -> Report:
    hardware = probe()
    home = runs_home().absolute()
    libraries = library_versions()
    return Report(
        tui_ft=__version__,
        hardware=hardware,
        runs_home=str(home),
        runs_home_exists=home.is_dir(),
        disk=disk_under(home),
        python=f"{platform.python_version()} ({platform.python_implementation()})",
        platform=f"{platform.system()} {platform.release()} {platform.machine()}",
        libraries=libraries,
        warnings=tuple(warnings_for(hardware, libraries)),
    )


def disk_under(path: Path) -> Disk | None:
    """Free space where runs will be written; None where no part of the path can be read."""
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None:
        return None
    try:
        usage = shutil.disk_usage(existing)
    except OSError:
        return None
    return Disk(str(existing), usage.free, usage.total)


def warnings_for(hardware: HardwareSnapshot, libraries: dict[str, str | None]) -> Iterator[str]:
    torch = libraries.get("torch")
    if torch is None:
        yield "torch is not installed: training and the A/B chat need it."
    elif "+cpu" in torch and hardware.has_gpu:
        yield (
            f"torch {torch} is a CPU-only build: training will not use the GPU. "
            "Install a CUDA build of torch."
        )


# --- rendering ------------------------------------------------------------------------------


def render(report: Report) -> RenderableType:
    hardware = report.hardware
    parts: list[RenderableType] = [_gpu_heading(hardware)]
    if hardware.gpus:
        parts += ["", _gpu_table(hardware.gpus)]
        if any(gpu.processes for gpu in hardware.gpus):
            parts += ["", _process_table(hardware.gpus)]
    notes = [_indented(safe_text(line, style="dim"), 2) for line in _gpu_notes(hardware)]
    parts += ["", *notes] if notes else []
    parts += ["", _heading("System"), _system_table(report)]
    parts += ["", _heading("Libraries"), _library_table(report.libraries)]
    if report.warnings:
        parts += [""] + [Text(f"! {warning}", style="bold yellow") for warning in report.warnings]
    return Group(*parts)


def _heading(title: str) -> Text:
    return Text(title, style="bold")


def _gpu_heading(hardware: HardwareSnapshot) -> RenderableType:
    heading = Text.assemble(("GPUs", "bold"), "  ", safe_text(hardware.message))
    if hardware.driver_version:
        heading.append(f" · driver {hardware.driver_version}")
    if hardware.cuda_driver_version:
        heading.append(f" · CUDA {hardware.cuda_driver_version}")
    if not hardware.hint:
        return heading
    return Group(heading, _indented(safe_text(hardware.hint, style="dim"), 6))


def _indented(text: Text, columns: int) -> Padding:
    # Padding rather than leading spaces, so a wrapped line keeps the indent.
    return Padding(text, (0, 0, 0, columns))


def _gpu_table(gpus: tuple[GpuInfo, ...]) -> Table:
    table = _table()
    for header in ("#", "name", "used / total", "free", "util", "temp", "power", "cc", "procs"):
        table.add_column(header, justify="left" if header == "name" else "right")
    for gpu in gpus:
        table.add_row(
            str(gpu.index),
            safe_text(gpu.name or NA),
            _used_of_total(gpu),
            format_bytes(gpu.memory_free),
            _unit(gpu.utilization_pct, "%"),
            _unit(gpu.temperature_c, "°C"),
            _power(gpu),
            ".".join(map(str, gpu.compute_capability)) if gpu.compute_capability else NA,
            NA if gpu.processes is None else str(len(gpu.processes)),
        )
    return table


def _process_table(gpus: tuple[GpuInfo, ...]) -> Table:
    table = _table(title="Processes holding GPU memory")
    for header in ("GPU", "pid", "user", "process", "memory"):
        table.add_column(header, justify="left" if header in ("user", "process") else "right")
    for gpu in gpus:
        for process in gpu.processes or ():
            table.add_row(
                str(gpu.index),
                str(process.pid),
                safe_text(process.user or NA),  # any process may name itself anything
                safe_text(process.name or NA),
                format_bytes(process.used_memory),
            )
    return table


def _gpu_notes(hardware: HardwareSnapshot) -> Iterator[str]:
    if hardware.source != "nvml":
        yield f"GPU facts are {hardware.source}, set by ${FAKE_GPU_ENV}: not this machine's."
    if hardware.cuda_visible_devices is not None and hardware.gpus:
        smi = ", ".join(str(gpu.nvml_index) for gpu in hardware.gpus)
        yield (
            f"CUDA_VISIBLE_DEVICES={hardware.cuda_visible_devices}: numbered as torch sees them "
            f"(nvidia-smi numbers: {smi})."
        )
    for gpu in hardware.gpus:
        if gpu.mig is not None:
            yield (
                f"GPU {gpu.index} is MIG instance {gpu.mig.gpu_instance_id}/"
                f"{gpu.mig.compute_instance_id} of GPU {gpu.mig.parent_index}."
            )
        if gpu.is_unified_memory:
            yield f"GPU {gpu.index} has no memory of its own: its numbers are the system RAM it shares."
        if gpu.error:
            yield f"GPU {gpu.index}: {gpu.error}."


def _system_table(report: Report) -> Table:
    table = _grid()
    host = report.hardware.host
    home = report.runs_home + ("" if report.runs_home_exists else " (not created yet)")
    table.add_row("CPU", _cpu(host))
    table.add_row(
        "RAM", f"{format_bytes(host.ram_available)} available of {format_bytes(host.ram_total)}"
    )
    table.add_row("Runs home", safe_text(home))
    table.add_row("Disk free", safe_text(_disk(report.disk)))
    table.add_row("Python", report.python)
    table.add_row("Platform", safe_text(report.platform))
    table.add_row("tui-ft", report.tui_ft)
    return table


def _library_table(libraries: dict[str, str | None]) -> Table:
    table = _grid()
    for name, version in libraries.items():
        table.add_row(name, version or NOT_INSTALLED)
    return table


def _table(title: str | None = None) -> Table:
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        show_edge=False,
    )


def _grid() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", min_width=16)
    table.add_column(overflow="fold")  # long paths fold rather than lose their ends
    return table


def _cpu(host: HostInfo) -> str:
    cores = f"{host.cpu_cores if host.cpu_cores is not None else NA} cores"
    threads = f"{host.cpu_threads if host.cpu_threads is not None else NA} usable threads"
    return f"{host.cpu_name or NA} ({cores}, {threads})"


def _disk(disk: Disk | None) -> str:
    if disk is None:
        return NA
    return f"{format_bytes(disk.free)} of {format_bytes(disk.total)} (on {disk.path})"


def _used_of_total(gpu: GpuInfo) -> str:
    # One unit for both numbers keeps the column narrow, as nvidia-smi does.
    if gpu.memory_used is None or gpu.memory_total is None:
        return f"{format_bytes(gpu.memory_used)} / {format_bytes(gpu.memory_total)}"
    return f"{gpu.memory_used / GIB:.1f} / {gpu.memory_total / GIB:.1f} GiB"


def _unit(value: Any, unit: str) -> str:
    return NA if value is None else f"{value}{unit}"


def _power(gpu: GpuInfo) -> str:
    if gpu.power_w is None and gpu.power_limit_w is None:
        return NA
    draw = NA if gpu.power_w is None else f"{gpu.power_w:.0f}"
    limit = NA if gpu.power_limit_w is None else f"{gpu.power_limit_w:.0f}"
    return f"{draw} / {limit} W"
