"""The hardware probe: NVML states, n/a fields, CUDA_VISIBLE_DEVICES, MIG, unified memory, JSON.

A fake `pynvml` module (patched into sys.modules) stands in for the driver, so every path runs
on a machine without a GPU; one test checks the real library on this machine too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.fake_nvml import (
    DRIVER_NOT_LOADED,
    GIB,
    LIB_RM_VERSION_MISMATCH,
    LIBRARY_NOT_FOUND,
    NO_PERMISSION,
    NOT_SUPPORTED,
    UNKNOWN,
    Fails,
    FakeGpu,
    FakeNvml,
    nvml_starts,
)
from tui_ft.core.errors import UserError
from tui_ft.core.hardware.nvml import NvmlBackend
from tui_ft.core.hardware.probe import default_backend, probe
from tui_ft.core.hardware.snapshot import (
    FAKE_GPU_ENV,
    NO_GPU_MESSAGE,
    FakeBackend,
    GpuInfo,
    GpuProcess,
    HardwareSnapshot,
    HostInfo,
    MigInfo,
    snapshot_from_json,
    snapshot_to_json,
)
from tui_ft.core.units import format_bytes

FIXTURE = Path(__file__).parent / "fixtures" / "fake_gpu_2xh100.json"


def three_gpus() -> list[FakeGpu]:
    return [
        FakeGpu("GPU-aaaa1111-0000-0000-0000-000000000000"),
        FakeGpu("GPU-bbbb2222-0000-0000-0000-000000000000", utilization=10),
        FakeGpu("GPU-bbbb3333-0000-0000-0000-000000000000", utilization=20),
    ]


@pytest.fixture
def use_fake_nvml(monkeypatch: pytest.MonkeyPatch):
    """Install a FakeNvml as `pynvml`; CUDA_VISIBLE_DEVICES starts unset."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv(FAKE_GPU_ENV, raising=False)

    def install(gpus: list[FakeGpu], init_error: int | None = None) -> FakeNvml:
        nvml = FakeNvml(gpus, init_error)
        monkeypatch.setitem(sys.modules, "pynvml", nvml)
        return nvml

    return install


def snap() -> HardwareSnapshot:
    with NvmlBackend() as backend:
        return backend.snapshot()


# --- the real library on this machine -------------------------------------------------------


def test_real_nvml_without_a_driver_is_the_clean_no_gpu_state(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(FAKE_GPU_ENV, raising=False)
    if nvml_starts():
        pytest.skip("this machine has a working NVIDIA driver")
    snapshot = probe()
    assert snapshot.state in ("no-gpu", "no-driver")
    assert snapshot.message.endswith("training will run on the CPU")
    assert snapshot.gpus == ()
    assert not snapshot.has_gpu
    assert snapshot.hint  # says what to do if there is a GPU after all
    assert snapshot.host.ram_total and snapshot.host.ram_total > 0


def test_real_nvml_with_a_driver_lists_its_gpus(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(FAKE_GPU_ENV, raising=False)
    if not nvml_starts():
        pytest.skip("no NVIDIA driver here")
    snapshot = probe()
    assert snapshot.state in ("ok", "no-gpu")
    assert all(gpu.name for gpu in snapshot.gpus)


# --- NVML's failures become states ----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "state", "words"),
    [
        (LIBRARY_NOT_FOUND, "no-gpu", NO_GPU_MESSAGE),
        (DRIVER_NOT_LOADED, "no-driver", "driver is not running"),
        (LIB_RM_VERSION_MISMATCH, "nvml-error", "driver was updated"),
        (NO_PERMISSION, "nvml-error", "no permission"),
        (UNKNOWN, "nvml-error", "did not answer"),
    ],
)
def test_init_failures_become_plain_states(use_fake_nvml, code: int, state: str, words: str):
    nvml = use_fake_nvml(three_gpus(), init_error=code)
    snapshot = snap()
    assert (snapshot.state, snapshot.gpus) == (state, ())
    assert words in snapshot.message
    assert snapshot.hint
    assert nvml.calls["shutdown"] == 0  # nothing was started, so nothing is shut down


def test_a_failed_start_is_not_retried_every_poll(use_fake_nvml):
    nvml = use_fake_nvml([], init_error=DRIVER_NOT_LOADED)
    backend = NvmlBackend()
    assert backend.snapshot().state == backend.snapshot().state == "no-driver"
    assert nvml.calls["init"] == 1


def test_missing_pynvml_package_is_a_sentence(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` fail
    snapshot = snap()
    assert snapshot.state == "nvml-error"
    assert "nvidia-ml-py" in snapshot.message


def test_driver_with_no_gpu_says_no_gpu(use_fake_nvml):
    use_fake_nvml([])
    snapshot = snap()
    assert (snapshot.state, snapshot.message) == ("no-gpu", NO_GPU_MESSAGE)
    assert snapshot.driver_version == "550.54.15"


# --- fields ---------------------------------------------------------------------------------


def test_a_healthy_gpu_reads_fully(use_fake_nvml):
    use_fake_nvml([FakeGpu("GPU-aaaa", processes=[(4242, 3 * GIB)])])
    snapshot = snap()
    assert snapshot.state == "ok"
    assert snapshot.message == "1 NVIDIA GPU found"
    assert (snapshot.driver_version, snapshot.cuda_driver_version) == ("550.54.15", "12.4")
    gpu = snapshot.gpus[0]
    assert gpu == GpuInfo(
        index=0,
        nvml_index=0,
        uuid="GPU-aaaa",
        name="NVIDIA H100 80GB HBM3",
        memory_total=80 * GIB,
        memory_free=70 * GIB,
        memory_used=10 * GIB,
        utilization_pct=50,
        temperature_c=40,
        power_w=300.0,
        power_limit_w=700.0,
        compute_capability=(9, 0),
        processes=gpu.processes,
    )
    assert [(p.pid, p.used_memory) for p in gpu.processes or ()] == [(4242, 3 * GIB)]


def test_not_supported_fields_are_none_never_a_crash(use_fake_nvml):
    use_fake_nvml(
        [
            FakeGpu(
                "GPU-aaaa",
                utilization=NOT_SUPPORTED,
                temperature=NOT_SUPPORTED,
                power_mw=NOT_SUPPORTED,
                power_limit_mw=NOT_SUPPORTED,
                capability=NOT_SUPPORTED,
                processes=NOT_SUPPORTED,
                graphics=NOT_SUPPORTED,
            )
        ]
    )
    gpu = snap().gpus[0]
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.memory_total == 80 * GIB
    unread = (gpu.utilization_pct, gpu.temperature_c, gpu.power_w, gpu.power_limit_w)
    assert unread == (None, None, None, None)
    assert gpu.compute_capability is None
    assert gpu.processes is None  # unknown, not "none"


def test_memory_the_driver_will_not_show_is_unknown_not_unified(use_fake_nvml):
    use_fake_nvml([FakeGpu("GPU-aaaa", memory=Fails(NO_PERMISSION))])
    gpu = snap().gpus[0]
    assert (gpu.memory_total, gpu.memory_free, gpu.is_unified_memory) == (None, None, False)


def test_memory_v1_answers_when_the_driver_lacks_v2(use_fake_nvml):
    nvml = use_fake_nvml([FakeGpu("GPU-aaaa")])
    nvml.memory_v2 = False
    assert snap().gpus[0].memory_free == 70 * GIB
    assert nvml.calls["memory_v1"] == 1


@pytest.mark.parametrize("memory", [NOT_SUPPORTED, (0, 0, 0)])
def test_unified_memory_falls_back_to_system_ram(use_fake_nvml, memory: Any):
    use_fake_nvml([FakeGpu("GPU-gb10", name="NVIDIA GB10", memory=memory, capability=(12, 1))])
    snapshot = snap()
    gpu = snapshot.gpus[0]
    assert gpu.is_unified_memory
    assert gpu.memory_total == snapshot.host.ram_total
    assert gpu.memory_free == snapshot.host.ram_available
    assert gpu.memory_used == snapshot.host.ram_total - snapshot.host.ram_available  # type: ignore[operator]


def test_static_facts_are_read_once_across_polls(use_fake_nvml):
    nvml = use_fake_nvml(three_gpus())
    with NvmlBackend() as backend:
        first, second = backend.snapshot(), backend.snapshot()
    assert [g.name for g in first.gpus] == [g.name for g in second.gpus]
    assert nvml.calls["init"] == 1
    assert nvml.calls["name"] == 3  # once per GPU, not once per poll
    assert nvml.calls["utilization"] == 6  # live counters are read every poll
    assert nvml.calls["shutdown"] == 1


def test_one_shot_probe_shuts_nvml_down(use_fake_nvml):
    nvml = use_fake_nvml(three_gpus())
    assert probe().state == "ok"
    assert nvml.calls["shutdown"] == 1


# --- processes ------------------------------------------------------------------------------


def test_processes_are_merged_and_named(use_fake_nvml):
    me = os.getpid()
    local = psutil.Process(me)
    stranger = 2**22 + 17  # above Linux's pid_max: no such process here
    nvml = use_fake_nvml(
        [FakeGpu("GPU-aaaa", processes=[(me, 2 * GIB), (stranger, 5 * GIB)], graphics=[(me, GIB)])]
    )
    nvml.process_names = {me: f"/usr/bin/{local.name()}", stranger: "/opt/train.bin"}
    processes = snap().gpus[0].processes
    assert processes == (
        GpuProcess(me, 2 * GIB, local.name(), local.username()),
        GpuProcess(stranger, 5 * GIB, "train.bin", None),
    )


def test_a_host_pid_that_names_another_local_program_hides_its_user(use_fake_nvml):
    me = os.getpid()
    nvml = use_fake_nvml([FakeGpu("GPU-aaaa", processes=[(me, None)])])
    nvml.process_names = {me: "/usr/bin/someone-elses-trainer"}
    (process,) = snap().gpus[0].processes or ()
    assert (process.name, process.user, process.used_memory) == (
        "someone-elses-trainer",
        None,
        None,
    )


# --- CUDA_VISIBLE_DEVICES -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("visible", "nvml_indices"),
    [
        ("2,0", [2, 0]),
        ("1", [1]),
        (" 1 , 2 ", [1, 2]),
        ("", []),  # empty: no GPU at all
        ("1,7,0", [1]),  # CUDA stops at the first unknown entry
        ("0,0,1", [0]),  # and at a repeat
        ("-1", []),
        ("GPU-aaaa1111-0000-0000-0000-000000000000", [0]),
        ("GPU-bbbb3333,GPU-aaaa", [2, 0]),  # unambiguous UUID prefixes
        ("GPU-bbbb", []),  # ambiguous prefix
        ("2,GPU-bbbb2222", [2, 1]),
        ("GPU-ffff", []),
    ],
)
def test_cuda_visible_devices_filters_and_orders(
    use_fake_nvml, monkeypatch: pytest.MonkeyPatch, visible: str, nvml_indices: list[int]
):
    use_fake_nvml(three_gpus())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    snapshot = snap()
    assert [gpu.nvml_index for gpu in snapshot.gpus] == nvml_indices
    assert [gpu.index for gpu in snapshot.gpus] == list(range(len(nvml_indices)))
    assert snapshot.cuda_visible_devices == visible


def test_reordered_gpus_keep_their_own_readings(use_fake_nvml, monkeypatch: pytest.MonkeyPatch):
    use_fake_nvml(three_gpus())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,1")
    snapshot = snap()
    assert [gpu.utilization_pct for gpu in snapshot.gpus] == [20, 10]
    assert snapshot.message == "2 NVIDIA GPUs found (1 more hidden by CUDA_VISIBLE_DEVICES)"


def test_hiding_every_gpu_is_a_no_gpu_state_that_names_the_variable(
    use_fake_nvml, monkeypatch: pytest.MonkeyPatch
):
    use_fake_nvml(three_gpus())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    snapshot = snap()
    assert snapshot.state == "no-gpu"
    assert "CUDA_VISIBLE_DEVICES=''" in snapshot.message
    assert "hides all 3" in snapshot.message


def test_mixed_models_get_a_device_order_hint(use_fake_nvml, monkeypatch: pytest.MonkeyPatch):
    use_fake_nvml([FakeGpu("GPU-a", name="NVIDIA RTX A4000"), FakeGpu("GPU-b")])
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    assert "CUDA_DEVICE_ORDER=PCI_BUS_ID" in snap().hint
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    assert snap().hint == ""


# --- MIG ------------------------------------------------------------------------------------


def mig_machine() -> list[FakeGpu]:
    parent_uuid = "GPU-a100a100-0000-0000-0000-000000000000"
    instances = [
        FakeGpu(
            MIG_1,
            name="NVIDIA A100-SXM4-40GB MIG 3g.20gb",
            memory=(20 * GIB, 19 * GIB, 1 * GIB),
            utilization=NOT_SUPPORTED,
            temperature=NOT_SUPPORTED,  # the board's sensor answers instead
            capability=NOT_SUPPORTED,  # the board's capability is used
            gi=1,
        ),
        FakeGpu(
            MIG_2,
            name="NVIDIA A100-SXM4-40GB MIG 3g.20gb",
            memory=(20 * GIB, 5 * GIB, 15 * GIB),
            utilization=NOT_SUPPORTED,
            gi=2,
        ),
    ]
    board = FakeGpu(parent_uuid, name="NVIDIA A100-SXM4-40GB", capability=(8, 0), temperature=55)
    board.mig = instances
    return [board, FakeGpu(PLAIN)]


def test_mig_instances_are_devices_of_their_own(use_fake_nvml):
    use_fake_nvml(mig_machine())
    snapshot = snap()
    first, second, plain = snapshot.gpus
    parent_uuid = "GPU-a100a100-0000-0000-0000-000000000000"
    assert first.mig == MigInfo(0, parent_uuid, 1, 0)
    assert second.mig == MigInfo(0, parent_uuid, 2, 0)
    assert (first.index, first.nvml_index, first.memory_total) == (0, 0, 20 * GIB)
    assert (first.compute_capability, first.temperature_c, first.utilization_pct) == (
        (8, 0),
        55,
        None,
    )
    assert second.memory_free == 5 * GIB
    assert (plain.index, plain.nvml_index, plain.mig) == (2, 1, None)


MIG_1 = "MIG-11111111-0000-0000-0000-000000000000"
MIG_2 = "MIG-22222222-0000-0000-0000-000000000000"
PLAIN = "GPU-cccc4444-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    ("visible", "uuids"),
    [
        (MIG_2, [MIG_2]),
        ("MIG-2222,1", [MIG_2, PLAIN]),  # a UUID prefix, then a plain GPU by index
        ("MIG-GPU-a100a100-0000-0000-0000-000000000000/1/0", [MIG_1]),  # the pre-R470 form
        ("0", [MIG_1, MIG_2]),  # a MIG board by index: its instances
        ("GPU-a100a100", [MIG_1, MIG_2]),
        ("MIG-9999", []),
    ],
)
def test_cuda_visible_devices_names_mig_instances(
    use_fake_nvml, monkeypatch: pytest.MonkeyPatch, visible: str, uuids: list[str]
):
    use_fake_nvml(mig_machine())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert [gpu.uuid for gpu in snap().gpus] == uuids


def test_mig_on_with_no_instance_says_so(use_fake_nvml):
    board = FakeGpu("GPU-a100", mig=[])
    use_fake_nvml([board])
    snapshot = snap()
    assert snapshot.state == "no-gpu"
    assert "MIG" in snapshot.message


# --- fake backend and JSON ------------------------------------------------------------------


def rich_snapshot() -> HardwareSnapshot:
    host = HostInfo("Some CPU", 8, 16, 64 * GIB, 60 * GIB)
    mig = GpuInfo(
        index=0,
        nvml_index=0,
        uuid="MIG-1",
        name="A100 MIG 3g.20gb",
        memory_total=20 * GIB,
        compute_capability=(8, 0),
        mig=MigInfo(0, "GPU-a100", 1, 0),
        processes=(GpuProcess(7, GIB, "python", "bob"), GpuProcess(8, None)),
    )
    unified = GpuInfo(index=1, name="GB10", is_unified_memory=True, processes=None)
    lost = GpuInfo(index=2, nvml_index=2, processes=None, error="NVML cannot open it (GPU is lost)")
    return HardwareSnapshot(
        "ok", "3 NVIDIA GPUs found", host, (mig, unified, lost), "", "550.1", "12.4", "0,1,2"
    )


def test_json_round_trip_is_exact():
    snapshot = rich_snapshot()
    assert snapshot_from_json(snapshot_to_json(snapshot)) == snapshot


def test_the_committed_fixture_loads_and_round_trips():
    snapshot = snapshot_from_json(FIXTURE.read_text(encoding="utf-8"))
    assert [gpu.name for gpu in snapshot.gpus] == ["NVIDIA H100 80GB HBM3"] * 2
    assert snapshot.gpus[1].processes == (GpuProcess(48213, 40 * GIB, "python3", "alice"),)
    assert snapshot_from_json(snapshot_to_json(snapshot)) == snapshot


def test_unknown_keys_are_ignored_and_missing_optional_ones_defaulted():
    text = '{"state": "no-gpu", "message": "m", "future": 1, "host": {"cpu_name": null, '
    text += '"cpu_cores": null, "cpu_threads": null, "ram_total": null, "ram_available": null}}'
    snapshot = snapshot_from_json(text)
    assert (snapshot.state, snapshot.gpus, snapshot.source) == ("no-gpu", (), "nvml")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "invalid JSON"),
        ("[]", "must be a JSON object"),
        ('{"state": "great", "message": "", "host": {}}', "state must be one of"),
        ('{"state": "ok", "message": ""}', "host must be a JSON object"),
        ('{"message": "", "state": "ok", "host": {"cpu_name": 1}}', "host lacks cpu_cores"),
        ('{"state": "ok", "message": "", "host": {"cpu_name": null, "cpu_cores": null, '
         '"cpu_threads": null, "ram_total": null, "ram_available": null}, "gpus": [{}]}',
         "a GPU lacks index"),
    ],
)  # fmt: skip
def test_bad_snapshots_say_why(text: str, reason: str):
    with pytest.raises(ValueError, match=reason):
        snapshot_from_json(text)


def test_fake_backend_is_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(FAKE_GPU_ENV, str(FIXTURE))
    assert isinstance(default_backend(), FakeBackend)
    snapshot = probe()
    assert snapshot.source == "fake (fake_gpu_2xh100.json)"
    assert snapshot.has_gpu and len(snapshot.gpus) == 2


def test_fake_backend_errors_name_the_file(tmp_path: Path):
    with pytest.raises(UserError, match="cannot read the fake GPU file"):
        FakeBackend(tmp_path / "missing.json").snapshot()
    bad = tmp_path / "bad.json"
    bad.write_text('{"state": "ok"}', encoding="utf-8")
    with pytest.raises(UserError, match=r"bad\.json is not a hardware snapshot"):
        FakeBackend(bad).snapshot()


def test_snapshots_are_immutable():
    snapshot = rich_snapshot()
    with pytest.raises(AttributeError):
        snapshot.state = "no-gpu"  # type: ignore[misc]
    assert replace(snapshot, state="no-gpu").state == "no-gpu"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "n/a"),
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KiB"),
        (553648128, "528.0 MiB"),
        (80 * GIB, "80.0 GiB"),
        (3 * 1024 * GIB, "3.0 TiB"),
    ],
)
def test_format_bytes(value: int | None, text: str):
    assert format_bytes(value) == text


def test_importing_the_probe_loads_no_pynvml():
    code = "import sys, tui_ft.core.hardware.snapshot, tui_ft.core.hardware.nvml\n"
    code += "print('pynvml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
