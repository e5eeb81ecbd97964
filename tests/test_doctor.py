"""`tui-ft doctor`: a clean report without a GPU, the GPU table on the fake backend, --json.

The command runs as a subprocess, as a person would run it, at a fixed terminal width. Set
TUI_FT_UPDATE_SNAPSHOTS=1 to rewrite the text snapshot after an intended change.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from tests.fake_nvml import nvml_starts
from tui_ft.commands import doctor
from tui_ft.core import versions
from tui_ft.core.hardware.snapshot import (
    FAKE_GPU_ENV,
    GpuInfo,
    GpuProcess,
    HardwareSnapshot,
    HostInfo,
    MigInfo,
)

TESTS = Path(__file__).parent
FIXTURE = TESTS / "fixtures" / "fake_gpu_2xh100.json"
SNAPSHOT = TESTS / "snapshots" / "doctor_fake_gpu.txt"
WIDTH = 100
HEAVY = ("torch", "transformers", "peft", "trl", "bitsandbytes", "datasets", "accelerate")
GIB = 1024**3


def run_doctor(*args: str, fake: Path | None = None, importtime: bool = False, **env_vars: str):
    env = {**os.environ, "COLUMNS": str(WIDTH), "PYTHONIOENCODING": "utf-8", **env_vars}
    env.pop(FAKE_GPU_ENV, None)
    env.pop("NO_COLOR", None)
    if fake is not None:
        env[FAKE_GPU_ENV] = str(fake)
    flags = ["-X", "importtime"] if importtime else []
    command = [sys.executable, *flags, "-m", "tui_ft.cli", "doctor", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def imported_roots(importtime_log: str) -> set[str]:
    """Top-level packages named in a `python -X importtime` log."""
    names = re.findall(r"^import time:.*\|\s*(\S+)\s*$", importtime_log, flags=re.MULTILINE)
    return {name.strip().split(".")[0] for name in names}


# --- no GPU (this machine) ------------------------------------------------------------------


def test_doctor_without_a_gpu_is_a_clean_report_that_imports_no_ml_library():
    result = run_doctor(importtime=True)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    if not nvml_starts():
        assert "no NVIDIA GPU found: training will run on the CPU" in out
    for section in ("GPUs", "System", "Libraries", "CPU", "RAM", "Disk free", "Python", "torch"):
        assert section in out
    assert "Traceback" not in out + result.stderr
    roots = imported_roots(result.stderr)
    assert "rich" in roots  # the log was read: the probe sees what was imported
    assert not roots & {*HEAVY, "textual"}


def test_doctor_json_without_a_gpu():
    result = run_doctor("--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= {"hardware", "runs_home", "disk", "python", "libraries", "warnings"}
    if not nvml_starts():
        assert report["hardware"]["state"] in ("no-gpu", "no-driver")
        assert report["hardware"]["gpus"] == []
    assert report["hardware"]["host"]["ram_total"] > 0


# --- fake GPUs ------------------------------------------------------------------------------


def test_doctor_on_the_fake_backend_prints_the_gpu_table():
    result = run_doctor(fake=FIXTURE)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2 NVIDIA GPUs found · driver 550.54.15 · CUDA 12.4" in out
    rows = [" ".join(line.split()) for line in out.splitlines() if "H100" in line]
    assert rows == [
        "0 NVIDIA H100 80GB HBM3 0.5 / 79.6 GiB 79.1 GiB 0% 31°C 72 / 700 W 9.0 0",
        "1 NVIDIA H100 80GB HBM3 40.5 / 79.6 GiB 39.1 GiB 97% 64°C 512 / 700 W 9.0 1",
    ]
    process = next(" ".join(line.split()) for line in out.splitlines() if "48213" in line)
    assert process == "1 48213 alice python3 40.0 GiB"
    assert "fake (fake_gpu_2xh100.json)" in out


def test_doctor_on_the_fake_backend_matches_its_snapshot():
    # A fixed runs home that does not exist: the same line on every machine.
    result = run_doctor(fake=FIXTURE, TUI_FT_HOME="/nonexistent/tui-ft-runs")
    assert result.returncode == 0, result.stderr
    text = masked(result.stdout)
    if os.environ.get("TUI_FT_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8")


def masked(output: str) -> str:
    """The report without what changes between machines: disk, Python, library versions, and
    the warnings that follow from those versions (they come last)."""
    volatile = {"Disk free", "Python", "Platform", "tui-ft", *versions.LIBRARIES}
    lines = []
    for line in output.splitlines():
        if line.startswith("! "):
            break
        label = line.split("  ")[0]
        lines.append(f"{label:<18}<masked>" if label in volatile else line.rstrip())
    return "\n".join(lines).rstrip() + "\n"


def test_doctor_json_on_the_fake_backend_has_every_field():
    result = run_doctor("--json", fake=FIXTURE)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    hardware = report["hardware"]
    assert (hardware["state"], hardware["driver_version"]) == ("ok", "550.54.15")
    assert hardware["source"] == "fake (fake_gpu_2xh100.json)"
    first, second = hardware["gpus"]
    for key in ("index", "uuid", "name", "memory_total", "memory_free", "memory_used"):
        assert first[key] is not None
    assert second["compute_capability"] == [9, 0]
    assert second["processes"] == [
        {"pid": 48213, "used_memory": 40 * GIB, "name": "python3", "user": "alice"}
    ]
    assert set(report["libraries"]) == set(versions.LIBRARIES)
    assert report["disk"]["free"] > 0


# --- rendering details, in process ----------------------------------------------------------


HOST = HostInfo("CPU", 4, 8, 16 * GIB, 8 * GIB)


def rendered(snapshot: HardwareSnapshot, **libraries: str | None) -> str:
    report = doctor.Report(
        tui_ft="0.0",
        hardware=snapshot,
        runs_home="/runs",
        runs_home_exists=False,
        disk=None,
        python="3.11",
        platform="Linux",
        libraries={"torch": "2.13.0", **libraries},
        warnings=tuple(doctor.warnings_for(snapshot, {"torch": "2.13.0", **libraries})),
    )
    console = Console(file=io.StringIO(), width=WIDTH, color_system=None)
    console.print(doctor.render(report))
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_unreadable_fields_print_as_na():
    gpu = GpuInfo(index=0, name="Old GPU", memory_total=8 * GIB, processes=None)
    out = rendered(HardwareSnapshot("ok", "1 NVIDIA GPU found", HOST, (gpu,)))
    row = next(" ".join(line.split()) for line in out.splitlines() if "Old GPU" in line)
    assert row == "0 Old GPU n/a / 8.0 GiB n/a n/a n/a n/a n/a n/a"
    assert "Disk free         n/a" in out


def test_mig_unified_memory_and_lost_gpus_get_a_note():
    gpus = (
        GpuInfo(index=0, nvml_index=3, name="A100 MIG 3g.20gb", mig=MigInfo(3, "GPU-x", 2, 0)),
        GpuInfo(index=1, nvml_index=1, name="NVIDIA GB10", is_unified_memory=True),
        GpuInfo(index=2, nvml_index=0, processes=None, error="NVML cannot open it (GPU is lost)"),
    )
    snapshot = HardwareSnapshot(
        "ok", "3 NVIDIA GPUs found", HOST, gpus, cuda_visible_devices="3,1,0"
    )
    out = " ".join(rendered(snapshot).split())
    assert "GPU 0 is MIG instance 2/0 of GPU 3." in out
    assert "GPU 1 has no memory of its own: its numbers are the system RAM it shares." in out
    assert "GPU 2: NVML cannot open it (GPU is lost)." in out
    assert (
        "CUDA_VISIBLE_DEVICES=3,1,0: numbered as torch sees them (nvidia-smi numbers: 3, 1, 0)"
        in out
    )


def test_a_cpu_build_of_torch_next_to_a_gpu_is_a_warning():
    snapshot = HardwareSnapshot("ok", "1 NVIDIA GPU found", HOST, (GpuInfo(index=0),))
    out = " ".join(rendered(snapshot, torch="2.13.0+cpu").split())
    assert "! torch 2.13.0+cpu is a CPU-only build: training will not use the GPU." in out
    no_gpu = HardwareSnapshot("no-gpu", "no NVIDIA GPU found", HOST)
    assert "!" not in rendered(no_gpu, torch="2.13.0+cpu")


def test_missing_libraries_say_not_installed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(versions, "LIBRARIES", ("torch", "surely-not-a-real-package-xyz"))
    monkeypatch.setenv(FAKE_GPU_ENV, str(FIXTURE))
    report = doctor.gather()
    assert report.libraries["surely-not-a-real-package-xyz"] is None
    console = Console(file=io.StringIO(), width=WIDTH, color_system=None)
    console.print(doctor.render(report))
    assert re.search(r"surely-not-a-real-package-xyz\s+not installed", console.file.getvalue())  # type: ignore[attr-defined]


def test_disk_is_measured_at_the_nearest_existing_parent(tmp_path: Path):
    disk = doctor.disk_under(tmp_path / "not" / "yet" / "runs")
    assert disk is not None
    assert (disk.path, disk.free > 0, disk.total >= disk.free) == (str(tmp_path), True, True)


def test_process_without_memory_figure_prints_na():
    process = GpuProcess(pid=5, used_memory=None, name=None, user=None)
    gpu = GpuInfo(index=0, name="G", processes=(process,))
    out = rendered(HardwareSnapshot("ok", "1 NVIDIA GPU found", HOST, (gpu,)))
    row = next(" ".join(line.split()) for line in out.splitlines() if " 5 " in line)
    assert row == "0 5 n/a n/a n/a"
