"""Plain TRL, as its documentation teaches it: the baseline `bench/run_wall.py` times against
`tui-ft train`. Nothing of tui-ft is imported here.

    python bench/plain_trl_sft.py SPEC.json

SPEC.json (written by run_wall.py) names the model folder, a JSON lines file of conversational
prompt-completion rows (`prompt`: the messages before the last answer, `completion`: the last
answer), the output folder and the hyper-parameters. The model loads with transformers, LoRA
comes from a peft `LoraConfig`, and `SFTTrainer` tokenizes the rows itself (chat template,
loss on the completion only) and trains with padding-free batches; no evaluation, no
checkpoints; the adapter is saved at the end.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))

    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    cuda = torch.cuda.is_available()
    precision = spec["precision"]
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[precision]
    flash = cuda and importlib.util.find_spec("flash_attn") is not None
    tokenizer = AutoTokenizer.from_pretrained(spec["model"])
    model = AutoModelForCausalLM.from_pretrained(
        spec["model"], dtype=dtype, attn_implementation="flash_attention_2" if flash else "sdpa"
    )
    lines = Path(spec["train"]).read_text(encoding="utf-8").splitlines()
    train = Dataset.from_list([json.loads(line) for line in lines if line.strip()])
    args = sft_config(spec, cuda)
    lora = spec["lora"]
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=train,
        processing_class=tokenizer,
        peft_config=LoraConfig(
            r=lora["rank"],
            lora_alpha=lora["alpha"],
            lora_dropout=lora["dropout"],
            target_modules=lora["targets"],
            task_type="CAUSAL_LM",
        ),
    )
    trainer.train()
    trainer.save_model(spec["output"])


def sft_config(spec: dict[str, Any], cuda: bool) -> Any:
    """TRL's config for the baseline: the spec's hyper-parameters, padding-free, no evaluation,
    no checkpoints (bench/steps_vs_trl.py uses it too)."""
    from trl import SFTConfig

    precision = spec["precision"]
    return SFTConfig(
        output_dir=spec["output"],
        num_train_epochs=spec["epochs"],
        max_steps=spec["max_steps"] or -1,
        per_device_train_batch_size=spec["batch_size"],
        gradient_accumulation_steps=spec["grad_accum"],
        learning_rate=spec["learning_rate"],
        lr_scheduler_type=spec["lr_scheduler"],
        warmup_steps=spec["warmup_ratio"],  # a float below 1 is a ratio (transformers 5)
        weight_decay=spec["weight_decay"],
        gradient_checkpointing=spec["gradient_checkpointing"],
        optim="adamw_torch_fused" if cuda else "adamw_torch",
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        seed=spec["seed"],
        logging_steps=1,
        padding_free=True,
        # Padding-free batches without packing leave truncation to the caller; run_wall.py
        # says when a row is longer than max_length (tui-ft cuts it, this side does not).
        max_length=None,
        eval_strategy="no",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=not cuda,
    )


if __name__ == "__main__":
    main()
