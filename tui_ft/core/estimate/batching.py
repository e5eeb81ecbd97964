"""How rows become batches, decided in one place for the trainer and the estimator.

Four ways (`batching:` in run.yaml; `auto` picks one):

- `padded`: each micro-batch padded to its longest row, rows in random order;
- `grouped`: the same, with rows of similar length drawn together (transformers'
  length-grouped sampler), so little is padding;
- `padding_free`: rows laid end to end, positions restarting per row: no pad token at all.
  With flash-attention's variable-length kernels each row attends only to itself. Without
  them (on a CPU, or a GPU without flash-attn) transformers gives SDPA a dense block-diagonal
  mask over the whole flattened batch: attention over (ΣL)² token pairs instead of B·L², and a
  2·N² bytes mask per decoder block kept for the backward pass;
- `packed` (`packing: true`): rows joined into full max_length sequences; fewer, fuller steps
  (docs/architecture.md: on a small set it learned nothing visible).

`auto` compares the compute each way costs on the run's own row lengths (linear layers per
token, attention per token pair, from the model's shape) and takes the cheapest; padding-free
wins ties and short rows (it skips the padding), grouped or padded win long uneven rows without
flash-attention. Past PADDING_FREE_MAX_TOKENS per micro-batch the dense mask costs too much
memory and padding-free is never chosen without flash-attention.
"""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Sequence
from dataclasses import dataclass

from tui_ft.core.config import RunConfig
from tui_ft.core.models.info import ModelInfo
from tui_ft.core.objectives import objective_named

# 8k tokens: a 128 MiB mask per block in 16-bit, about what the padding would cost instead.
PADDING_FREE_MAX_TOKENS = 8192
# Padding-free wins unless another way is this much cheaper: it also wastes no memory on pads.
MARGIN = 0.95
WORDS = {
    "padded": "padded to the longest row",
    "grouped": "grouped by length, padded to the longest row",
    "padding_free": "padding-free",
    "packed": "packed into max_length sequences",
}


@dataclass(frozen=True)
class Batching:
    name: str  # padded | grouped | padding_free | packed
    why: str

    @property
    def words(self) -> str:
        return WORDS[self.name]


def flash_attention_installed() -> bool:
    return importlib.util.find_spec("flash_attn") is not None


def choose_batching(
    config: RunConfig,
    lengths: Sequence[int] | None = None,
    info: ModelInfo | None = None,
    flash_attention: bool | None = None,
) -> Batching:
    """The batching a run of `config` uses: as run.yaml says, else the cheapest on `lengths`
    (the training rows' token counts) for a model of `info`'s shape."""
    if config.packing:
        return Batching("packed", "packing: true in run.yaml")
    if config.batching != "auto":
        return Batching(config.batching, f"batching: {config.batching} in run.yaml")
    objective = objective_named(config.objective)
    if len(objective.batchings) == 1:
        only = objective.batchings[0]
        return Batching(only, f"objective {objective.name}'s trainer batches rows {WORDS[only]}")
    if flash_attention is None:
        flash_attention = flash_attention_installed()
    if flash_attention:
        return Batching("padding_free", "flash-attention attends within each row: no padding")
    if config.batch_size * config.max_length > PADDING_FREE_MAX_TOKENS:
        return Batching(
            "padded",
            f"{config.batch_size} × {config.max_length} tokens per micro-batch: a padding-free "
            "batch's attention mask would be too large without flash-attention",
        )
    if not lengths or info is None:
        return Batching("padding_free", "short micro-batches: padding-free skips the padding")
    costs = {
        name: batch_cost(name, lengths, config.batch_size, info, config.seed)
        for name in ("padding_free", "padded", "grouped")
    }
    best = min(costs, key=lambda name: costs[name])
    if costs[best] >= MARGIN * costs["padding_free"]:
        best = "padding_free"
    relative = ", ".join(f"{n} {costs[n] / costs[best]:.2f}" for n in costs)
    why = f"compute on these rows ({min(lengths)}–{max(lengths)} tokens), relative: {relative}"
    return Batching(best, why)


def batch_cost(
    name: str, lengths: Sequence[int], batch_size: int, info: ModelInfo, seed: int = 0
) -> float:
    """Floating-point operations of one pass over `lengths` batched the `name` way (forward;
    the backward multiplies every term alike)."""
    per_token = 2 * (info.params.linear + info.vocab_size * info.hidden_size)
    per_pair = 4 * info.hidden_size * info.num_layers
    rows = list(lengths)
    if name == "grouped":
        rows.sort()
    else:
        random.Random(seed).shuffle(rows)
    total = 0.0
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        if name == "padding_free":
            tokens = sum(batch)
            pairs = tokens * tokens  # one flattened row under a dense mask
        else:
            tokens = len(batch) * max(batch)
            pairs = len(batch) * max(batch) ** 2
        total += tokens * per_token + pairs * per_pair
    return total


def uses_padding_free(config: RunConfig, flash_attention: bool | None = None) -> bool:
    """Whether the estimate should count a padding-free batch (before the rows are known)."""
    return choose_batching(config, flash_attention=flash_attention).name == "padding_free"
