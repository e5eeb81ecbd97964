"""Activation memory of one training micro-batch: what autograd saves for the backward pass, per
decoder block, and the loss head's buffers.

The per-token constants come from reading what each op saves (autograd keeps only what a
gradient needs: a frozen linear keeps no copy of its input) and are checked against
`torch.autograd.graph.saved_tensors_hooks` on tiny Llama and Qwen2 models
(tests/test_estimate_calibration.py, `bench/vram_accuracy.py --cpu-calibration`). What they
follow, with transformers 5 / PEFT 0.21 / TRL 1.16:

- RMSNorm upcasts its input to fp32 and keeps that copy (4 bytes/elem even in bf16); a
  trainable norm weight also keeps the normalized 16-bit tensor.
- SDPA keeps q, k, v, its output and an fp32 log-sum-exp per head; eager attention keeps the
  b·heads·s² fp32 probabilities and their 16-bit copy. A batch that needs a mask (padded rows
  of unequal length, or padding-free rows flattened into one) gets a boolean mask shared by all
  blocks (transformers' masking_utils: b × s² or N² bytes), which torch's SDPA converts into a
  16-bit additive bias in every block and keeps for the backward; grouped-query k/v are then
  expanded to all heads (transformers' repeat_kv: native GQA only without a mask).
  flash-attention (`attention="flash"`) needs neither: it attends within each row by their
  lengths and reads grouped k/v as they are.
- PEFT's LoRA casts a block's input to the adapter dtype (fp32 by default) per target, dropout
  keeps its mask (a bool on CUDA, a full float tensor on the CPU), and autocast casts the
  result back to 16-bit for lora_A, which keeps that copy.
- TRL's SFTTrainer projects the LM head in tiles (`fused_lm_head`): no batch × length × vocab
  logits exist, only a 4096-token × 32768-vocab tile. transformers' own loss (`loss="unfused"`,
  ForCausalLMLoss: `logits.float()` then cross-entropy) keeps fp32 log-probabilities of the
  whole batch and needs ~12 bytes per logit at its peak. LitGPT's chunked cross-entropy
  (`loss="chunked"`: the head in 128-token chunks, cross-entropy per chunk without an fp32
  upcast) keeps 16-bit log-probabilities, plus one chunk's gradients at a time. A training
  loop that holds the model's output through the backward (`logits_held`: LitGPT, a plain
  loop) keeps the 16-bit logits too, and drops them only when the next micro-batch's forward
  returns: that forward runs beside the previous output (`stale`), and beside the inputs that
  old bitsandbytes stored on each 4-bit linear's context (plain attributes, which the backward
  does not free, unlike saved tensors). Off CUDA tui-ft's supervised trainer projects only the
  trained positions and scores them with plain cross-entropy (engine/train/kept_logits.py) while
  the batch's logits stay within KEPT_LOGITS_LIMIT: counted as `unfused` over the whole batch
  (its trained positions are not known here; all of them is the bound).
"""

from __future__ import annotations

from dataclasses import dataclass

from tui_ft.core.estimate.shapes import Linear, LoraShape, block_linears
from tui_ft.core.models.info import ModelInfo

FP32 = 4
INDEX = 8  # int64 token ids and labels
# TRL's ChunkedLogProbFunction: tokens per tile and vocabulary columns per tile.
HEAD_TILE_TOKENS = 4096
HEAD_TILE_VOCAB = 32768
# LitGPT's lm_head_chunk_size: rows of each batch row the head projects at a time.
LOSS_CHUNK_TOKENS = 128
ATTENTION = ("sdpa", "eager", "flash")
LOSSES = ("fused", "unfused", "chunked")
# Logits (batch rows × kept positions × vocabulary) up to which the supervised trainer scores
# the trained positions itself off CUDA: 1 GiB in fp32, three such buffers at the loss's peak.
KEPT_LOGITS_LIMIT = 1 << 28


def kept_logits_path(tokens: int, vocab: int, device: str) -> bool:
    """Whether a supervised micro-batch of `tokens` takes engine/train/kept_logits.py's path."""
    return device != "cuda" and tokens * vocab <= KEPT_LOGITS_LIMIT


@dataclass(frozen=True)
class Workload:
    """One micro-batch as the trainer runs it. `compute_bytes` is the activation dtype (2 under
    16-bit autocast, 4 in fp32); `adapter_bytes` the LoRA A/B dtype."""

    batch_size: int
    seq_len: int
    compute_bytes: int
    train_base: bool  # full fine-tuning: base linears and norms keep their inputs
    lora: LoraShape | None = None
    adapter_bytes: int = FP32
    lora_dropout: float = 0.0
    gradient_checkpointing: bool = False
    attention: str = "sdpa"
    loss: str = "fused"
    padding_free: bool = True
    device: str = "cuda"
    # 16-bit compute under autocast (tui-ft, HF Trainer); False: the weights themselves are
    # 16-bit and ops run in their dtype (LitGPT's bf16-true, a loop without AMP), so an fp32
    # adapter casts its input to fp32 itself.
    mixed: bool = True
    # The training loop holds the model's output, its 16-bit logits, through the backward
    # (a plain `outputs = model(...); outputs.loss.backward()`, LitGPT); TRL and HF's Trainer
    # drop it first.
    logits_held: bool = False
    # bitsandbytes' MatMul4Bit before 0.43.2 kept each 4-bit linear's input for the backward
    # (`ctx.tensors = (A, B)`); 0.50 keeps only the packed weight.
    quantized_inputs: bool = False
    # The LM head is a 4-bit linear too (LitGPT's loader); transformers keeps it in 16 bits.
    head_quantized: bool = False

    @property
    def tokens(self) -> int:
        return self.batch_size * self.seq_len

    @property
    def autocast(self) -> bool:
        return self.compute_bytes < FP32 and self.mixed

    @property
    def packed_mask(self) -> bool:
        """Several rows flattened into one: attention needs an explicit block-diagonal mask."""
        return self.padding_free and self.batch_size > 1

    @property
    def masked(self) -> bool:
        """SDPA gets an explicit mask: flattened rows, or padded rows that may differ in
        length (the estimate assumes they do). flash-attention never needs one."""
        return self.attention == "sdpa" and self.batch_size > 1

    @property
    def mask_pairs(self) -> int:
        """Query × key pairs of the mask: N² flattened, b × s² padded."""
        return self.tokens**2 if self.padding_free else self.batch_size * self.seq_len**2


@dataclass(frozen=True)
class Activations:
    """Bytes for the whole micro-batch. `saved` is what autograd holds when the forward ends
    (what saved_tensors_hooks see); the other fields are extra at some moment of the backward."""

    block: int  # one decoder block's saved tensors without checkpointing
    blocks: int  # all blocks at the end of the forward (checkpoints only, with checkpointing)
    shared: int  # rotary tables shared by every block
    mask: int  # attention mask shared by the blocks and the bias each block keeps
    outside: int  # token ids, the final norm
    loss_saved: int
    loss_peak: int  # extra while the loss head runs its backward
    backward: int  # gradient buffers while one block runs its backward
    recompute: int  # one block's activations rebuilt during backward (checkpointing)
    output: int = 0  # the logits (and a 4-bit head's input) a holding loop keeps at forward end
    stale: int = 0  # what the previous micro-batch leaves alive during this one's forward

    @property
    def saved(self) -> int:
        return self.blocks + self.shared + self.mask + self.outside + self.loss_saved


def activations(info: ModelInfo, work: Workload, head_trainable: bool) -> Activations:
    block = _block(info, work, first=False)
    bias = _mask_bias(work)
    layers = info.num_layers
    mask = work.mask_pairs if work.masked else 0  # the boolean mask, one byte per pair
    if work.gradient_checkpointing:
        # Each block keeps only its input (non-reentrant checkpointing, transformers'
        # GradientCheckpointingLayer); one block is rebuilt, its bias with it.
        blocks = layers * work.tokens * work.compute_bytes * info.hidden_size
        recompute = block + bias
    else:
        blocks, recompute = (layers - 1) * block + _block(info, work, first=True), 0
        mask += layers * bias
    return Activations(
        block=block + bias,
        blocks=blocks,
        shared=_shared(info, work),
        mask=mask,
        outside=_outside(info, work),
        loss_saved=_loss_saved(info, work),
        loss_peak=_loss_peak(info, work, head_trainable),
        backward=_backward_buffers(info, work),
        recompute=recompute,
        output=_held_output(info, work),
        stale=_stale(info, work),
    )


def _block(info: ModelInfo, work: Workload, first: bool) -> int:
    """Saved bytes of one decoder block. `first`: the block right after the embedding, whose
    input needs no gradient under LoRA (so its first norm and some dropout masks keep nothing)."""
    frozen_input = first and not work.train_base and not work.gradient_checkpointing
    per_token = (
        (0 if frozen_input else _norm(info, work))
        + _norm(info, work)
        + _attention(info, work)
        + _mlp(info, work)
        + _group_inputs(info, work)
        + _lora(info, work, frozen_input)
    )
    return per_token * work.tokens + _per_block_constant(info, work)


def _norm(info: ModelInfo, work: Workload) -> int:
    h, a = info.hidden_size, work.compute_bytes
    if info.model_type in ("gpt2", "phi"):
        return a * h + 2 * FP32  # LayerNorm keeps its input, mean and rstd
    # RMSNorm: the fp32 copy of the input, rsqrt per token; a trainable weight adds the
    # normalized tensor in the input dtype.
    return FP32 * h + FP32 + (a * h if work.train_base else 0)


def _attention(info: ModelInfo, work: Workload) -> int:
    a = work.compute_bytes
    q_dim = info.num_heads * info.head_dim
    kv_dim = info.num_kv_heads * info.head_dim
    if work.attention == "eager":
        keys = work.tokens if work.padding_free else work.seq_len
        probs = info.num_heads * keys * (FP32 + (a if a < FP32 else 0))
        return a * 3 * q_dim + probs  # q, expanded k and v, softmax output and its cast
    expanded = work.masked and kv_dim < q_dim  # masked SDPA cannot use native GQA
    kv = q_dim if expanded else kv_dim
    return a * (2 * q_dim + 2 * kv) + FP32 * info.num_heads  # q, k, v, output, log-sum-exp


def _mlp(info: ModelInfo, work: Workload) -> int:
    a, i = work.compute_bytes, info.intermediate_size
    # Gated: gate output (for the activation), activation and up outputs (for their product).
    # GPT-2/Phi's tanh GELU keeps about as much (not calibrated).
    return 3 * a * i


def _group_inputs(info: ModelInfo, work: Workload) -> int:
    """Inputs of the block's linears, kept once per input however many linears read it: by a
    trainable base linear, or by a LoRA path that works on the input itself (no cast, no
    dropout). SDPA's output, which o_proj reads, is already counted with attention."""
    widths = {"attn_in": info.hidden_size, "mlp_in": info.hidden_size}
    widths["attn_out"] = info.num_heads * info.head_dim
    widths["mlp_mid"] = info.intermediate_size
    kept = set()
    for linear in block_linears(info):
        adapter_keeps = _lora_keeps_input(work) and _is_target(work, linear)
        if work.train_base or work.quantized_inputs or adapter_keeps:
            kept.add(linear.reads)
    if work.attention != "eager":
        kept.discard("attn_out")  # the attention output's own storage, reshaped as a view
    return work.compute_bytes * sum(widths[group] for group in kept)


def _input_widths(info: ModelInfo) -> dict[str, int]:
    """Elements per token of each tensor a block's linears read."""
    return {
        "attn_in": info.hidden_size,
        "attn_out": info.num_heads * info.head_dim,
        "mlp_in": info.hidden_size,
        "mlp_mid": info.intermediate_size,
    }


def _is_target(work: Workload, linear: Linear) -> bool:
    return work.lora is not None and linear in work.lora.targets


def _lora_keeps_input(work: Workload) -> bool:
    return work.lora_dropout == 0 and work.adapter_bytes == work.compute_bytes


def _lora(info: ModelInfo, work: Workload, frozen_input: bool) -> int:
    """Per token: what each LoRA path keeps besides the shared block inputs."""
    if work.lora is None:
        return 0
    a, ad = work.compute_bytes, work.adapter_bytes
    total = 0
    for target in work.lora.targets:
        no_mask = frozen_input and target.reads == "attn_in"
        if work.lora_dropout > 0 and not no_mask:
            # native dropout keeps a bool mask on CUDA; the CPU path multiplies by a float noise
            total += (1 if work.device == "cuda" else ad) * target.d_in
        if work.autocast and ad != a:
            total += a * target.d_in  # autocast's 16-bit copy for lora_A
        elif work.lora_dropout > 0 or ad != a:
            total += ad * target.d_in  # the dropped-out input, or PEFT's cast to the adapter dtype
        total += work.lora.rank * (a if work.autocast else ad)  # lora_A's output, for lora_B
        if work.lora.dora:
            total += _dora_extra(target, work, no_mask)
    return total


def _dora_extra(target: Linear, work: Workload, frozen_input: bool) -> int:
    # DoRA rescales the base and LoRA outputs by magnitude / ‖W + BA‖ and keeps both, and one
    # more output-sized tensor when its input needs a gradient (measured: 3 × d_out in 16-bit).
    # Its B·A, built by running the adapter on a d_in × d_in identity, is detached: a
    # forward-time transient, gone before the backward.
    return (2 if frozen_input else 3) * work.compute_bytes * target.d_out


def _per_block_constant(info: ModelInfo, work: Workload) -> int:
    """Saved tensors that scale with the adapter, not with the tokens."""
    if work.lora is not None and work.autocast and work.adapter_bytes != work.compute_bytes:
        # autocast's 16-bit copies of A and B, kept for the input gradient
        return work.compute_bytes * work.lora.per_layer
    return 0


def _mask_bias(work: Workload) -> int:
    """SDPA turns a boolean mask into an additive bias in the compute dtype, in every block,
    and keeps it for the backward (torch's convert_boolean_attn_mask)."""
    return work.compute_bytes * work.mask_pairs if work.masked else 0


def _shared(info: ModelInfo, work: Workload) -> int:
    return 2 * work.compute_bytes * info.head_dim * work.tokens  # rotary cos and sin


def _outside(info: ModelInfo, work: Workload) -> int:
    # Final norm, and the token ids the embedding keeps for its gradient.
    ids = INDEX if work.train_base else 0
    return (_norm(info, work) + ids) * work.tokens


def _loss_saved(info: ModelInfo, work: Workload) -> int:
    t, a, h = work.tokens, work.compute_bytes, info.hidden_size
    head_input = a * h if work.train_base or _head_keeps_input(work) else 0
    if work.loss == "unfused":
        return t * (FP32 * info.vocab_size + INDEX + head_input)  # fp32 log-probs, labels
    if work.loss == "chunked":
        return t * (a * info.vocab_size + INDEX + head_input)  # 16-bit log-probs, labels
    # Fused head: the flattened hidden states, labels, log-normalizer and entropy per token.
    return t * (a * h + INDEX + 2 * FP32)


def _head_keeps_input(work: Workload) -> bool:
    return work.head_quantized and work.quantized_inputs


def _held_output(info: ModelInfo, work: Workload) -> int:
    """At the end of a forward whose output the loop holds: the 16-bit logits, and the final
    norm's output when a 4-bit head keeps it (the loss has not run yet)."""
    if not work.logits_held or work.loss == "fused":
        return 0
    head_input = info.hidden_size if _head_keeps_input(work) else 0
    return work.compute_bytes * work.tokens * (info.vocab_size + head_input)


def _stale(info: ModelInfo, work: Workload) -> int:
    """The previous micro-batch's leftovers while this one runs its forward (as long as this
    one, at most): the logits the loop still holds, and through them the previous graph, whose
    4-bit linears kept their inputs on their context (old bitsandbytes: `ctx.tensors = (A, B)`)
    — every input a block's linears read, SDPA's output included (o_proj's input is a view of
    it), but the first block's attention input under LoRA, which needs no gradient."""
    held = _held_output(info, work)
    if not held or not work.quantized_inputs or work.gradient_checkpointing:
        return held  # checkpointed blocks keep no 4-bit inputs (as in `activations`)
    widths = _input_widths(info)
    per_layer = sum(widths[group] for group in {linear.reads for linear in block_linears(info)})
    frozen_first = 0 if work.train_base else widths["attn_in"]
    return held + work.compute_bytes * work.tokens * (per_layer * info.num_layers - frozen_first)


def _loss_peak(info: ModelInfo, work: Workload, head_trainable: bool) -> int:
    """Extra bytes at the loss head's backward, over what it saved. The head weight's own
    gradient is counted with the gradients."""
    t, a, v, h = work.tokens, work.compute_bytes, info.vocab_size, info.hidden_size
    held = a * t * v if work.logits_held and work.loss != "fused" else 0
    if work.loss == "unfused":
        # Incoming gradient of the log-probs and log_softmax's output gradient, both fp32.
        return held + 2 * FP32 * t * v
    if work.loss == "chunked":
        # One chunk's two gradients at a time: the chunks' graphs are separate.
        chunk = work.batch_size * min(work.seq_len, LOSS_CHUNK_TOKENS) * v
        return held + 2 * a * chunk
    tile = min(t, HEAD_TILE_TOKENS) * min(v, HEAD_TILE_VOCAB) * a
    if work.device != "cuda":
        tile += 5 * FP32 * tile // a  # without Triton the tile math runs as fp32 torch ops
    # One tile, and fp32 accumulators for the hidden states' and (trained) head's gradients;
    # the hidden states' is cast back to the compute dtype on return, beside itself.
    weight_grad = FP32 * v * h if head_trainable else 0
    return tile + (FP32 + a) * t * h + weight_grad


def _backward_buffers(info: ModelInfo, work: Workload) -> int:
    """Gradients in flight while one block runs backward: the residual stream's two, plus the
    larger of the MLP's intermediates and attention's (q/k/v gradients, flash-attention's fp32
    dq accumulator, eager's score gradients); fp32 adapters add an fp32 input gradient."""
    a, h, i = work.compute_bytes, info.hidden_size, info.intermediate_size
    q_dim = info.num_heads * info.head_dim
    kv_dim = info.num_kv_heads * info.head_dim
    attention = a * (q_dim + 2 * kv_dim) + FP32 * q_dim
    if work.attention == "eager":
        keys = work.tokens if work.padding_free else work.seq_len
        attention += info.num_heads * keys * (FP32 + a)
    per_token = 2 * a * h + max(3 * a * i, attention)
    if work.lora is not None and work.adapter_bytes > a:
        per_token += work.adapter_bytes * max(t.d_in for t in work.lora.targets)
    return per_token * work.tokens
