"""Objectives' trainer twins: how each objective's TRL trainer is built, in the trainer process.

The light twin (tui_ft/core/objectives) names its trainer twin's module in `Objective.engine`;
that module provides the three functions of `ObjectiveTrainer`. Imported only where training
happens (trainer, pre-flight, benchmarks), never in the UI.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol, cast

from tui_ft.core.config import RunConfig
from tui_ft.core.objectives import objective_named
from tui_ft.engine.train.data import TrainData
from tui_ft.engine.train.prepared import Prepared


class ObjectiveTrainer(Protocol):
    def build_data(self, config: RunConfig, tokenizer: Any) -> TrainData:
        """The tokenized train and eval rows (and probe prompts) for this objective's loss."""
        ...

    def training_args(self, prepared: Prepared, common: dict[str, Any], output_dir: Path) -> Any:
        """TRL's config object: the common TrainingArguments plus the objective's own."""
        ...

    def make_trainer(self, prepared: Prepared, model: Any, args: Any, callbacks: list[Any]) -> Any:
        """The TRL trainer, ready to `train()`."""
        ...


def trainer_twin(config: RunConfig) -> ObjectiveTrainer:
    """The trainer twin of the config's objective."""
    return cast(ObjectiveTrainer, importlib.import_module(objective_named(config.objective).engine))
