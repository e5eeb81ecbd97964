"""GRPO's trainer twin (tui_ft/core/objectives/grpo.py): TRL's GRPOTrainer on the rows' prompts,
sampling with transformers `generate` (a CPU works) or vLLM colocated in this process
(`generation: vllm`), scored by the run's rewards (grpo_rewards.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.datasets.load import Example
from tui_ft.core.errors import UserError
from tui_ft.core.objectives.grpo_generation import VLLM
from tui_ft.core.rewards.spec import read_rewards
from tui_ft.engine.tokenize import render, with_system_prompt
from tui_ft.engine.train.callback import RunDirCallback
from tui_ft.engine.train.data import LENGTH, TRAINED, Made, Row, TrainData, build_data_with
from tui_ft.engine.train.objectives.grpo_rewards import reward_functions
from tui_ft.engine.train.objectives.grpo_samples import SampleRecorder, SamplesCallback
from tui_ft.engine.train.objectives.preference import make_preference_trainer, prompt_of
from tui_ft.engine.train.prepared import Prepared

__all__ = ["build_data", "generation_args", "make_trainer", "training_args"]


def build_data(config: RunConfig, tokenizer: Any) -> TrainData:
    completion = config.setting("max_completion_length")

    kinds: dict[str, tuple[str, str]] = {}  # field -> the kind of its first value, and where

    def make(example: Example) -> Made:
        _refuse_our_keys(example)
        _refuse_mixed_kinds(example, kinds)
        prompt = render(tokenizer, with_system_prompt(example.messages, config.system_prompt), True)
        size = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        # The sizes the estimate and probes read: a prompt with a completion at its longest.
        row: Row = {
            **example.fields,
            "prompt": prompt_of(config, example),
            LENGTH: size + completion,
            TRAINED: completion,
        }
        return Made([row])

    return build_data_with(config, tokenizer, make)


def _refuse_our_keys(example: Example) -> None:
    """A row field the trainer keeps its sizes under would be lost before any reward read it."""
    for key in (LENGTH, TRAINED):
        if key in example.fields:
            raise UserError(
                f"{example.where}: the field `{key}` has a name tui-ft keeps for a row's size, "
                "so no reward function could read it.",
                f"Rename the field in the data (e.g. `{key}_target`) and in the rewards that "
                "read it.",
            )


def _refuse_mixed_kinds(example: Example, kinds: dict[str, tuple[str, str]]) -> None:
    """A field must hold one kind of value in every row: the table TRL reads the rows from
    (Arrow) cannot hold a number in one row and text in another."""
    for key, value in example.fields.items():
        if value is None:
            continue
        kind = _KINDS.get(type(value), "a value")
        first, where = kinds.setdefault(key, (kind, example.where))
        if kind != first:
            raise UserError(
                f"{example.where}: the field `{key}` holds {kind}, but {where} holds {first}; "
                "a field must hold one kind of value in every row.",
                f'Write every row\'s `{key}` the same way (e.g. every answer as text: "5").',
            )


# JSON's kinds, in the words people wrote them with.
_KINDS: dict[type, str] = {
    bool: "true/false",
    int: "a number",
    float: "a number",
    str: "text",
    list: "a list",
    dict: "an object",
}


def training_args(prepared: Prepared, common: dict[str, Any], output_dir: Path) -> Any:
    from trl import GRPOConfig

    config = prepared.config
    group = config.setting("num_generations")
    rewards = read_rewards(config.setting("rewards"))
    # run.yaml's batch_size counts prompts; TRL's counts completions, whole groups of them.
    common = {
        **common,
        "per_device_train_batch_size": config.batch_size * group,
        "per_device_eval_batch_size": config.batch_size * group,
    }
    return GRPOConfig(
        output_dir=str(output_dir),
        **common,
        num_generations=group,
        max_completion_length=config.setting("max_completion_length"),
        temperature=config.setting("temperature"),
        beta=config.setting("beta"),
        loss_type=config.setting("loss_type"),
        reward_weights=[reward.weight for reward in rewards],
        **generation_args(config, prepared.data),
    )


def generation_args(config: RunConfig, data: TrainData) -> dict[str, Any]:
    """GRPOConfig's generation keys: transformers `generate`, or vLLM colocated (in this
    process, on this GPU, one copy per process) with its share of the GPU's memory."""
    if config.setting("generation") != VLLM:
        return {"use_vllm": False}
    rows = [*data.train_rows, *data.eval_rows]
    return {
        "use_vllm": True,
        "vllm_mode": "colocate",
        "vllm_gpu_memory_utilization": config.setting("vllm_gpu_memory_utilization"),
        # The longest prompt with a whole completion: vLLM's context otherwise is the model's
        # own (up to 128k tokens), and a cache for one sequence that long may not fit its share.
        "vllm_max_model_length": max((row[LENGTH] for row in rows), default=None),
        # Asleep during the optimizer step vLLM would free its memory, but the estimate
        # counts it held throughout; TRL's default, said here so the two stay together.
        "vllm_enable_sleep_mode": False,
        "vllm_tensor_parallel_size": 1,
    }


def make_trainer(prepared: Prepared, model: Any, args: Any, callbacks: list[Any]) -> Any:
    from trl import GRPOTrainer

    config = prepared.config
    rows = prepared.data.train_rows
    fields = [key for key in (rows[0] if rows else {}) if key not in ("prompt", LENGTH, TRAINED)]
    rewards = read_rewards(config.setting("rewards"))
    recorder = SampleRecorder([reward.weight for reward in rewards], lambda: model.training)
    functions = reward_functions(rewards, fields, recorder)
    # The run directory's writer (absent where a trainer is built without a run: benchmarks).
    writer = next((c for c in callbacks if isinstance(c, RunDirCallback)), None)
    if writer is not None:
        callbacks = [*callbacks, SamplesCallback(writer.run, recorder)]
    # With beta above 0, TRL keeps the reference itself (the adapter off, or a frozen copy).
    return make_preference_trainer(
        GRPOTrainer, prepared, model, args, callbacks, reward_funcs=functions
    )
