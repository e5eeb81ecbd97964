"""What the trainer has in hand before the model loads: the config, the model's location, the
tokenizer, the tokenized data, the precision chosen and the number of processes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.models.resolve import ResolvedModel
from tui_ft.engine.train.data import TrainData


@dataclass
class Prepared:
    config: RunConfig
    model_ref: ResolvedModel
    tokenizer: Any
    data: TrainData
    precision: str  # bf16 | fp16 | fp32, resolved from `auto`
    world_size: int
