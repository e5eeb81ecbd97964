"""Will it fit? The peak memory of a training run (and of the A/B chat), worked out before
anything is loaded: pure arithmetic on a ModelInfo, a RunConfig and where the run will train.

Precision policy (tui_ft/engine/train/setup.py follows it; the estimate assumes it):

- `auto` is bf16 on a CUDA GPU that computes in bf16 (compute capability 8.0 or newer), fp16
  on an older GPU, and fp32 on the CPU (QLoRA included: bitsandbytes computes in fp32 there).
- bf16: weights are loaded in bf16. Full fine-tuning trains them in bf16 (gradients and AdamW
  states in bf16 too: fused AdamW keeps states in the parameter dtype). LoRA adapters stay
  fp32, as PEFT's `autocast_adapter_dtype=True` default leaves them; QLoRA adapters are bf16,
  as TRL's SFTTrainer casts them (DoRA's magnitude vector stays fp32). Activations are 16-bit
  under autocast.
- fp16: full fine-tuning keeps fp32 master weights (the grad scaler cannot unscale fp16
  gradients) plus autocast's fp16 copies of the linear weights; LoRA keeps the frozen base in
  fp16 and the adapters in fp32.
- fp32: everything fp32, no autocast.

The peak is taken over three moments of a steady-state step (optimizer states exist from the
first step on): the loss head's backward (all activations saved, the loss buffers at their
largest), a decoder block's backward (activations, one rebuilt block under checkpointing,
gradient buffers, QLoRA's dequantized weight) and the optimizer step (every gradient); a loop
that holds the model's output adds the end of the next forward, beside the previous
micro-batch's leftovers (`stale`). `peak_bytes` is what torch's caching
allocator would reserve (`torch.cuda.max_memory_reserved`); `required_bytes` adds what only
NVML sees (the CUDA context, paged optimizer states) and is compared with NVML's free memory,
or, without a GPU, with the RAM available (plus Python and the libraries instead of a context).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError
from tui_ft.core.estimate.activations import (
    ATTENTION,
    LOSSES,
    Activations,
    Workload,
    activations,
    kept_logits_path,
)
from tui_ft.core.estimate.batching import flash_attention_installed, uses_padding_free
from tui_ft.core.estimate.calibration import (
    ALLOCATOR_RESERVE,
    ALLOCATOR_RESERVE_HIGH,
    ALLOCATOR_RESERVE_LOW,
    CPU_RUNTIME,
    CPU_RUNTIME_HIGH,
    CPU_RUNTIME_LOW,
    CUBLAS_WORKSPACE,
    CUBLAS_WORKSPACE_HIGH,
    CUDA_CONTEXT,
    CUDA_CONTEXT_HIGH,
    CUDA_CONTEXT_LOW,
    UNCERTAINTY,
)
from tui_ft.core.estimate.shapes import (
    LoraShape,
    block_linears,
    full_tensors,
    kv_cache_bytes,
    lora_shape,
)
from tui_ft.core.hardware.snapshot import HardwareSnapshot
from tui_ft.core.methods import Method, method_named
from tui_ft.core.models.info import ModelInfo
from tui_ft.core.objectives import objective_named
from tui_ft.core.objectives.spec import MemoryNeeds
from tui_ft.core.units import format_bytes

GIB = 1024**3
MIB = 1024**2
NF4_BLOCK = 64  # bitsandbytes 4-bit: one absmax per 64 weights
NF4_NESTED_BLOCK = 256  # double quantization: the absmaxes in 8 bits, one fp32 per 256 of them
NF4_STATE_PER_TENSOR = 1024 + 64  # the fp32 code table and the quant state's scalars
OPTIMIZER_8BIT_MIN = 4096  # bitsandbytes keeps tensors smaller than this in 32-bit states
OPTIMIZER_8BIT_BLOCK = 256


@dataclass(frozen=True)
class Target:
    """Where the run trains. `available`: bytes free for it (NVML free memory, or the RAM
    available without a GPU); None when unknown."""

    device: str  # "cuda" | "cpu"
    bf16: bool
    available: int | None
    name: str
    total: int | None = None
    index: int | None = None


@dataclass(frozen=True)
class EstimateOptions:
    """How the trainer runs, beyond the RunConfig. Defaults: TRL's SFTTrainer (fused LM head),
    SDPA attention, padding-free batches (docs/architecture.md)."""

    attention: str = "sdpa"  # sdpa | eager | flash (flash-attention 2)
    # trainer (tui-ft's: TRL's fused head, or the kept positions' logits off CUDA where the
    # objective scores them so) | fused (TRL) | unfused (transformers' own) | chunked (LitGPT)
    loss: str = "trainer"
    padding_free: bool = True
    # The longest tokenized row, when the data is known: no micro-batch row is longer, so a
    # max_length far above the data's rows does not count (the demo's rows are ~100 tokens).
    longest_row: int | None = None
    # Other trainers, for the published measurements (docs/estimate-accuracy.md): 16-bit
    # weights without autocast (LitGPT's bf16-true, a plain loop without AMP), and LoRA
    # adapters in the compute dtype rather than PEFT's fp32.
    autocast: bool = True
    adapters_in_compute_dtype: bool = False
    logits_held: bool = False
    old_bitsandbytes: bool = False  # 4-bit linears keep their inputs (bitsandbytes before 0.43.2)
    # LitGPT's loader (Lightning's BitsandbytesPrecision) swaps every nn.Linear for a 4-bit one,
    # the LM head's included, and quantizes from fp16 while computing in bf16: each use of a
    # 4-bit weight dequantizes it to fp16 and casts that copy. transformers keeps the head in
    # 16 bits and quantizes from the compute dtype, so its dequantized copy needs no cast.
    head_quantized: bool = False
    dequant_cast: bool = False
    # torch's AdamW: "fused" (tui-ft on a GPU: in place) or "foreach" (torch's default, which
    # builds the square roots of all second moments at once: one more state-sized buffer).
    adamw: str = "fused"

    def __post_init__(self) -> None:
        if self.attention not in ATTENTION:
            raise ValueError(f"attention must be one of {ATTENTION}")
        if self.loss not in (*LOSSES, "trainer"):
            raise ValueError(f"loss must be trainer or one of {LOSSES}")
        if self.adamw not in ("fused", "foreach"):
            raise ValueError("adamw must be fused or foreach")


@dataclass(frozen=True)
class Precision:
    name: str  # "bf16" | "fp16" | "fp32"
    compute: int  # bytes per activation element
    base: int  # bytes per unquantized model weight
    trainable: int  # bytes per trained parameter; its gradient and AdamW states match it
    autocast_copies: int  # bytes per linear weight autocast keeps a 16-bit copy of
    reason: str


@dataclass(frozen=True)
class Term:
    key: str
    label: str
    bytes: int
    detail: str
    outside_torch: bool = False  # counted against NVML free memory, not in torch's reserved
    # The band: what the term may be at least and at most (None: exactly `bytes`).
    low: int | None = None
    high: int | None = None

    @property
    def band(self) -> tuple[int, int]:
        low = self.bytes if self.low is None else self.low
        high = self.bytes if self.high is None else self.high
        return low, high


@dataclass(frozen=True)
class Estimate:
    """`peak_bytes` and `required_bytes` are the point figures; `*_low_bytes` and
    `*_high_bytes` the band around them. Whether the run fits is judged on the high figure."""

    terms: tuple[Term, ...]
    peak_bytes: int
    required_bytes: int
    target: Target
    precision: Precision
    phase: str  # the moment of the step where the peak falls
    activations: Activations | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def available_bytes(self) -> int | None:
        return self.target.available

    @property
    def peak_low_bytes(self) -> int:
        return sum(t.band[0] for t in self.terms if not t.outside_torch)

    @property
    def peak_high_bytes(self) -> int:
        return sum(t.band[1] for t in self.terms if not t.outside_torch)

    @property
    def required_low_bytes(self) -> int:
        return sum(t.band[0] for t in self.terms)

    @property
    def required_high_bytes(self) -> int:
        return sum(t.band[1] for t in self.terms)

    @property
    def fits(self) -> bool | None:
        if self.target.available is None:
            return None
        return self.required_high_bytes <= self.target.available

    @property
    def headroom_bytes(self) -> int | None:
        if self.target.available is None:
            return None
        return self.target.available - self.required_high_bytes

    def term(self, key: str) -> int:
        return sum(t.bytes for t in self.terms if t.key == key)

    def verdict(self) -> str:
        """One sentence a person can act on, never colour alone."""
        need = format_bytes(self.required_bytes)
        if self.required_high_bytes > self.required_bytes:
            need += f" (up to {format_bytes(self.required_high_bytes)})"
        where = self.target.name
        if self.fits is None:
            return f"Needs about {need}; the free memory of {where} is unknown."
        free = format_bytes(self.target.available)
        if self.fits:
            return f"Fits: needs about {need} of the {free} free on {where}."
        return f"Does not fit: needs about {need}, but only {free} is free on {where}."


# --- where the run trains -------------------------------------------------------------------


def target_with_memory(gib: float) -> Target:
    """A GPU of a stated size (bf16-capable), for planning on a machine without it."""
    size = int(gib * GIB)
    return Target("cuda", True, size, f"a GPU with {gib:g} GiB", total=size)


def target_from_snapshot(snapshot: HardwareSnapshot, gpu: int | None = None) -> Target:
    """The GPU to estimate against, by index or else the one with the most free memory;
    without a GPU, the CPU and its available RAM."""
    if not snapshot.has_gpu:
        if gpu is not None:
            raise UserError(f"there is no GPU {gpu}: {snapshot.message}.", snapshot.hint)
        host = snapshot.host
        return Target("cpu", True, host.ram_available, "the CPU (RAM)", host.ram_total)
    gpus = {g.index: g for g in snapshot.gpus}
    if gpu is None:
        chosen = max(snapshot.gpus, key=lambda g: g.memory_free or 0)
    elif gpu in gpus:
        chosen = gpus[gpu]
    else:
        have = ", ".join(str(i) for i in sorted(gpus))
        raise UserError(f"there is no GPU {gpu}.", f"This machine's GPUs are numbered {have}.")
    capability = chosen.compute_capability
    return Target(
        device="cuda",
        bf16=capability is None or capability >= (8, 0),
        available=chosen.memory_free,
        name=f"GPU {chosen.index} ({chosen.name or 'unknown'})",
        total=chosen.memory_total,
        index=chosen.index,
    )


def resolve_precision(requested: str, method: Method, target: Target) -> Precision:
    """The dtypes the trainer will use; see the module docstring for the policy."""
    name, reason = requested, "as configured"
    if requested == "auto":
        if target.device != "cuda":
            name, reason = "fp32", "auto: the CPU trains in fp32"
        elif target.bf16:
            name, reason = "bf16", "auto: the GPU computes in bf16"
        else:
            name, reason = "fp16", "auto: this GPU has no bf16"
    if name == "fp32":
        adapter = 2 if method.quantized else 4  # TRL casts QLoRA adapters to bf16 regardless
        return Precision("fp32", 4, 4, 4 if method.trains_base else adapter, 0, reason)
    if method.trains_base:
        if name == "fp16":
            return Precision("fp16", 2, 4, 4, 2, reason)  # fp32 master weights + fp16 copies
        return Precision(name, 2, 2, 2, 0, reason)
    return Precision(name, 2, 2, 2 if method.quantized else 4, 0, reason)


# --- the training estimate ------------------------------------------------------------------


def estimate_training(
    info: ModelInfo,
    config: RunConfig,
    target: Target,
    options: EstimateOptions | None = None,
) -> Estimate:
    options = options or EstimateOptions()
    if options.attention == "flash" and target.device != "cuda":
        options = replace(options, attention="sdpa")  # flash-attention runs on CUDA only
    method = method_named(config.method)
    needs = objective_named(config.objective).memory(config.objective_settings)
    precision = resolve_precision(config.precision, method, target)
    if options.adapters_in_compute_dtype and method.adapter:
        precision = replace(precision, trainable=precision.compute)
    lora = None
    if method.adapter:
        lora = lora_shape(info, config.lora.rank, config.lora.targets, config.lora.dora)
    batch_size = config.batch_size * needs.sequences_per_row
    seq_len = row_tokens(config, options, needs.generated_tokens)
    loss = options.loss
    if loss == "trainer":
        kept = kept_logits_path(batch_size * seq_len, info.vocab_size, target.device)
        # Plain cross-entropy of the kept positions' logits, or TRL's tiles.
        loss = "unfused" if needs.kept_logits and kept else "fused"
    work = Workload(
        batch_size=batch_size,
        seq_len=seq_len,
        compute_bytes=precision.compute,
        train_base=method.trains_base,
        lora=lora,
        adapter_bytes=precision.trainable,
        lora_dropout=config.lora.dropout,
        gradient_checkpointing=config.gradient_checkpointing,
        attention=options.attention,
        loss=loss,
        padding_free=options.padding_free,
        device=target.device,
        mixed=options.autocast,
        logits_held=options.logits_held,
        quantized_inputs=options.old_bitsandbytes and method.quantized,
        head_quantized=options.head_quantized and method.quantized,
    )
    acts = activations(info, work, head_trainable=method.trains_base)
    fixed = _fixed_terms(info, config, precision, lora, work.head_quantized)
    if needs.reference_model and method.trains_base:
        weights = weights_term(info, config, precision)
        fixed.append(Term("reference", "Reference model", weights.bytes, "frozen copy of the base"))
    notes = _notes(info, work)
    if needs.engine_share and target.device == "cuda" and target.total:
        fixed.append(_engine_term(needs.engine_share, target.total))
    elif needs.generated_tokens:
        fixed.append(_generation_term(info, config, work, needs))
        if needs.engine_share:
            why = (
                "vLLM generation runs on an NVIDIA GPU only"
                if target.device != "cuda"
                else "vLLM takes a share of the GPU's total memory, which is unknown here"
            )
            notes.append(f"{why}: this estimate counts transformers generation's cache instead.")
    moments = _moments(info, config, precision, lora, acts, work)
    if method.quantized:
        _add_dequantized(moments, info, precision, work, options.dequant_cast)
    if options.adamw == "foreach" and config.optimizer == "adamw":
        # torch.optim.adam._multi_tensor_adam: exp_avg_sq_sqrt = torch._foreach_sqrt(...)
        step = _trained_bytes(info, lora, precision)
        moments["optimizer step"].append(
            Term("step", "Optimizer step buffers", step, "foreach AdamW's square roots")
        )
    phase, moment = max(moments.items(), key=lambda item: sum(t.bytes for t in item[1]))
    return assemble(fixed + moment, target, precision, phase, acts, notes)


def run_options(config: RunConfig, longest_row: int | None = None) -> EstimateOptions:
    """How the trainer will run this config (padding-free or not, as tui_ft.core.estimate.batching
    decides; flash-attention where it is installed, as engine/model_loading.py loads the model),
    with the data's longest row when all its lengths are known."""
    flash = flash_attention_installed()
    return EstimateOptions(
        attention="flash" if flash else "sdpa",
        padding_free=uses_padding_free(config, flash_attention=flash),
        longest_row=longest_row,
    )


def row_tokens(config: RunConfig, options: EstimateOptions, generated: int = 0) -> int:
    """Tokens per row of the largest micro-batch: max_length, or the data's longest row; plus
    the tokens an objective generates after each prompt (grpo: max_completion_length), which
    the data's rows already count."""
    if options.longest_row is None:
        return config.max_length + generated
    return max(1, min(config.max_length + generated, options.longest_row))


def _generation_term(
    info: ModelInfo, config: RunConfig, work: Workload, needs: MemoryNeeds
) -> Term:
    """The KV cache of sampling the batch's completions (grpo), counted on top of the step:
    `generate` frees it before the step, but the allocator may keep its blocks reserved."""
    group = needs.sequences_per_row
    detail = (
        f"{work.batch_size} sequences ({config.batch_size} prompts × {group}) × "
        f"{work.seq_len:,} tokens (prompt + {needs.generated_tokens} generated), "
        f"{_dtype(work.compute_bytes)}"
    )
    size = kv_cache_bytes(info, work.seq_len, work.batch_size, work.compute_bytes)
    return Term("generation", "Generation KV cache", size, detail)


def _engine_term(share: float, total: int) -> Term:
    """vLLM colocated (grpo, `generation: vllm`): at its start it takes `share` of the GPU's
    total memory for its copy of the weights, its activations and its KV cache, and holds it
    (no sleep mode). One block taken once: no allocator reserve on it, and counted in what has
    to be free rather than in torch's peak (whether torch's reserved figure sees it depends on
    vLLM's allocator)."""
    detail = (
        f"vllm_gpu_memory_utilization {share:g} × {format_bytes(total)}: its copy of the weights "
        "and its KV cache, taken at start"
    )
    return Term("vllm", "vLLM (colocated)", int(share * total), detail, outside_torch=True)


def _fixed_terms(
    info: ModelInfo,
    config: RunConfig,
    precision: Precision,
    lora: LoraShape | None,
    head_quantized: bool,
) -> list[Term]:
    terms = [weights_term(info, config, precision, head_quantized)]
    if lora is not None:
        size = _trained_bytes(info, lora, precision)
        what = "DoRA" if lora.dora else "LoRA"
        terms.append(
            Term(
                "adapter",
                f"{what} adapter",
                size,
                f"{lora.total:,} params (r={lora.rank} on {len(lora.targets)} linears × "
                f"{lora.num_layers} blocks), {_dtype(precision.trainable)}",
            )
        )
    terms.append(_optimizer(info, config, precision, lora))
    return terms


def weights_term(
    info: ModelInfo, config: RunConfig, precision: Precision, head_quantized: bool = False
) -> Term:
    """`head_quantized`: an untied LM head in 4 bits too (LitGPT's loader)."""
    params = info.params
    if method_named(config.method).quantized:
        per_weight = nf4_bytes_per_param(config.qlora.double_quant)
        head = (
            info.vocab_size * info.hidden_size if head_quantized and not info.tied_embeddings else 0
        )
        linear = params.linear + head
        tensors = len(block_linears(info)) * info.num_layers + (1 if head else 0)
        quantized = math.ceil(linear * per_weight) + tensors * NF4_STATE_PER_TENSOR
        rest = (params.embedding - head + params.other) * precision.base
        double = " + double quant" if config.qlora.double_quant else ""
        detail = (
            f"{linear:,} linear weights in 4-bit {config.qlora.quant_type}{double} "
            f"({per_weight:.3f} B each); embeddings, norms"
            f"{'' if head else ' and lm_head'} in {_dtype(precision.base)}"
        )
        return Term("weights", "Model weights", quantized + rest, detail)
    size = params.total * precision.base
    detail = f"{params.total:,} params in {_dtype(precision.base)}"
    if precision.autocast_copies:
        size += params.linear * precision.autocast_copies
        detail += f" + fp16 copies of {params.linear:,} linear weights for autocast"
    return Term("weights", "Model weights", size, detail)


def nf4_bytes_per_param(double_quant: bool) -> float:
    """4 bits per weight plus its share of the block scales."""
    if double_quant:
        return 0.5 + 1 / NF4_BLOCK + 4 / (NF4_BLOCK * NF4_NESTED_BLOCK)
    return 0.5 + 4 / NF4_BLOCK


def _trainable_tensors(info: ModelInfo, lora: LoraShape | None) -> list[int]:
    return lora.tensors() if lora is not None else full_tensors(info)


def _trained_bytes(info: ModelInfo, lora: LoraShape | None, precision: Precision) -> int:
    """Bytes of the trained parameters; also of their gradients, and of each AdamW state."""
    if lora is None:
        return info.params.total * precision.trainable
    magnitude = lora.magnitude_params()  # DoRA's magnitude vectors stay fp32
    return (lora.total - magnitude) * precision.trainable + magnitude * 4


def _optimizer(
    info: ModelInfo, config: RunConfig, precision: Precision, lora: LoraShape | None
) -> Term:
    tensors = _trainable_tensors(info, lora)
    count = sum(tensors)
    name = config.optimizer
    if name in ("adamw_8bit", "paged_adamw_8bit"):
        big = [n for n in tensors if n >= OPTIMIZER_8BIT_MIN]
        small = count - sum(big)
        size = sum(2 * n + 2 * 4 * math.ceil(n / OPTIMIZER_8BIT_BLOCK) for n in big) + 8 * small
        detail = f"2 × 8-bit states for {count:,} params (tensors under 4096 in fp32)"
        if name == "paged_adamw_8bit":
            detail += "; paged: in unified memory, seen by NVML, not in torch's reserved"
            return Term("optimizer", "Optimizer states (paged)", size, detail, outside_torch=True)
        return Term("optimizer", "Optimizer states", size, detail)
    if name == "adafactor":
        # Factored second moment: a row and a column vector per matrix.
        size = sum(2 * math.isqrt(n) for n in tensors) * precision.trainable
        return Term("optimizer", "Optimizer states", size, "Adafactor factored moments")
    if name == "sgd":
        return Term("optimizer", "Optimizer states", 0, "plain SGD keeps no state")
    size = 2 * _trained_bytes(info, lora, precision)
    detail = f"AdamW: 2 states × {count:,} params in {_dtype(precision.trainable)}"
    return Term("optimizer", "Optimizer states", size, detail)


def _moments(
    info: ModelInfo,
    config: RunConfig,
    precision: Precision,
    lora: LoraShape | None,
    acts: Activations,
    work: Workload,
) -> dict[str, list[Term]]:
    tokens, loss = work.tokens, work.loss
    grad_count = sum(_trainable_tensors(info, lora))
    all_grads = _trained_bytes(info, lora, precision)
    # Without accumulation a full fine-tune's backward starts with only the head's gradient.
    early = all_grads
    if method_named(config.method).trains_base and config.grad_accum == 1:
        early = info.vocab_size * info.hidden_size * precision.trainable
    kept = acts.blocks + acts.shared + acts.outside
    ckpt = " (checkpoints)" if config.gradient_checkpointing else ""
    grads_all = Term("gradients", "Gradients", all_grads, f"{grad_count:,} trained params")
    grads_early = Term("gradients", "Gradients", early, "those computed so far")
    kept_term = Term("activations", "Activations" + ckpt, kept, _per_token(kept, tokens))
    mask = Term("attention", "Attention mask", acts.mask, "SDPA's mask and each block's bias")
    return {
        "loss backward": [
            kept_term,
            mask,
            Term("logits", "Logits and loss", acts.loss_saved + acts.loss_peak, LOSS_DETAIL[loss]),
            grads_early,
        ],
        "block backward": [
            kept_term,
            mask,
            Term("recompute", "Rebuilt block", acts.recompute, "gradient checkpointing"),
            Term("backward", "Backward buffers", acts.backward, "gradients of activations"),
            grads_early,
        ],
        "optimizer step": [grads_all],
    } | _next_forward(acts, kept_term, mask, grads_early)


def _next_forward(acts: Activations, kept: Term, mask: Term, grads: Term) -> dict[str, list[Term]]:
    """A loop that holds the model's output runs the next micro-batch's forward beside the
    previous one's leftovers (activations.py, `stale`); the moment is the end of that forward."""
    if not acts.stale:
        return {}
    return {
        "next forward": [
            kept,
            mask,
            Term("stale", "Previous micro-batch", acts.stale, "held output and 4-bit inputs"),
            Term("logits", "Logits", acts.output, "held by the loop, the loss not run yet"),
            grads,
        ]
    }


def _add_dequantized(
    moments: dict[str, list[Term]],
    info: ModelInfo,
    precision: Precision,
    work: Workload,
    cast: bool,
) -> None:
    """bitsandbytes multiplies by a 4-bit weight by dequantizing it whole, in the dtype it was
    quantized from (the weights' dtype: `precision.base`), cast to the compute dtype when that
    differs (`cast`): in every backward (MatMul4Bit.backward), and in the forward too beyond
    1536 tokens. A block's backward holds its largest linear's copy for one matmul; a 4-bit
    head's copy is there while the loss head runs, backward and forward."""
    size = precision.base + (precision.compute if cast else 0)
    largest = max(linear.numel for linear in block_linears(info))
    moments["block backward"].append(
        Term("dequant", "Dequantized 4-bit weight", size * largest, "one block linear")
    )
    if work.head_quantized:
        head = Term(
            "dequant",
            "Dequantized 4-bit weight",
            size * info.vocab_size * info.hidden_size,
            "the LM head",
        )
        for phase in ("loss backward", "next forward"):
            if phase in moments:
                moments[phase].append(head)


def _per_token(size: int, tokens: int) -> str:
    return f"{size / tokens / 1024:.1f} KiB/token × {tokens:,} tokens"


def assemble(
    terms: list[Term],
    target: Target,
    precision: Precision,
    phase: str,
    acts: Activations | None,
    notes: list[str],
) -> Estimate:
    """The terms with their bands, the library workspaces, the allocator's reserve and what
    only NVML sees (core/estimate/calibration.py gives the figures and their sources)."""
    terms = [_banded(t) for t in terms if t.bytes > 0 or t.key in ("weights", "activations")]
    if target.device == "cuda":
        terms.append(
            Term(
                "workspace",
                "cuBLAS workspace",
                CUBLAS_WORKSPACE,
                "in torch's allocator",
                high=CUBLAS_WORKSPACE_HIGH,
            )
        )
    allocated = [t for t in terms if not t.outside_torch]
    total = sum(t.bytes for t in allocated)
    low = sum(t.band[0] for t in allocated)
    high = sum(t.band[1] for t in allocated)
    terms.append(
        Term(
            "slack",
            "Allocator reserve",
            int(total * ALLOCATOR_RESERVE),
            "reserved over allocated: block rounding, fragmentation",
            low=int(low * ALLOCATOR_RESERVE_LOW),
            high=int(high * ALLOCATOR_RESERVE_HIGH),
        )
    )
    if target.device == "cuda":
        terms.append(
            Term(
                "context",
                "CUDA context",
                CUDA_CONTEXT,
                "driver + kernels",
                True,
                CUDA_CONTEXT_LOW,
                CUDA_CONTEXT_HIGH,
            )
        )
    else:
        terms.append(
            Term(
                "context",
                "Python and libraries",
                CPU_RUNTIME,
                "resident",
                True,
                CPU_RUNTIME_LOW,
                CPU_RUNTIME_HIGH,
            )
        )
    peak = sum(t.bytes for t in terms if not t.outside_torch)
    required = sum(t.bytes for t in terms)
    return Estimate(tuple(terms), peak, required, target, precision, phase, acts, tuple(notes))


def _banded(term: Term) -> Term:
    if term.low is not None or term.high is not None:
        return term
    low, high = UNCERTAINTY.get(term.key, (1.0, 1.0))
    return replace(term, low=int(term.bytes * low), high=math.ceil(term.bytes * high))


LOSS_DETAIL = {
    "fused": "TRL's fused LM head: one token × vocabulary tile, no logits",
    "unfused": "fp32 log-probabilities and their gradients: ~12 B per token × vocabulary",
    "chunked": "16-bit logits and log-probabilities, one chunk's gradients",
}


def _notes(info: ModelInfo, work: Workload) -> list[str]:
    notes = []
    if work.packed_mask and work.attention == "sdpa":
        notes.append(
            "Padding-free batches with SDPA attention keep a dense token×token mask per block; "
            "flash-attention would avoid it."
        )
    if info.num_experts:
        notes.append("Mixture-of-experts model: expert layers are estimated roughly.")
    if info.quantization:
        notes.append(
            f"The checkpoint is pre-quantized ({info.quantization}); the estimate counts its "
            "weights at the run's precision."
        )
    return notes


def _dtype(size: int) -> str:
    return {2: "16-bit", 4: "fp32"}.get(size, f"{size} bytes")
