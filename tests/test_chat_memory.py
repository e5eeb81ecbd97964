"""Where the chat goes before anything loads: what a run means for the chat (adapter, two
models, a checkpoint standing in), and whether it fits beside what the GPU already holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui_ft.core.chat.memory import plan_placement
from tui_ft.core.chat.protocol import ChatError
from tui_ft.core.chat.target import ChatTarget, chat_target
from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.estimate.peak import GIB
from tui_ft.core.hardware.snapshot import GpuInfo, GpuProcess, HardwareSnapshot, HostInfo
from tui_ft.core.models.info import ModelInfo
from tui_ft.core.models.param_count import ParamCount
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status

# About 7B parameters: 13 GiB in bf16, so one copy fits a 24 GiB GPU and two do not.
SEVEN_B = ModelInfo(
    name="seven",
    architecture="LlamaForCausalLM",
    model_type="llama",
    params=ParamCount(linear=6_476_005_376, embedding=2 * 32_000 * 4096, other=266_240),
    num_layers=32,
    hidden_size=4096,
    num_heads=32,
    num_kv_heads=32,
    head_dim=128,
    intermediate_size=11008,
    vocab_size=32_000,
    tied_embeddings=False,
    max_context=4096,
    dtype="bfloat16",
    has_chat_template=True,
)
HOST = HostInfo("cpu", 16, 32, ram_total=256 * GIB, ram_available=200 * GIB)
TRAINER_PID = 4242


def gpu(index: int, free_gib: float, pids: tuple[int, ...] = ()) -> GpuInfo:
    return GpuInfo(
        index=index,
        name="NVIDIA L4",
        memory_total=24 * GIB,
        memory_free=int(free_gib * GIB),
        compute_capability=(8, 9),
        processes=tuple(GpuProcess(pid, 10 * GIB) for pid in pids),
    )


def snapshot(*gpus: GpuInfo) -> HardwareSnapshot:
    state = "ok" if gpus else "no-gpu"
    return HardwareSnapshot(state, f"{len(gpus)} GPUs", HOST, tuple(gpus))


def target(method: str) -> ChatTarget:
    kind = {"full": "two-models", "base": "base-only"}.get(method, "adapter")
    config = RunConfig(model="m", method="lora" if method == "base" else method, max_length=2048)
    return ChatTarget("run", config, kind)


def test_a_lora_run_goes_to_the_freest_gpu_in_bf16() -> None:
    plan = plan_placement(target("lora"), SEVEN_B, snapshot(gpu(0, 3), gpu(1, 23)))
    assert (plan.device, plan.placement, plan.precision) == ("cuda:1", "shared", "bf16")
    assert 13 * GIB < plan.needed_bytes < 20 * GIB
    assert plan.as_dict()["verdict"].startswith("The chat needs about")


def test_without_a_gpu_the_chat_runs_on_the_cpu_in_fp32() -> None:
    plan = plan_placement(target("lora"), SEVEN_B, snapshot())
    assert (plan.device, plan.precision, plan.free_bytes) == ("cpu", "fp32", 200 * GIB)


def test_a_busy_gpu_is_never_loaded_but_other_places_are_offered() -> None:
    hardware = snapshot(gpu(0, 3, pids=(TRAINER_PID,)), gpu(1, 23))
    with pytest.raises(ChatError) as caught:
        plan_placement(
            target("lora"), SEVEN_B, hardware, "cuda:0", training_runs={TRAINER_PID: "big-run"}
        )
    err = caught.value
    assert err.kind == "no_room"
    assert "only 3.0 GiB is free on GPU 0" in err.message
    assert "Run big-run is training there." in err.message
    assert [o["device"] for o in err.options] == ["cuda:1", "cpu"]
    assert "wait until the training there finishes" in err.hint
    assert "Nothing was loaded" in err.hint


def test_a_full_fine_tune_falls_back_to_one_model_at_a_time() -> None:
    plan = plan_placement(target("full"), SEVEN_B, snapshot(gpu(0, 23)))
    assert plan.placement == "sequential" and plan.device == "cuda:0"
    assert "take turns" in plan.note
    together = plan_placement(target("full"), SEVEN_B, snapshot(gpu(0, 79)))
    assert together.placement == "together"
    assert together.needed_bytes > plan.needed_bytes + 12 * GIB


def test_a_full_fine_tune_that_insists_on_together_gets_the_options() -> None:
    with pytest.raises(ChatError) as caught:
        plan_placement(target("full"), SEVEN_B, snapshot(gpu(0, 23)), "cuda:0", "together")
    options = caught.value.options
    assert options[0] == {
        "device": "cuda:0",
        "placement": "sequential",
        "label": "GPU 0 (NVIDIA L4), one model at a time",
    }
    assert options[-1]["device"] == "cpu"
    plan = plan_placement(target("full"), SEVEN_B, snapshot(gpu(0, 23)), "cuda:0", "base-cpu")
    assert plan.placement == "base-cpu"


def test_a_base_model_alone_needs_no_adapter_memory() -> None:
    hardware = snapshot(gpu(0, 79))
    alone = plan_placement(target("base"), SEVEN_B, hardware)
    with_adapter = plan_placement(target("lora"), SEVEN_B, hardware)
    assert alone.placement == "base-only" and alone.needed_bytes < with_adapter.needed_bytes


def test_unknown_free_memory_loads_with_a_note() -> None:
    hardware = snapshot(GpuInfo(index=0, name="GPU", memory_free=None))
    plan = plan_placement(target("lora"), SEVEN_B, hardware)
    assert plan.device == "cuda:0" and "unknown" in plan.note


@pytest.mark.parametrize(
    ("device", "gpus", "kind"),
    [("tpu", (), "bad_request"), ("cuda:0", (), "missing"), ("cuda:3", (0,), "missing")],
)
def test_device_mistakes_are_sentences(device: str, gpus: tuple[int, ...], kind: str) -> None:
    hardware = snapshot(*(gpu(i, 20) for i in gpus))
    with pytest.raises(ChatError) as caught:
        plan_placement(target("lora"), SEVEN_B, hardware, device)
    assert caught.value.kind == kind and caught.value.message.endswith(".")


# --- what a run means for the chat ------------------------------------------------------------


def make_run(home: Path, method: str = "lora", state: str = "completed") -> RunDir:
    run = RunDir.create(f"r-{method}-{state}", home)
    save_config(RunConfig(model="demo", method=method), run.config_path)
    run.write_status(Status(state=state, pid=None))
    return run


def test_a_lora_run_is_base_plus_adapter_and_a_full_run_two_models(tmp_path: Path) -> None:
    lora = make_run(tmp_path)
    (lora.output_dir).mkdir()
    (lora.output_dir / "adapter_config.json").write_text("{}")
    found = chat_target(run=str(lora.path))
    assert (found.kind, found.tuned_path, found.sides) == (
        "adapter",
        lora.output_dir,
        ("base", "tuned"),
    )
    full = make_run(tmp_path, "full")
    full.output_dir.mkdir()
    (full.output_dir / "config.json").write_text(json.dumps({}))
    assert chat_target(run=str(full.path)).kind == "two-models"
    alone = chat_target(model="demo")
    assert alone.kind == "base-only" and alone.sides == ("base",) and alone.run is None


def test_an_unfinished_run_speaks_through_its_last_checkpoint(tmp_path: Path) -> None:
    run = make_run(tmp_path, state="stopped")
    with pytest.raises(ChatError) as caught:
        chat_target(run=str(run.path))
    assert caught.value.kind == "missing" and "tui-ft resume" in caught.value.hint
    checkpoint = run.checkpoints_dir / "checkpoint-20"
    checkpoint.mkdir(parents=True)
    (checkpoint / "adapter_config.json").write_text("{}")
    (checkpoint / ".complete").write_text("")
    found = chat_target(run=str(run.path))
    assert found.tuned_path == checkpoint and "checkpoint-20 stands in" in found.note


def test_a_missing_run_is_a_missing_error(tmp_path: Path) -> None:
    with pytest.raises(ChatError) as caught:
        chat_target(run=str(tmp_path / "nope"))
    assert caught.value.kind == "missing" and "there is no run" in caught.value.message
    with pytest.raises(ChatError) as caught:
        chat_target()
    assert caught.value.kind == "bad_request"
