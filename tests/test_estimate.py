"""The VRAM estimator: LoRA counts against PEFT's own, each term on a hand-computed example,
the advice, and `tui-ft estimate` (human and JSON output)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tui_ft.cli import main
from tui_ft.core.config import RunConfig
from tui_ft.core.estimate.activations import Workload, activations
from tui_ft.core.estimate.advice import advise, apply_changes, larger_batch
from tui_ft.core.estimate.inference import estimate_inference, kv_cache_bytes
from tui_ft.core.estimate.peak import (
    GIB,
    Estimate,
    EstimateOptions,
    Target,
    estimate_training,
    nf4_bytes_per_param,
    resolve_precision,
    target_with_memory,
)
from tui_ft.core.estimate.shapes import lora_shape
from tui_ft.core.hardware.snapshot import FAKE_GPU_ENV
from tui_ft.core.methods import method_named
from tui_ft.core.models.info import ModelInfo, read_model_info
from tui_ft.core.models.param_count import ParamCount
from tui_ft.core.models.resolve import resolve_model

FIXTURES = Path(__file__).parent / "fixtures"
QWEN2_05B = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
    "max_position_embeddings": 32768,
}
LLAMA_1B = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 2048,
    "intermediate_size": 8192,
    "num_hidden_layers": 16,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 64,
    "vocab_size": 128256,
    "tie_word_embeddings": True,
}
# A tiny Llama worked out by hand: h=64, q=64, kv=32, i=128, 2 blocks, vocab 1000, untied.
# Linear weights per block: q 4096 + k 2048 + v 2048 + o 4096 + gate/up/down 3 × 8192 = 36864.
HAND = ModelInfo(
    name="hand",
    architecture="LlamaForCausalLM",
    model_type="llama",
    params=ParamCount(linear=2 * 36864, embedding=2 * 1000 * 64, other=5 * 64),
    num_layers=2,
    hidden_size=64,
    num_heads=4,
    num_kv_heads=2,
    head_dim=16,
    intermediate_size=128,
    vocab_size=1000,
    tied_embeddings=False,
    max_context=2048,
    dtype="bfloat16",
    has_chat_template=False,
)
GPU = Target("cuda", True, None, "GPU")


def info_from(config: dict[str, Any], folder: Path) -> ModelInfo:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return read_model_info(resolve_model(str(folder / "config.json")))


def run(**fields: Any) -> RunConfig:
    lora = {k.removeprefix("lora_"): fields.pop(k) for k in list(fields) if k.startswith("lora_")}
    config = RunConfig(**fields)
    for key, value in lora.items():
        setattr(config.lora, key, value)
    return config


# --- LoRA parameter counts: exactly PEFT's ----------------------------------------------------


@pytest.mark.parametrize(
    ("config", "targets", "dora"),
    [
        (QWEN2_05B, "all-linear", False),
        (QWEN2_05B, ["q_proj", "v_proj"], False),
        (QWEN2_05B, "all-linear", True),
        (LLAMA_1B, "all-linear", False),
        (LLAMA_1B, ["q_proj", "k_proj", "down_proj"], True),
    ],
)
def test_lora_parameter_count_equals_peft(
    config: dict[str, Any], targets: Any, dora: bool, tmp_path: Path
) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**config))
    peft_model = get_peft_model(model, LoraConfig(r=16, target_modules=targets, use_dora=dora))
    trainable, total = peft_model.get_nb_trainable_parameters()
    info = info_from(config, tmp_path / "model")
    assert lora_shape(info, 16, targets, dora).total == trainable
    assert info.num_parameters + trainable == total  # and the base count agrees


def test_unknown_lora_target_is_a_sentence() -> None:
    from tui_ft.core.errors import UserError

    with pytest.raises(UserError, match="no linear layer named qkv") as err:
        lora_shape(HAND, 8, ["qkv"])
    assert "q_proj" in err.value.hint


# --- each term on a hand-computed example -----------------------------------------------------

NF4_DQ = 0.5 + 1 / 64 + 4 / (64 * 256)
QLORA_REST = (128000 + 320) * 2 + 14 * 1088  # bf16 embeddings and norms, 14 quant states


@pytest.mark.parametrize(
    ("fields", "term", "expected"),
    [
        ({"method": "lora"}, "weights", 202048 * 2),
        ({"method": "full"}, "weights", 202048 * 2),
        ({"method": "full", "precision": "fp32"}, "weights", 202048 * 4),
        # fp16 full fine-tuning: fp32 masters + fp16 copies of the linear weights
        ({"method": "full", "precision": "fp16"}, "weights", 202048 * 4 + 73728 * 2),
        ({"method": "qlora"}, "weights", round(73728 * NF4_DQ) + QLORA_REST),
        (
            {"method": "qlora", "qlora": {"double_quant": False}},
            "weights",
            73728 * 9 // 16 + QLORA_REST,
        ),
        # r=8 on all 7 linears: 8 × Σ(in + out) = 8 × 1024 per block, fp32 adapters
        ({"method": "lora", "lora_rank": 8}, "adapter", 2 * 8192 * 4),
        ({"method": "lora", "lora_rank": 8}, "optimizer", 2 * 2 * 8192 * 4),
        ({"method": "qlora", "lora_rank": 8}, "adapter", 2 * 8192 * 2),
        ({"method": "full"}, "optimizer", 2 * 202048 * 2),  # AdamW states in bf16
        # 8-bit: tensors of 4096+ elements cost 2 B + 2 fp32 absmax per 256; smaller ones 8 B.
        # Per block: q, o 8320; k, v 16384; gate, up, down 16640. Embeddings 260000; norms 2560.
        ({"method": "full", "optimizer": "adamw_8bit"}, "optimizer", 2 * 99328 + 260000 + 2560),
        ({"method": "full", "optimizer": "sgd"}, "optimizer", 0),
    ],
)
def test_term_on_hand_computed_example(fields: dict[str, Any], term: str, expected: int) -> None:
    qlora = fields.pop("qlora", {})
    config = run(**fields)
    for key, value in qlora.items():
        setattr(config.qlora, key, value)
    assert estimate_training(HAND, config, GPU).term(term) == expected


def test_nf4_bytes_per_param() -> None:
    assert nf4_bytes_per_param(False) == 0.5 + 4 / 64
    assert nf4_bytes_per_param(True) == pytest.approx(0.5159, abs=1e-4)


def test_kv_cache_is_2_layers_kv_heads_head_dim_context_batch_bytes() -> None:
    assert kv_cache_bytes(HAND, 1024, batch=2, dtype_bytes=2) == 2 * 2 * 2 * 16 * 1024 * 2 * 2


def test_activations_of_one_block_by_hand() -> None:
    tokens = 4 * 32
    full = Workload(batch_size=4, seq_len=32, compute_bytes=2, train_base=True, padding_free=False)
    # Per token: 2 RMSNorms (fp32 copy 256 + rsqrt 4 + bf16 normalized 128), SDPA q/out 2×128
    # + k/v expanded to all heads 2×128 (padded rows need a mask: no native GQA) + log-sum-exp
    # 4×4 heads, MLP 3 × 2 × 128, inputs of q/k/v, gate/up, down. Per block: the mask as a
    # 16-bit bias, 4 rows × 32² pairs.
    per_token = 2 * (256 + 4 + 128) + (256 + 256 + 16) + 768 + 2 * (64 + 64 + 128)
    bias = 2 * 4 * 32**2
    assert activations(HAND, full, head_trainable=True).block == per_token * tokens + bias
    flash = Workload(4, 32, 2, True, padding_free=False, attention="flash")
    assert activations(HAND, flash, head_trainable=True).block == (per_token - 128) * tokens
    lora = lora_shape(HAND, 8, "all-linear")
    adapters = Workload(4, 32, 2, False, lora, lora_dropout=0.05, padding_free=False)
    # LoRA: no bf16 normalized copy, no shared inputs; per target a 1-byte dropout mask and a
    # 16-bit copy of its input (Σ d_in = 512), lora_A's output (8 × 2); autocast copies of A, B.
    per_token = 2 * (256 + 4) + 528 + 768 + 3 * 512 + 7 * 16
    block = activations(HAND, adapters, head_trainable=False).block
    assert block == per_token * tokens + 2 * lora.per_layer + bias


def test_fused_loss_keeps_no_logits_but_the_full_loss_does() -> None:
    fused = estimate_training(HAND, run(max_length=512), GPU)
    full = estimate_training(HAND, run(max_length=512), GPU, EstimateOptions(loss="unfused"))
    assert fused.activations and full.activations
    tokens = 4 * 512
    assert fused.activations.loss_saved == tokens * (2 * 64 + 16)
    assert full.activations.loss_saved == tokens * (4 * 1000 + 8)


def test_qlora_weights_are_smaller_than_lora_weights(tmp_path: Path) -> None:
    info = info_from(LLAMA_1B, tmp_path / "m")
    lora = estimate_training(info, run(method="lora"), GPU)
    qlora = estimate_training(info, run(method="qlora"), GPU)
    assert qlora.term("weights") < 0.6 * lora.term("weights")


def test_checkpointing_lowers_activations_and_the_peak(tmp_path: Path) -> None:
    info = info_from(QWEN2_05B, tmp_path / "m")
    plain = estimate_training(info, run(batch_size=8, max_length=1024), GPU)
    ckpt = estimate_training(
        info, run(batch_size=8, max_length=1024, gradient_checkpointing=True), GPU
    )
    assert ckpt.term("activations") < plain.term("activations") / 10
    assert ckpt.peak_bytes < plain.peak_bytes


def test_the_data_s_longest_row_caps_the_tokens_counted() -> None:
    config = run(batch_size=4, max_length=1024)
    unknown = estimate_training(HAND, config, GPU)
    short = estimate_training(HAND, config, GPU, EstimateOptions(longest_row=128))
    as_if_cut = estimate_training(HAND, run(batch_size=4, max_length=128), GPU)
    longer = estimate_training(HAND, config, GPU, EstimateOptions(longest_row=4096))
    assert short.peak_bytes == as_if_cut.peak_bytes < unknown.peak_bytes
    assert longer.peak_bytes == unknown.peak_bytes  # rows are cut at max_length anyway
    assert "× 512 tokens" in short.terms[[t.key for t in short.terms].index("activations")].detail


def test_eager_attention_costs_more_than_sdpa() -> None:
    config = run(max_length=1024)
    sdpa = estimate_training(HAND, config, GPU)
    eager = estimate_training(HAND, config, GPU, EstimateOptions(attention="eager"))
    assert eager.term("activations") > sdpa.term("activations")


def test_loss_paths_by_hand() -> None:
    tokens, vocab = 4 * 512, 1000
    config = run(max_length=512, batching="padded")

    def loss(**options: Any) -> tuple[int, int]:
        result = estimate_training(
            HAND, config, GPU, EstimateOptions(padding_free=False, **options)
        )
        assert result.activations is not None
        return result.activations.loss_saved, result.activations.loss_peak

    # transformers' loss: fp32 log-probs saved; their gradient and log_softmax's, both fp32.
    assert loss(loss="unfused") == (tokens * (4 * vocab + 8), 2 * 4 * tokens * vocab)
    # A loop that holds the output keeps the 16-bit logits through the backward as well.
    _, peak = loss(loss="unfused", logits_held=True)
    assert peak == 2 * 4 * tokens * vocab + 2 * tokens * vocab
    # LitGPT: 16-bit log-probs saved, the held logits and one 128-token chunk's 2 gradients.
    assert loss(loss="chunked", logits_held=True) == (
        tokens * (2 * vocab + 8),
        2 * tokens * vocab + 2 * 2 * 4 * 128 * vocab,
    )


def test_qlora_dequantizes_its_largest_block_linear_at_a_block_s_backward() -> None:
    # bitsandbytes' MatMul4Bit.backward dequantizes the whole weight: gate/up/down 64 × 128 in
    # bf16, the dtype transformers quantized it from.
    config = run(method="qlora", max_length=512, gradient_checkpointing=True)
    qlora = estimate_training(HAND, config, GPU)
    assert qlora.phase == "block backward" and qlora.term("dequant") == 2 * 64 * 128
    lora = estimate_training(HAND, run(max_length=512, gradient_checkpointing=True), GPU)
    assert lora.term("dequant") == 0


LITGPT = EstimateOptions(
    loss="chunked",
    autocast=False,
    adapters_in_compute_dtype=True,
    logits_held=True,
    old_bitsandbytes=True,
    head_quantized=True,
    dequant_cast=True,
    padding_free=False,
)


def test_a_4bit_head_is_quantized_with_the_block_linears() -> None:
    config = run(method="qlora")
    plain = estimate_training(HAND, config, GPU).term("weights")
    litgpt = estimate_training(HAND, config, GPU, LITGPT).term("weights")
    head = 1000 * 64  # untied, V × h
    assert plain == round(73728 * NF4_DQ) + QLORA_REST
    assert litgpt == math.ceil((73728 + head) * NF4_DQ) + QLORA_REST + 1088 - 2 * head


def test_a_loop_holding_its_output_runs_the_next_forward_beside_the_previous_one() -> None:
    tokens, vocab = 4 * 512, 1000
    config = run(method="qlora", max_length=512)
    result = estimate_training(HAND, config, GPU, LITGPT)
    assert result.activations is not None
    # The 16-bit logits and the final norm's output, which the 4-bit head keeps.
    assert result.activations.output == 2 * tokens * (vocab + 64)
    # The previous ones, and every 4-bit linear's input on its context: per block the norms'
    # outputs, SDPA's output and the MLP product (64 + 64 + 64 + 128), but the first block's
    # attention input (no gradient under LoRA).
    assert result.activations.stale == 2 * tokens * (vocab + 64) + 2 * tokens * (2 * 320 - 64)
    assert result.phase == "next forward"
    # Fp16 head dequantized, then cast to bf16, while the last chunk's logits are computed.
    assert result.term("dequant") == (2 + 2) * vocab * 64
    # Without old bitsandbytes only the held logits remain; TRL's fused head holds nothing.
    newer = estimate_training(HAND, config, GPU, replace(LITGPT, old_bitsandbytes=False))
    assert newer.activations is not None and newer.activations.stale == 2 * tokens * vocab
    fused = estimate_training(HAND, config, GPU, replace(LITGPT, loss="fused"))
    assert fused.activations is not None and fused.activations.stale == 0
    # Checkpointed blocks keep no 4-bit inputs, the previous micro-batch's neither.
    ckpt = run(method="qlora", max_length=512, gradient_checkpointing=True)
    checkpointed = estimate_training(HAND, ckpt, GPU, LITGPT).activations
    assert checkpointed is not None and checkpointed.stale == 2 * tokens * (vocab + 64)


def test_the_attention_mask_is_a_term_of_padded_sdpa_batches_only() -> None:
    config = run(max_length=512, batching="padded")
    padded = estimate_training(HAND, config, GPU, EstimateOptions(padding_free=False))
    flash = EstimateOptions(padding_free=False, attention="flash")
    # The boolean mask, 4 × 512² pairs, and each of the 2 blocks' 16-bit bias.
    assert padded.term("attention") == 4 * 512**2 * (1 + 2 * 2)
    assert estimate_training(HAND, config, GPU, flash).term("attention") == 0
    one_row = estimate_training(HAND, run(batch_size=1), GPU, EstimateOptions(padding_free=False))
    assert one_row.term("attention") == 0


def test_flash_attention_where_installed_and_never_on_the_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tui_ft.core.estimate import peak

    monkeypatch.setattr(peak, "flash_attention_installed", lambda: True)
    config = run(batch_size=4, max_length=512)
    options = peak.run_options(config)
    assert (options.attention, options.padding_free) == ("flash", True)
    assert estimate_training(HAND, config, GPU, options).term("attention") == 0
    cpu = Target("cpu", True, None, "CPU")
    on_cpu = estimate_training(HAND, config, cpu, options)
    assert (
        on_cpu.term("attention")
        == estimate_training(HAND, config, cpu, replace(options, attention="sdpa")).term(
            "attention"
        )
        > 0
    )


def test_foreach_adamw_adds_a_state_sized_buffer_at_the_optimizer_step(tmp_path: Path) -> None:
    info = info_from(QWEN2_05B, tmp_path / "m")
    config = run(method="full", batch_size=1, max_length=64, gradient_checkpointing=True)
    fused = estimate_training(info, config, GPU)
    foreach = estimate_training(info, config, GPU, EstimateOptions(adamw="foreach"))
    assert fused.term("step") == 0
    assert foreach.phase == "optimizer step"
    assert foreach.term("step") == foreach.term("gradients") == info.params.total * 2


def test_fits_is_judged_on_the_high_figure() -> None:
    config = run(max_length=512)
    probe = estimate_training(HAND, config, GPU)
    assert probe.required_low_bytes < probe.required_bytes < probe.required_high_bytes
    between = (probe.required_bytes + probe.required_high_bytes) // 2
    target = Target("cuda", True, between, "GPU", between)
    result = estimate_training(HAND, config, target)
    assert result.fits is False and result.headroom_bytes is not None
    assert result.headroom_bytes < 0
    assert "up to" in result.verdict()
    roomy = Target("cuda", True, probe.required_high_bytes, "GPU", probe.required_high_bytes)
    assert estimate_training(HAND, config, roomy).fits


def test_each_term_s_band_holds_its_point() -> None:
    for method in ("full", "lora", "qlora"):
        result = estimate_training(HAND, run(method=method, max_length=512), GPU)
        for term in result.terms:
            low, high = term.band
            assert low <= term.bytes <= high, (method, term.key)
        assert result.peak_low_bytes <= result.peak_bytes <= result.peak_high_bytes


def test_required_adds_context_and_paged_states_to_the_torch_peak() -> None:
    paged = estimate_training(HAND, run(method="full", optimizer="paged_adamw_8bit"), GPU)
    outside = [t for t in paged.terms if t.outside_torch]
    assert {t.key for t in outside} == {"optimizer", "context"}
    assert paged.required_bytes == paged.peak_bytes + sum(t.bytes for t in outside)


@pytest.mark.parametrize(
    ("requested", "device", "bf16", "expected"),
    [
        ("auto", "cuda", True, "bf16"),
        ("auto", "cuda", False, "fp16"),
        ("auto", "cpu", True, "fp32"),
        ("fp32", "cuda", True, "fp32"),
    ],
)
def test_precision_policy(requested: str, device: str, bf16: bool, expected: str) -> None:
    target = Target(device, bf16, None, "x")
    assert resolve_precision(requested, method_named("lora"), target).name == expected


def test_inference_shares_one_base_for_lora_and_holds_two_models_for_full() -> None:
    target = target_with_memory(24)
    lora = estimate_inference(HAND, run(method="lora"), target, context=2048)
    full = estimate_inference(HAND, run(method="full"), target, context=2048)
    assert full.term("weights") == 2 * lora.term("weights")
    assert lora.term("kv_cache") == kv_cache_bytes(HAND, 2048, batch=2, dtype_bytes=2)


# --- advice -----------------------------------------------------------------------------------


def too_big(tmp_path: Path, **fields: Any) -> tuple[ModelInfo, RunConfig, Target, Estimate]:
    info = info_from(QWEN2_05B, tmp_path / "m")
    config = run(**({"batch_size": 8, "max_length": 2048} | fields))
    target = target_with_memory(16)
    return info, config, target, estimate_training(info, config, target)


@pytest.mark.parametrize(
    "fields",
    [
        {"method": "lora"},
        {"method": "full"},
        {"method": "full", "max_length": 4096, "batch_size": 16},
        {"method": "qlora", "gradient_checkpointing": True, "batch_size": 64},
    ],
)
def test_advice_always_lowers_the_estimate_and_marks_the_first_fit(
    tmp_path: Path, fields: dict[str, Any]
) -> None:
    info, config, target, current = too_big(tmp_path, **fields)
    assert current.fits is False
    items = advise(info, config, target, current)
    assert items and items[-1].key == "smaller_model"
    for item in items:
        if item.estimate is not None:
            assert item.estimate.required_bytes < current.required_bytes, item.key
            again = estimate_training(info, apply_changes(config, item.changes), target)
            assert again.required_bytes == item.estimate.required_bytes
    fitting = [i for i, item in enumerate(items) if item.fits]
    marked = [i for i, item in enumerate(items) if item.first_fit]
    assert marked == fitting[:1]


def test_combined_advice_when_no_single_change_fits(tmp_path: Path) -> None:
    # Full fine-tuning of the 0.5B shape, batch 8 × 2048, on 5.6 GiB: checkpointing alone
    # needs ~6.8 GiB, max length 128 ~5.8 GiB; checkpointing with micro-batch 1 ~5.2 GiB.
    info, config, _, _ = too_big(tmp_path, method="full")
    target = target_with_memory(5.6)
    items = advise(info, config, target, estimate_training(info, config, target))
    assert not any(i.fits for i in items if i.key not in ("combined", "smaller_model"))
    combined = next(i for i in items if i.key == "combined")
    assert combined.fits and combined.first_fit
    assert combined.changes["gradient_checkpointing"] and combined.changes["batch_size"] == 1


def test_shorter_length_counts_truncated_rows(tmp_path: Path) -> None:
    info, config, target, current = too_big(tmp_path)
    lengths = [100] * 90 + [1500] * 10
    items = advise(info, config, target, current, lengths=lengths)
    shorter = next(i for i in items if i.key == "max_length")
    assert "of 100 examples" in shorter.why


def test_no_advice_when_it_fits_but_room_for_a_larger_batch(tmp_path: Path) -> None:
    info = info_from(QWEN2_05B, tmp_path / "m")
    config = run(batch_size=2, max_length=512, gradient_checkpointing=True)
    target = target_with_memory(80)
    current = estimate_training(info, config, target)
    assert current.fits
    assert advise(info, config, target, current) == []
    room = larger_batch(info, config, target, current)
    assert room is not None and room.changes["batch_size"] > 2
    assert room.estimate is not None and room.estimate.fits
    bigger = apply_changes(config, {"batch_size": room.changes["batch_size"] + 1})
    assert not estimate_training(info, bigger, target).fits
    few_rows = larger_batch(info, config, target, current, rows=6)
    assert few_rows is not None and few_rows.changes["batch_size"] == 6  # a batch holds no more


def test_apply_changes_copies_and_sets_dotted_keys() -> None:
    config = run()
    changed = apply_changes(config, {"lora.rank": 4, "batch_size": 1})
    assert (changed.lora.rank, changed.batch_size) == (4, 1)
    assert (config.lora.rank, config.batch_size) == (16, 4)


# --- the command ------------------------------------------------------------------------------


@pytest.fixture
def model_json(tmp_path: Path) -> Path:
    path = tmp_path / "qwen" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(QWEN2_05B), encoding="utf-8")
    return path


@pytest.fixture
def no_gpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = json.loads((FIXTURES / "fake_gpu_2xh100.json").read_text(encoding="utf-8"))
    snapshot |= {"state": "no-gpu", "gpus": [], "message": "no NVIDIA GPU found"}
    path = tmp_path / "no_gpu.json"
    path.write_text(json.dumps(snapshot), encoding="utf-8")
    monkeypatch.setenv(FAKE_GPU_ENV, str(path))


def estimate_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["estimate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_human_output_has_table_verdict_and_advice(
    model_json: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--model", str(model_json), "--batch-size", "8", "--max-length", "2048")
    code, out, _ = estimate_cli(capsys, *args, "--gpu-memory", "16")
    assert code == 0
    for text in ("Model weights", "Activations", "CUDA context", "Share", "Total"):
        assert text in out
    assert "Does not fit: needs about" in out
    assert "To make it fit" in out and "← first change that fits" in out


def test_cli_json(model_json: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--model", str(model_json), "--method", "qlora", "--lora-rank", "8")
    code, out, _ = estimate_cli(capsys, *args, "--gpu-memory", "24", "--json")
    data = json.loads(out)
    assert code == 0
    assert {"peak_gib", "required_gib", "available_gib", "fits", "terms", "advice"} <= set(data)
    assert data["fits"] is True and data["available_gib"] == 24.0
    assert data["required_gib"] > data["peak_gib"] > 0
    # Each figure is rounded to 3 decimals: the sum may miss by half a unit per figure.
    rounding = 0.0005 * (len(data["terms"]) + 1)
    assert sum(data["terms"].values()) == pytest.approx(data["required_gib"], abs=rounding)
    assert data["advice"] == []
    # The band: low ≤ point ≤ high, each the sum of its terms' own figures.
    assert data["required_low_gib"] <= data["required_gib"] < data["required_high_gib"]
    assert data["peak_low_gib"] <= data["peak_gib"] < data["peak_high_gib"]
    highs = sum(high for _, high in data["terms_band"].values())
    assert highs == pytest.approx(data["required_high_gib"], abs=rounding)


def test_cli_without_gpu_estimates_against_ram(
    model_json: Path, no_gpu: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = estimate_cli(capsys, "--model", str(model_json), "--max-length", "256")
    assert code == 0
    assert "estimating against the system RAM" in out
    assert "fp32 (auto: the CPU trains in fp32)" in out


def test_cli_picks_the_gpu_by_index_from_the_probe(
    model_json: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(FAKE_GPU_ENV, str(FIXTURES / "fake_gpu_2xh100.json"))
    code, out, _ = estimate_cli(capsys, "--model", str(model_json), "--gpu", "1", "--json")
    data = json.loads(out)
    assert data["target"].startswith("GPU 1 (NVIDIA H100")
    assert data["available_gib"] == round(42017488896 / GIB, 3)
    code, _, err = estimate_cli(capsys, "--model", str(model_json), "--gpu", "7")
    assert code == 1 and "there is no GPU 7" in err


def test_cli_takes_a_bare_config_json_under_any_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "qwen2-0.5b.json"
    path.write_text(json.dumps(QWEN2_05B), encoding="utf-8")
    code, out, _ = estimate_cli(capsys, "--model", str(path), "--gpu-memory", "80", "--json")
    assert code == 0 and json.loads(out)["model"] == "qwen2-0.5b"


def test_cli_config_file_with_overrides(
    tmp_path: Path, model_json: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_yaml = tmp_path / "run.yaml"
    run_yaml.write_text(f"model: {model_json}\nmethod: full\nbatch_size: 2\n", encoding="utf-8")
    args = ("--config", str(run_yaml), "--method", "lora", "--lora-targets", "q_proj", "v_proj")
    code, out, _ = estimate_cli(capsys, *args, "--gpu-memory", "80", "--json")
    data = json.loads(out)
    assert code == 0 and data["method"] == "lora"
    adapter = next(t for t in data["breakdown"] if t["key"] == "adapter")
    assert adapter["detail"].startswith("1,081,344 params (r=16 on 2 linears")


def test_cli_rejects_a_bad_option_with_a_sentence(
    model_json: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:  # refused by the parser, before any work
        estimate_cli(capsys, "--model", str(model_json), "--batch-size", "0")
    assert exit_.value.code == 2
    assert (
        "--batch-size: must be a whole number of at least 1 (it is 0)." in capsys.readouterr().err
    )
