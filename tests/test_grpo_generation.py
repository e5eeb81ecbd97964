"""GRPO's `generation:` setting: transformers `generate` by default, or vLLM colocated. What runs
here without a GPU or vLLM: the settings' sentences, the refusal before a run starts (the
launcher's and the trainer's, with the GPU and the package faked), the keys TRL's GRPOConfig
gets, and vLLM's share of the GPU in the estimate. vLLM itself never runs in these tests."""

from __future__ import annotations

import dataclasses
import importlib.util
from types import SimpleNamespace
from typing import Any

import pytest

from tests.test_estimate import HAND
from tests.test_grpo_objective import grpo
from tui_ft.core.errors import UserError
from tui_ft.core.estimate.advice import advise, apply_changes
from tui_ft.core.estimate.peak import Target, estimate_training, target_with_memory
from tui_ft.core.models.param_count import ParamCount
from tui_ft.core.objectives import objective_named
from tui_ft.core.objectives.grpo_generation import generation_refusal
from tui_ft.core.runs import launch
from tui_ft.core.runs.launch import prepare_run
from tui_ft.engine.train.data import LENGTH, TRAINED, TrainData
from tui_ft.engine.train.objectives.grpo import generation_args
from tui_ft.engine.train.setup import refuse_this_machine

GIB = 1024**3
NO_GPU = "vLLM generation needs an NVIDIA GPU, and none will train this run."
NO_VLLM = "generation: vllm needs the vllm package, which is not installed."


def test_transformers_by_default_and_vllm_when_asked() -> None:
    assert grpo().setting("generation") == "transformers"
    vllm = grpo(generation="vllm", vllm_gpu_memory_utilization=0.5)
    assert vllm.setting("generation") == "vllm"
    assert vllm.setting("vllm_gpu_memory_utilization") == 0.5
    assert grpo(generation="vllm").setting("vllm_gpu_memory_utilization") == 0.3  # TRL's


@pytest.mark.parametrize(
    ("settings", "sentence"),
    [
        ({"generation": "tgi"}, "generation must be one of transformers, vllm (it is 'tgi')"),
        ({"vllm_gpu_memory_utilization": 0}, "vllm_gpu_memory_utilization must be above 0"),
        ({"vllm_gpu_memory_utilization": 1.5}, "and at most 1 (it is 1.5)"),
    ],
)
def test_a_generation_that_cannot_run_is_a_sentence(
    settings: dict[str, Any], sentence: str
) -> None:
    with pytest.raises(UserError) as caught:
        grpo(**settings)
    assert sentence in str(caught.value)


def test_vllm_is_refused_without_a_gpu_then_without_its_package() -> None:
    vllm = {"generation": "vllm"}
    no_gpu = generation_refusal(vllm, lambda: False, lambda _: True)
    assert no_gpu is not None and no_gpu.message == NO_GPU
    assert "Use generation: transformers on this machine" in no_gpu.hint
    missing = generation_refusal(vllm, lambda: True, lambda _: False)
    assert missing is not None and missing.message == NO_VLLM
    assert "`pip install 'trl[vllm]'`" in missing.hint
    assert generation_refusal(vllm, lambda: True, lambda name: name == "vllm") is None

    def never() -> bool:
        raise AssertionError("transformers generation needs no GPU probe")

    assert generation_refusal({}, never) is None
    assert generation_refusal({"generation": "transformers"}, never) is None


def test_the_launcher_refuses_it_before_the_run_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    config = grpo(generation="vllm")
    monkeypatch.setattr(launch, "probe", lambda: SimpleNamespace(has_gpu=False))
    with pytest.raises(UserError, match=NO_GPU):
        prepare_run(config)
    # A GPU, but no vllm package (looked up, never imported).
    monkeypatch.setattr(launch, "probe", lambda: SimpleNamespace(has_gpu=True))
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "vllm" else object()
    )
    with pytest.raises(UserError, match="pip install 'trl\\[vllm\\]'"):
        prepare_run(config)
    assert prepare_run(grpo()).config_path.is_file()  # transformers: no refusal


def test_the_trainer_refuses_it_too_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match=NO_GPU):
        refuse_this_machine(grpo(generation="vllm"))
    refuse_this_machine(grpo())


def test_grpo_config_gets_colocated_vllm_with_its_share_and_context() -> None:
    from trl import GRPOConfig

    rows = [{"prompt": "p", LENGTH: 30, TRAINED: 12}, {"prompt": "q", LENGTH: 44, TRAINED: 12}]
    data = TrainData(rows[:1], rows[1:], [])
    assert generation_args(grpo(), data) == {"use_vllm": False}
    args = generation_args(grpo(generation="vllm", vllm_gpu_memory_utilization=0.45), data)
    assert args == {
        "use_vllm": True,
        "vllm_mode": "colocate",
        "vllm_gpu_memory_utilization": 0.45,
        "vllm_max_model_length": 44,  # the longest prompt with its whole completion
        "vllm_enable_sleep_mode": False,
        "vllm_tensor_parallel_size": 1,
    }
    # Every key is one of TRL's GRPOConfig fields, spelled as TRL spells it.
    assert set(args) <= {f.name for f in dataclasses.fields(GRPOConfig)}


def test_the_estimate_counts_vllm_s_share_instead_of_the_generation_cache() -> None:
    gpu = target_with_memory(80)
    share = 0.4
    vllm = grpo(generation="vllm", vllm_gpu_memory_utilization=share)
    estimate = estimate_training(HAND, vllm, gpu)
    assert estimate.term("vllm") == int(share * 80 * GIB)
    assert estimate.term("generation") == 0
    term = next(t for t in estimate.terms if t.key == "vllm")
    assert term.outside_torch and term.band == (term.bytes, term.bytes)
    assert term.detail.startswith("vllm_gpu_memory_utilization 0.4 × ")
    assert objective_named("grpo").memory(vllm.objective_settings).engine_share == share
    transformers = estimate_training(HAND, grpo(), gpu)
    assert transformers.term("vllm") == 0 and transformers.term("generation") > 0
    # The rest of the run is the same: vLLM replaces the cache, nothing else.
    assert estimate.required_bytes - estimate.term("vllm") < transformers.required_bytes
    # Without a GPU's total (the CPU, or a GPU of unknown size) the cache is counted, and said.
    cpu = Target("cpu", True, 64 * GIB, "the CPU (RAM)", 64 * GIB)
    for target in (cpu, Target("cuda", True, None, "GPU")):
        fallback = estimate_training(HAND, vllm, target)
        assert fallback.term("vllm") == 0 and fallback.term("generation") > 0
        assert any("transformers generation's cache instead" in n for n in fallback.notes)


def test_advice_gives_vllm_a_smaller_share_when_the_run_does_not_fit() -> None:
    gpu = target_with_memory(80)
    vllm = grpo(generation="vllm", vllm_gpu_memory_utilization=0.9)
    fits = estimate_training(HAND, vllm, gpu)
    # The same GPU with less free: room for the training and a 0.45 share.
    crowded = dataclasses.replace(gpu, available=fits.required_bytes - int(0.45 * 80 * GIB))
    current = estimate_training(HAND, vllm, crowded)
    assert current.fits is False
    advice = {a.key: a for a in advise(HAND, vllm, crowded, current)}["vllm_share"]
    share = advice.changes["vllm_gpu_memory_utilization"]
    assert share == 0.4  # the largest step of 0.05 that fits
    assert advice.fits
    applied = apply_changes(vllm, advice.changes)
    assert applied.setting("vllm_gpu_memory_utilization") == share
    assert vllm.setting("vllm_gpu_memory_utilization") == 0.9  # a copy was changed
    # Transformers generation has no share to give.
    plain = estimate_training(HAND, grpo(), crowded)
    assert "vllm_share" not in {a.key for a in advise(HAND, grpo(), crowded, plain)}


def test_vllm_keeps_room_for_its_own_copy_of_the_weights() -> None:
    # 8B parameters: vLLM's 16-bit copy is 16 GB, a quarter more is 0.25 of an 80 GiB GPU.
    big = dataclasses.replace(HAND, params=ParamCount(linear=8 * 10**9, embedding=0, other=0))
    vllm = grpo(generation="vllm", vllm_gpu_memory_utilization=0.9)
    crowded = dataclasses.replace(target_with_memory(80), available=GIB)
    current = estimate_training(big, vllm, crowded)
    advice = {a.key: a for a in advise(big, vllm, crowded, current)}["vllm_share"]
    assert advice.changes == {"vllm_gpu_memory_utilization": 0.25}
    assert advice.fits is False
