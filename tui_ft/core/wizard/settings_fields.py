"""The training settings a person edits in the wizard: one line of explanation each, the text
shown in a field, and the parsing of what was typed back into a RunConfig value.

Range checks are RunConfig.validate()'s own sentences, attributed to the field they name, so
the form and `tui-ft train run.yaml` say exactly the same thing about a bad value.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from tui_ft.core.config import OPTIMIZERS, PRECISIONS, SCHEDULERS, RunConfig
from tui_ft.core.datasets.demos import demo_rewards
from tui_ft.core.objectives import objective_named
from tui_ft.core.rewards.spec import read_rewards
from tui_ft.core.trackers import TRACKERS
from tui_ft.core.wizard import reward_fields


@dataclass(frozen=True)
class Field:
    key: str  # the RunConfig attribute
    label: str
    # "int" | "float" | "optional_int" | "optional_text" | "choice" | "bool" | "names" |
    # "reward_files"
    kind: str
    help: str  # one line: what it does and when to change it
    choices: tuple[str, ...] = ()


FIELDS = (
    Field(
        "epochs", "Epochs", "float", "Passes over the dataset; 1–3 for large sets, more for small."
    ),
    Field(
        "max_steps",
        "Max steps",
        "optional_int",
        "Stop after this many optimizer steps instead of epochs; blank: use epochs.",
    ),
    Field(
        "learning_rate",
        "Learning rate",
        "float",
        "Step size: ~2e-4 for LoRA/QLoRA, ~2e-5 for full; lower it if the loss jumps.",
    ),
    Field(
        "batch_size",
        "Micro-batch",
        "int",
        "Examples per forward pass; memory grows with it (see the estimate).",
    ),
    Field(
        "grad_accum",
        "Grad accumulation",
        "int",
        "Micro-batches per optimizer step: a larger effective batch at no memory cost.",
    ),
    Field(
        "max_length",
        "Max length",
        "int",
        "Tokens kept per example; longer ones are cut. Memory grows with it.",
    ),
    Field(
        "warmup_ratio",
        "Warmup ratio",
        "float",
        "Share of the steps spent ramping the learning rate up from 0 (0.03 = 3%).",
    ),
    Field(
        "lr_scheduler",
        "LR schedule",
        "choice",
        "How the learning rate falls after warmup; cosine suits most runs.",
        SCHEDULERS,
    ),
    Field(
        "gradient_checkpointing",
        "Grad checkpointing",
        "bool",
        "Recompute activations in the backward pass: much less memory, ~30% slower.",
    ),
    Field(
        "packing",
        "Packing",
        "bool",
        "Join rows into full-length sequences: fewer steps; small sets may learn nothing.",
    ),
    Field(
        "optimizer",
        "Optimizer",
        "choice",
        "adamw is the standard; the 8-bit ones save memory for full fine-tuning.",
        OPTIMIZERS,
    ),
    Field(
        "precision",
        "Precision",
        "choice",
        "auto: bf16 on recent GPUs, fp16 on older ones, fp32 on the CPU.",
        PRECISIONS,
    ),
    Field(
        "eval_split",
        "Eval split",
        "float",
        "Share of the rows held out to measure eval loss (0.1 = 10%; 0: none).",
    ),
    Field(
        "save_every_steps",
        "Save every",
        "int",
        "Steps between checkpoints (a stopped run resumes from the last); 0: at the end only.",
    ),
    Field(
        "system_prompt",
        "System prompt",
        "optional_text",
        "Added to conversations that have none, in training and in chat; blank: none.",
    ),
    Field(
        "report_to",
        "Trackers",
        "names",
        f"Copy the metrics to trackers: {', '.join(TRACKERS)}; blank: none.",
        tuple(TRACKERS),
    ),
)
BY_KEY = {f.key: f for f in FIELDS}
# An objective's setting kind -> the field kind that edits it.
_SETTING_FIELD_KINDS = {"int": "int", "float": "float", "text": "optional_text", "bool": "bool"}
# A setting edited through another field: its sentences show under that field.
_SHOWN_BY = {reward_fields.REWARDS: reward_fields.REWARD_FILE}
_FLOAT_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class FieldError(ValueError):
    """What was typed cannot be this field's value; the message is the sentence to show."""


def fields_for(config: RunConfig) -> tuple[Field, ...]:
    """The form's fields for `config`: the common ones, then its objective's own settings (a
    rewards list as the fields that keep the dataset's rewards and name reward files)."""
    objective = objective_named(config.objective)
    own = tuple(
        Field(s.key, s.label, _SETTING_FIELD_KINDS.get(s.kind, "choice"), s.help, s.choices)
        for s in objective.settings
        if s.kind != "list"  # a list is written in run.yaml, not typed here
    )
    return FIELDS + own + _reward_fields(config)


def _reward_fields(config: RunConfig) -> tuple[Field, ...]:
    if not reward_fields.has_rewards(config):
        return ()
    files = Field(
        reward_fields.REWARD_FILE,
        "Reward files",
        "reward_files",
        "Your reward functions, file.py:function (comma-separated), scored beside the "
        "others; blank: none (docs/rewards.md).",
    )
    defaults = demo_rewards(config.dataset)
    if not defaults:
        return (files,)
    names = ", ".join(reward.label for reward in read_rewards(defaults))
    keep = Field(
        reward_fields.DEFAULT_REWARDS,
        "Dataset's rewards",
        "bool",
        f"The rewards {config.dataset} comes with: {names}; off: only your files'.",
    )
    return (keep, files)


def field_value(config: RunConfig, key: str) -> Any:
    """The value a field shows: a RunConfig attribute, or the objective's setting."""
    if key in BY_KEY:
        return getattr(config, key)
    if key in reward_fields.KEYS:
        return reward_fields.reward_field_value(config, key)
    return config.setting(key)


def field_text(field: Field, value: Any) -> str:
    """The value as it appears in the field: `2e-4` stays short, None is blank."""
    if value is None:
        return ""
    if field.kind == "float":
        return f"{value:g}"
    if field.kind == "names":
        return ", ".join(value)
    return str(value)


def parse_field(field: Field, text: str) -> Any:
    """The RunConfig value for what was typed; raises FieldError with one sentence."""
    text = text.strip()
    if field.kind in ("optional_int", "optional_text") and not text:
        return None
    if field.kind == "optional_text":
        return text
    if field.kind in ("int", "optional_int"):
        try:
            return int(text.replace("_", ""))
        except ValueError:
            raise FieldError(f"{field.key} must be a whole number, not {text!r}.") from None
    if field.kind == "float":
        if not _FLOAT_TEXT.match(text):
            raise FieldError(f"{field.key} must be a number like 0.1 or 2e-4, not {text!r}.")
        return float(text)
    if field.kind == "choice":
        if text not in field.choices:
            raise FieldError(
                f"{field.key} must be one of {', '.join(field.choices)} (it is {text!r})."
            )
        return text
    if field.kind == "bool":
        return text.lower() in ("true", "yes", "on", "1")
    if field.kind == "names":
        names = [name for name in re.split(r"[,\s]+", text) if name and name != "none"]
        unknown = [name for name in names if name not in field.choices]
        if unknown:
            raise FieldError(
                f"{field.key}: {unknown[0]!r} is not one of {', '.join(field.choices)}."
            )
        return list(dict.fromkeys(names))
    if field.kind == "reward_files":
        targets = reward_fields.parse_reward_files(text)
        if isinstance(targets, str):
            raise FieldError(targets)
        return targets
    raise AssertionError(f"unknown field kind {field.kind}")


def with_value(config: RunConfig, key: str, value: Any) -> RunConfig:
    changed = copy.deepcopy(config)
    set_field(changed, key, value)
    return changed


def set_field(config: RunConfig, key: str, value: Any) -> None:
    """Set a field's value in place: a RunConfig attribute, or the objective's setting."""
    if key in BY_KEY:
        setattr(config, key, value)
    elif key in reward_fields.KEYS:
        reward_fields.set_reward_field(config, key, value)
    else:
        config.objective_settings[key] = value


def problems_by_field(config: RunConfig) -> tuple[dict[str, str], list[str]]:
    """RunConfig.validate()'s sentences: those about a field of this form by its key (the
    first one when a field has several), and the others (method, model ...) as a list."""
    mine: dict[str, str] = {}
    others: list[str] = []
    keys = [f.key for f in fields_for(config)]
    for sentence in config.validate():
        key = _field_of(sentence, keys)
        if key is None:
            others.append(sentence)
        else:
            mine.setdefault(key, sentence)
    return mine, others


def _field_of(sentence: str, keys: list[str]) -> str | None:
    first = re.match(r"`?([a-z_.]+)`?\b", sentence)
    if first and first.group(1) in keys:
        return first.group(1)
    if first and _SHOWN_BY.get(first.group(1)) in keys:
        return _SHOWN_BY[first.group(1)]
    # Cross-field sentences ("QLoRA computes in 16-bit; precision fp32 ...") name a field later.
    for key in keys:
        if re.search(rf"\b{key}\b", sentence):
            return key
    return None
