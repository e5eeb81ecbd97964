"""From a RunConfig to a ready TRL trainer: precision from the hardware, the model for the
method (full, LoRA, QLoRA), step arithmetic, and the arguments every objective shares; the
objective's trainer twin (engine/train/objectives) adds its own and builds the trainer. Shared
by the trainer process and the pre-flight check so both run exactly the same thing."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError
from tui_ft.core.methods import method_named
from tui_ft.core.models.resolve import ResolvedModel, resolve_model
from tui_ft.core.objectives import objective_named
from tui_ft.core.runs.lineage import LOAD_WEIGHTS, MERGE_ADAPTER, StartPoint
from tui_ft.engine.model_loading import load_model, load_tokenizer
from tui_ft.engine.train.data import TrainData
from tui_ft.engine.train.objectives import trainer_twin
from tui_ft.engine.train.prepared import Prepared

OPTIMIZERS = {
    "adamw_8bit": "adamw_bnb_8bit",
    "paged_adamw_8bit": "paged_adamw_8bit",
    "adafactor": "adafactor",
    "sgd": "sgd",
}


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def refuse_this_machine(config: RunConfig) -> None:
    """The objective's refusal to train here (grpo: vLLM without a GPU or its package), asked
    again in the trainer: a resume, or a job script starting it, skips the launcher's check."""
    import torch

    objective = objective_named(config.objective)
    refusal = objective.machine_check(config.objective_settings, torch.cuda.is_available)
    if refusal is not None:
        raise refusal


def prepare_tokenizer_and_data(config: RunConfig) -> tuple[ResolvedModel, Any, TrainData]:
    model_ref = resolve_model(config.model)
    tokenizer = load_tokenizer(model_ref, config.trust_remote_code)
    data = trainer_twin(config).build_data(config, tokenizer)
    if not data.train_rows:
        raise UserError(
            f"no training examples are left in {config.dataset} after the split and truncation.",
            "Use a larger dataset, a smaller eval_split, or a longer max_length.",
        )
    return model_ref, tokenizer, data


def load_training_model(prepared: Prepared) -> Any:
    import torch

    config = prepared.config
    compute = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[
        prepared.precision
    ]
    if method_named(config.method).trains_base and prepared.precision == "fp16":
        # fp16 weights cannot be trained with a grad scaler: keep fp32 masters, autocast to fp16.
        compute = torch.float32
    quantize = None
    if method_named(config.method).quantized:
        quantize = {
            "bnb_4bit_quant_type": config.qlora.quant_type,
            "bnb_4bit_use_double_quant": config.qlora.double_quant,
        }
    start = prepared.start
    weights = prepared.model_ref
    if start is not None and start.how == LOAD_WEIGHTS:
        weights = resolve_model(str(start.output))
    model = load_model(
        weights,
        dtype=compute,
        quantize_4bit=quantize,
        trust_remote_code=config.trust_remote_code,
    )
    if prepared.tokenizer.pad_token_id is None:
        prepared.tokenizer.pad_token = prepared.tokenizer.eos_token
    if start is not None and start.how != LOAD_WEIGHTS:
        model = _with_earlier_adapter(model, prepared, start)
    return model


def _with_earlier_adapter(model: Any, prepared: Prepared, start: StartPoint) -> Any:
    """The earlier run's adapter on the base: trainable, to train further, or merged in."""
    from peft import PeftModel, prepare_model_for_kbit_training

    if start.how == MERGE_ADAPTER:
        merged = PeftModel.from_pretrained(model, str(start.output)).merge_and_unload()
        return merged.requires_grad_(True)  # peft froze the base to put the adapter on it
    if method_named(prepared.config.method).quantized:
        # What TRL does to a quantized base before it adds a new adapter.
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=prepared.config.gradient_checkpointing
        )
    return PeftModel.from_pretrained(model, str(start.output), is_trainable=True)


def adapter_config(config: RunConfig, model: Any) -> Any:
    """The LoRA config of the adapter to add; None when the method trains the base, or the
    model already carries the adapter it trains further (`start_from` an adapter run)."""
    from peft import PeftModel

    return None if isinstance(model, PeftModel) else lora_config(config)


def lora_config(config: RunConfig) -> Any:
    if method_named(config.method).trains_base:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora.rank,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=config.lora.targets,
        use_dora=config.lora.dora,
        task_type="CAUSAL_LM",
    )


def planned_steps(config: RunConfig, train_rows: int, world: int) -> int:
    """Optimizer steps the run will take, as the Trainer counts them."""
    if config.max_steps:
        return config.max_steps
    batches = math.ceil(train_rows / (config.batch_size * world))
    per_epoch = max(1, math.ceil(batches / config.grad_accum))
    return max(1, math.ceil(config.epochs * per_epoch))


def training_args(
    prepared: Prepared,
    output_dir: Path,
    *,
    max_steps: int | None = None,
    evaluate: bool = True,
    save: bool = True,
    report: bool = False,
) -> Any:
    """TRL's config for the run's objective: the arguments all objectives share, then its own.
    `report`: to the trackers of `report_to` (the run itself, not a pre-flight or a bench)."""
    common = _common_args(
        prepared, max_steps=max_steps, evaluate=evaluate, save=save, report=report
    )
    return trainer_twin(prepared.config).training_args(prepared, common, output_dir)


def make_trainer(prepared: Prepared, model: Any, args: Any, callbacks: list[Any]) -> Any:
    return trainer_twin(prepared.config).make_trainer(prepared, model, args, callbacks)


def _common_args(
    prepared: Prepared, *, max_steps: int | None, evaluate: bool, save: bool, report: bool
) -> dict[str, Any]:
    """transformers' TrainingArguments from the run's settings, whatever the objective."""
    import torch

    config = prepared.config
    cuda = torch.cuda.is_available()
    total = max_steps or planned_steps(config, len(prepared.data.train_rows), prepared.world_size)
    # The callback decides when to evaluate (engine/train/callback.py, within the extras'
    # budget); the Trainer's own schedule only has to be valid.
    eval_every = config.eval_every or total
    has_eval = evaluate and bool(prepared.data.eval_rows)
    return dict(
        num_train_epochs=config.epochs,
        max_steps=max_steps or config.max_steps or -1,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # transformers 5: a float below 1 is a ratio
        weight_decay=config.weight_decay,
        optim=OPTIMIZERS.get(config.optimizer, "adamw_torch_fused" if cuda else "adamw_torch"),
        bf16=prepared.precision == "bf16",
        fp16=prepared.precision == "fp16",
        gradient_checkpointing=config.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        seed=config.seed,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=eval_every,
        save_strategy="steps" if save and config.save_every_steps else "no",
        save_steps=config.save_every_steps or 500,
        save_total_limit=config.save_total_limit,
        include_num_input_tokens_seen="all",
        # Without use_cpu, accelerate does not see a CPU torchrun as distributed (no DDP).
        use_cpu=not cuda,
        ddp_backend="gloo" if prepared.world_size > 1 and not cuda else None,
        # Shards weights, gradients and optimizer states across processes, one decoder
        # block at a time (the model's own _no_split_modules).
        fsdp="full_shard auto_wrap" if config.fsdp and prepared.world_size > 1 else "",
        # Our metrics.jsonl is written by our callback whatever this says; these get a copy
        # (their folders and offline modes come from core/trackers.py's environment).
        report_to=(report and list(config.report_to)) or "none",
        run_name=config.name or None,
        project="tui-ft",  # Trackio's project
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
