"""What the trainer has in hand before the model loads: the config, the model's location, the
tokenizer, the tokenized data, the precision chosen, the number of processes and the earlier run
it begins from."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.estimate.batching import Batching, choose_batching
from tui_ft.core.models.info import read_model_info
from tui_ft.core.models.resolve import ResolvedModel
from tui_ft.core.runs.lineage import StartPoint
from tui_ft.engine.train.data import TrainData, row_length


@dataclass
class Prepared:
    config: RunConfig
    model_ref: ResolvedModel
    tokenizer: Any
    data: TrainData
    precision: str  # bf16 | fp16 | fp32, resolved from `auto`
    world_size: int
    start: StartPoint | None = None  # the earlier run it begins from (`start_from`)

    @cached_property
    def batching(self) -> Batching:
        """How the training rows become micro-batches: run.yaml's choice, else the cheapest
        on these rows for this model (core/estimate/batching.py)."""
        lengths = [row_length(row) for row in self.data.train_rows]
        return choose_batching(self.config, lengths, read_model_info(self.model_ref))
