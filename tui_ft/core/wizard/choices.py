"""What the wizard's Model and Method steps offer, as plain data: the models to pick from
(the demo and what the Hugging Face cache holds), path completion for typed locations, the
methods in plain words, and the method settings parsed from text fields into a RunConfig.

Pure Python (no Textual, no torch), so each piece is tested without a screen.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from tui_ft.core.config import RunConfig
from tui_ft.core.methods import METHODS as METHOD_REGISTRY
from tui_ft.core.methods import method_named
from tui_ft.core.models.files import read_json_object
from tui_ft.core.models.hf_cache import list_cached_models
from tui_ft.core.models.info import ModelInfo
from tui_ft.core.models.resolve import DEMO_NAME, DEMO_REF, ResolvedModel
from tui_ft.core.units import format_bytes, format_context, format_count

MODEL_SUFFIXES = (".gguf",)
DATASET_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".txt")


@dataclass(frozen=True)
class ModelChoice:
    ref: str  # what goes into RunConfig.model
    label: str
    detail: str  # size, or why it is special


def model_choices() -> list[ModelChoice]:
    """The demo first, then every text model in the HF cache (reads the disk, no network)."""
    choices = [ModelChoice(DEMO_REF, "demo", f"{DEMO_NAME}, built in; trains on a CPU")]
    for cached in list_cached_models():
        detail = format_bytes(cached.size_on_disk) if cached.has_weights else "config only"
        choices.append(ModelChoice(cached.repo_id, cached.repo_id, f"{detail} in the HF cache"))
    return choices


def absolute_ref(ref: str) -> str:
    """What goes into run.yaml for what was typed: a path that exists becomes absolute (the
    trainer, or `tui-ft train run.yaml` next week, may start in another folder); `demo` and hub
    ids stay as they are."""
    ref = ref.strip()
    path = Path(ref).expanduser()
    if ref == DEMO_REF or not ref or not path.exists():
        return ref
    return str(path.absolute())


def complete(value: str, names: Iterable[str] = (), suffixes: tuple[str, ...] = ()) -> str | None:
    """A longer version of `value` to suggest: a known name (demo, a cached id) that starts
    with it, else a path on disk. Folders end in "/"; files other than `suffixes` (when given)
    are not offered. None: nothing to add."""
    if not value:
        return None
    for name in names:
        if name.startswith(value) and name != value:
            return name
    return complete_path(value, suffixes)


def complete_path(value: str, suffixes: tuple[str, ...] = ()) -> str | None:
    folder_part, _, prefix = value.rpartition("/")
    if not folder_part and not value.startswith(("/", ".", "~")):
        return None  # a bare word: a model name being typed, not a path
    folder = Path(os.path.expanduser(folder_part + "/" if folder_part or value[0] == "/" else "."))
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError:
        return None
    names: list[str] = []
    for entry in entries:
        if not entry.name.startswith(prefix) or (entry.name[0] == "." and prefix[:1] != "."):
            continue
        if entry.is_dir():
            names.append(entry.name + "/")
        elif not suffixes or entry.name.lower().endswith(suffixes):
            names.append(entry.name)
    if not names:
        return None
    common = os.path.commonprefix(names)  # noqa: RUF071 - character-wise is the point here
    # Several matches: their shared start when it adds something, else the first one.
    completion = common if len(common) > len(prefix) else names[0]
    head = value[: len(value) - len(prefix)]
    return None if completion == prefix else head + completion


# --- methods --------------------------------------------------------------------------------


# The Method step's options, in the order shown.
METHODS = tuple(METHOD_REGISTRY.values())


# Field name -> the config key its problems name (for matching validation sentences).
METHOD_FIELDS = {
    "rank": "lora.rank",
    "alpha": "lora.alpha",
    "dropout": "lora.dropout",
    "targets": "lora.targets",
    "dora": "lora.dora",
    "quant_type": "qlora.quant_type",
    "double_quant": "qlora.double_quant",
}


def method_field_values(config: RunConfig) -> dict[str, str | bool]:
    """The config's method settings as the Method step's fields show them."""
    targets = config.lora.targets
    return {
        "rank": str(config.lora.rank),
        "alpha": str(config.lora.alpha),
        "dropout": f"{config.lora.dropout:g}",
        "targets": targets if isinstance(targets, str) else ", ".join(targets),
        "dora": config.lora.dora,
        "quant_type": config.qlora.quant_type,
        "double_quant": config.qlora.double_quant,
    }


def apply_method(
    config: RunConfig, method: str, fields: Mapping[str, str | bool]
) -> tuple[RunConfig, list[str]]:
    """The config with `method` and the fields that parse; and every problem as a sentence
    (a field that does not parse keeps its old value, so nothing else is held up)."""
    problems: list[str] = []
    lora, qlora = config.lora, config.qlora
    chosen = method_named(method)
    if chosen.adapter:
        rank = _number(fields.get("rank"), int, "lora.rank", "a whole number", problems)
        alpha = _number(fields.get("alpha"), int, "lora.alpha", "a whole number", problems)
        dropout = _number(fields.get("dropout"), float, "lora.dropout", "a number", problems)
        lora = replace(
            lora,
            rank=lora.rank if rank is None else rank,
            alpha=lora.alpha if alpha is None else alpha,
            dropout=lora.dropout if dropout is None else dropout,
            targets=parse_targets(str(fields.get("targets", ""))),
            dora=bool(fields.get("dora", lora.dora)),
        )
    if chosen.quantized:
        qlora = replace(
            qlora,
            quant_type=str(fields.get("quant_type", qlora.quant_type)),
            double_quant=bool(fields.get("double_quant", qlora.double_quant)),
        )
    updated = replace(config, method=method, lora=lora, qlora=qlora)
    problems += [p for p in updated.validate() if _about_method(p, method)]
    return updated, problems


def parse_targets(text: str) -> str | list[str]:
    """'all-linear' stays a word; 'q_proj, v_proj' becomes a list (empty text: an empty list,
    which validation names)."""
    text = text.strip()
    if text == "all-linear":
        return text
    return [name for name in (part.strip() for part in text.replace(",", " ").split()) if name]


_Number = TypeVar("_Number", int, float)


def _number(
    raw: str | bool | None,
    kind: Callable[[str], _Number],
    key: str,
    described: str,
    problems: list[str],
) -> _Number | None:
    text = str(raw if raw is not None else "").strip()
    try:
        return kind(text)
    except ValueError:
        problems.append(f"{key} must be {described} (it is {text!r}).")
        return None


def _about_method(problem: str, method: str) -> bool:
    """Whether a validation sentence concerns the Method step (others belong to later steps)."""
    if method_named(method).trains_base:
        return problem.startswith(("method", "fsdp"))
    return problem.startswith(("method", "lora.", "qlora.", "QLoRA", "fsdp"))


# --- model facts ----------------------------------------------------------------------------


def model_facts(info: ModelInfo, resolved: ResolvedModel) -> list[tuple[str, str]]:
    """(label, value) rows for the Model step: what a person checks before training it."""
    shape = f"{info.num_layers} layers · hidden {info.hidden_size} · {info.num_heads} heads"
    if info.num_kv_heads != info.num_heads:
        shape += f" ({info.num_kv_heads} kv)"
    if info.num_experts:
        shape += f" · {info.num_experts} experts"
    rows = [
        ("source", resolved.description),
        ("architecture", f"{info.architecture} ({info.model_type})"),
        ("parameters", f"{format_count(info.num_parameters)} ({info.num_parameters:,})"),
        ("shape", shape),
        (
            "context",
            f"{format_context(info.max_context)} tokens" if info.max_context else "unknown",
        ),
        ("vocabulary", f"{info.vocab_size:,} tokens"),
        (
            "chat template",
            "yes" if info.has_chat_template else "no (chat datasets get a generic one)",
        ),
    ]
    weights = info.quantization or info.dtype or "unknown precision"
    if info.size_on_disk is not None:
        rows.append(("weights", f"{format_bytes(info.size_on_disk)} on disk · {weights}"))
    elif not resolved.has_weights:
        rows.append(("weights", f"not downloaded yet (fetched when training starts) · {weights}"))
    else:
        rows.append(("weights", weights))
    if needs_remote_code(resolved):
        rows.append(
            (
                "code",
                f"{info.name} ships its own Python code (auto_map): training it needs "
                "trust_remote_code, which runs that code; turn it on only if you trust "
                "its authors.",
            )
        )
    return rows


def needs_remote_code(resolved: ResolvedModel) -> bool:
    """Whether the model's config points transformers at code from its repository."""
    if resolved.gguf_file is not None:
        return False
    return bool(read_json_object(resolved.path / "config.json").get("auto_map"))
