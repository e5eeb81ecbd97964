"""The linear layers of a decoder block, and the parameters LoRA adds to them.

Worked out from a ModelInfo alone (no weights, no torch), so the estimator and the UI can show
"LoRA r16 on all-linear: 8.8M trainable parameters" before anything is loaded. The counts match
PEFT's own `get_nb_trainable_parameters()` (tests/test_estimate.py checks them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tui_ft.core.errors import UserError
from tui_ft.core.models.info import ModelInfo

ALL_LINEAR = "all-linear"


@dataclass(frozen=True)
class Linear:
    """One nn.Linear (or GPT-2 Conv1D) of a decoder block. `reads` names the tensor it takes as
    input; layers that read the same tensor share it (q/k/v all read the attention norm)."""

    name: str
    d_in: int
    d_out: int
    reads: str  # "attn_in" | "attn_out" | "mlp_in" | "mlp_mid"

    @property
    def numel(self) -> int:
        return self.d_in * self.d_out


@dataclass(frozen=True)
class LoraShape:
    """LoRA on a set of targets: what it adds per decoder block, and in the whole model."""

    targets: tuple[Linear, ...]
    rank: int
    dora: bool
    num_layers: int

    @property
    def per_layer(self) -> int:
        magnitude = sum(t.d_out for t in self.targets) if self.dora else 0
        return self.rank * sum(t.d_in + t.d_out for t in self.targets) + magnitude

    @property
    def total(self) -> int:
        return self.per_layer * self.num_layers

    def tensors(self) -> list[int]:
        """Element counts of every trainable tensor (A, B, DoRA magnitude), for the 8-bit
        optimizer, which keeps small tensors in 32-bit."""
        one_layer: list[int] = []
        for target in self.targets:
            one_layer += [self.rank * target.d_in, self.rank * target.d_out]
            if self.dora:
                one_layer.append(target.d_out)
        return one_layer * self.num_layers

    def magnitude_params(self) -> int:
        return sum(t.d_out for t in self.targets) * self.num_layers if self.dora else 0


def block_linears(info: ModelInfo) -> tuple[Linear, ...]:
    """The linear layers of one decoder block, named as transformers names them. The lm_head is
    never among them: PEFT's `all-linear` leaves the output layer alone."""
    h, i = info.hidden_size, info.intermediate_size
    q_dim = info.num_heads * info.head_dim
    kv_dim = info.num_kv_heads * info.head_dim
    if info.model_type == "gpt2":
        return (
            Linear("c_attn", h, 3 * h, "attn_in"),
            Linear("c_proj", h, h, "attn_out"),
            Linear("c_fc", h, i, "mlp_in"),
            Linear("c_proj", i, h, "mlp_mid"),
        )
    if info.model_type == "phi":
        return (
            *_attention(h, q_dim, kv_dim, out_name="dense"),
            Linear("fc1", h, i, "mlp_in"),
            Linear("fc2", i, h, "mlp_mid"),
        )
    if info.model_type == "phi3":
        return (
            Linear("qkv_proj", h, q_dim + 2 * kv_dim, "attn_in"),
            Linear("o_proj", q_dim, h, "attn_out"),
            Linear("gate_up_proj", h, 2 * i, "mlp_in"),
            Linear("down_proj", i, h, "mlp_mid"),
        )
    return (
        *_attention(h, q_dim, kv_dim, out_name="o_proj"),
        Linear("gate_proj", h, i, "mlp_in"),
        Linear("up_proj", h, i, "mlp_in"),
        Linear("down_proj", i, h, "mlp_mid"),
    )


def _attention(h: int, q_dim: int, kv_dim: int, out_name: str) -> tuple[Linear, ...]:
    return (
        Linear("q_proj", h, q_dim, "attn_in"),
        Linear("k_proj", h, kv_dim, "attn_in"),
        Linear("v_proj", h, kv_dim, "attn_in"),
        Linear(out_name, q_dim, h, "attn_out"),
    )


def is_gated(info: ModelInfo) -> bool:
    """Gate and up projections (SwiGLU/GeGLU) rather than one fc1; decides the MLP's activations."""
    return info.model_type not in ("gpt2", "phi")


def lora_targets(info: ModelInfo, targets: str | Sequence[str]) -> tuple[Linear, ...]:
    """The block linears LoRA wraps. `all-linear` is every one of them; names match the last part
    of a module's name, as in PEFT's `target_modules` list."""
    linears = block_linears(info)
    if isinstance(targets, str):
        if targets.strip() == ALL_LINEAR:
            return linears
        targets = [name.strip() for name in targets.split(",") if name.strip()]
    wanted = set(targets)
    unknown = wanted - {linear.name for linear in linears}
    if unknown:
        names = ", ".join(dict.fromkeys(linear.name for linear in linears))
        raise UserError(
            f"{info.name} has no linear layer named {', '.join(sorted(unknown))}.",
            f"Its decoder blocks have {names}; or use `{ALL_LINEAR}`.",
        )
    return tuple(linear for linear in linears if linear.name in wanted)


def lora_shape(
    info: ModelInfo, rank: int, targets: str | Sequence[str], dora: bool = False
) -> LoraShape:
    return LoraShape(lora_targets(info, targets), rank, dora, info.num_layers)


def full_tensors(info: ModelInfo) -> list[int]:
    """Element counts of every parameter tensor, grouped coarsely: block linears one by one,
    the embedding (and untied head) whole, norms and biases as hidden-sized vectors."""
    linears = [linear.numel for linear in block_linears(info)] * info.num_layers
    embedding = [info.params.embedding]
    vectors, rest = divmod(info.params.other, max(info.hidden_size, 1))
    other = [info.hidden_size] * vectors + ([rest] if rest else [])
    # Linear weights outside the standard block (MoE experts, routers) as one lump.
    extra = info.params.linear - sum(linears)
    return linears + embedding + other + ([extra] if extra > 0 else [])


def kv_cache_bytes(info: ModelInfo, context: int, batch: int, dtype_bytes: int) -> int:
    """2 (keys and values) × layers × kv heads × head dim × context × batch × dtype bytes."""
    return 2 * info.num_layers * info.num_kv_heads * info.head_dim * context * batch * dtype_bytes
