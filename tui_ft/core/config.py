"""RunConfig: the one description of a run. The wizard fills it, YAML holds it, the trainer reads it.

Loading never raises a traceback at a person: every problem becomes a sentence naming the key,
and all problems are reported together so one edit fixes them all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tui_ft.core.errors import UserError
from tui_ft.core.methods import DEFAULT_METHOD, METHODS, method_named
from tui_ft.core.objectives import DEFAULT_OBJECTIVE, objective_named, objectives, owners_of
from tui_ft.core.objectives.spec import Objective
from tui_ft.core.paths import disk_error
from tui_ft.core.trackers import unknown_trackers

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup")
OPTIMIZERS = ("adamw", "adamw_8bit", "paged_adamw_8bit", "adafactor", "sgd")
QUANT_TYPES = ("nf4", "fp4")
BATCHINGS = ("auto", "padded", "grouped", "padding_free")  # core/estimate/batching.py


@dataclass
class LoraSettings:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    # "all-linear" (every linear layer of the decoder blocks) or a list of module names.
    targets: str | list[str] = "all-linear"
    dora: bool = False


@dataclass
class QloraSettings:
    quant_type: str = "nf4"
    double_quant: bool = True


@dataclass
class RunConfig:
    name: str = ""  # empty: the launcher derives one from model, dataset and time
    model: str = "demo"
    method: str = DEFAULT_METHOD  # which weights train (core/methods.py)
    objective: str = DEFAULT_OBJECTIVE  # what loss trains them (core/objectives)
    # An earlier run whose output this one begins from (core/runs/lineage.py); empty: the model.
    start_from: str = ""
    dataset: str = "demo"
    dataset_format: str = "auto"
    dataset_columns: dict[str, str] = field(default_factory=dict)
    skip_bad_rows: bool = False
    system_prompt: str | None = None
    max_length: int = 1024
    epochs: float = 3.0
    max_steps: int | None = None  # when set, overrides epochs
    learning_rate: float = 2e-4
    batch_size: int = 4
    grad_accum: int = 1
    warmup_ratio: float = 0.03
    lr_scheduler: str = "cosine"
    weight_decay: float = 0.0
    seed: int = 42
    eval_split: float = 0.1
    gradient_checkpointing: bool = False
    packing: bool = False  # off: padding-free batches keep the step count (docs/architecture.md)
    batching: str = "auto"  # how rows become micro-batches (core/estimate/batching.py)
    optimizer: str = "adamw"
    precision: str = "auto"
    save_every_steps: int = 50
    eval_every: int = 0  # steps; 0: planned within the extras' budget (core/runs/extras.py)
    probe_every: int = 0  # steps; 0: the same; probes follow a forced eval_every
    # Answered greedily at each evaluation ("watch it learn"); empty: the dataset's held-out
    # prompts for the demo, else the first user turns of a few evaluation examples.
    probe_prompts: list[str] = field(default_factory=list)
    save_total_limit: int = 2
    logging_steps: int = 1
    # Experiment trackers that get a copy of the metrics (core/trackers.py); empty: none.
    report_to: list[str] = field(default_factory=list)
    trust_remote_code: bool = False
    gpus: list[str] = field(default_factory=list)  # indices or UUIDs; empty: the freest
    fsdp: bool = False  # full fine-tuning on several processes: shard instead of replicate
    lora: LoraSettings = field(default_factory=LoraSettings)
    qlora: QloraSettings = field(default_factory=QloraSettings)
    # The objective's own keys (its `settings`), at the top level of run.yaml.
    objective_settings: dict[str, Any] = field(default_factory=dict, metadata={"yaml": False})

    @classmethod
    def from_dict(
        cls, data: Any, source: str = "the config", lines: Mapping[str, int] | None = None
    ) -> RunConfig:
        """Build and validate; raises UserError listing every problem found, each at the line
        of the key it is about when `lines` (dotted key → line; "" the document) are given."""
        lines = lines or {}
        problems: list[str] = []
        found = _Problems(problems, lines)
        data = _renamed_keys(data, found)
        data = _one_tracker_listed(data)
        data, settings = _objective_settings(data, found)
        config = _build(cls, data, "", found)
        config.objective_settings = settings
        problems += [_at_line(p, lines) for p in config.validate()]
        if problems:
            raise _config_error(source, problems)
        return config

    def to_dict(self) -> dict[str, Any]:
        """As run.yaml holds it: the objective's settings beside `objective:`, and neither
        written for the default objective (nor an empty `start_from`), so a supervised run's
        file reads as it always did."""
        data = dataclasses.asdict(self)
        settings = data.pop("objective_settings")
        if not self.start_from:
            del data["start_from"]  # as rarely set as the objective: written only when it is
        if not self.report_to:
            del data["report_to"]  # likewise
        if self.objective == DEFAULT_OBJECTIVE and not settings:
            del data["objective"]
            return data
        flat: dict[str, Any] = {}
        for key, value in data.items():
            flat[key] = value
            if key == "objective":
                flat.update(settings)
        return flat

    def setting(self, key: str) -> Any:
        """The objective's setting `key`, its default when run.yaml does not set it."""
        spec = objective_named(self.objective).setting(key)
        if spec is None:
            raise KeyError(f"objective {self.objective} has no setting {key!r}")
        return self.objective_settings.get(key, spec.default)

    def validate(self) -> list[str]:
        """Every problem as a human sentence; empty when the config can run."""
        p: list[str] = []
        _one_of(p, "method", self.method, tuple(METHODS))
        _one_of(p, "objective", self.objective, tuple(objectives()))
        _one_of(p, "precision", self.precision, PRECISIONS)
        _one_of(p, "lr_scheduler", self.lr_scheduler, SCHEDULERS)
        _one_of(p, "optimizer", self.optimizer, OPTIMIZERS)
        _one_of(p, "batching", self.batching, BATCHINGS)
        if self.objective in objectives():
            objective = objective_named(self.objective)
            _one_of(p, "dataset_format", self.dataset_format, dataset_formats(objective))
            if self.batching != "auto" and self.batching not in objective.batchings:
                p.append(
                    f"batching: {self.batching} is not how objective {objective.name} batches "
                    f"its rows; it takes {' or '.join(('auto', *objective.batchings))}."
                )
            p += _setting_problems(objective, self.objective_settings)
        _one_of(p, "qlora.quant_type", self.qlora.quant_type, QUANT_TYPES)
        p += unknown_trackers(self.report_to)
        if not self.model.strip():
            p.append(
                "model must name a model: `demo`, a folder, a .gguf file or a Hugging Face id."
            )
        if self.start_from.strip() and self.start_from.strip() == self.name.strip():
            p.append(
                f"start_from names this run itself ({self.start_from!r}); name an earlier run."
            )
        if not self.dataset.strip():
            p.append("dataset must name a dataset: `demo`, a file or a Hugging Face id.")
        for key, value in (
            ("max_length", self.max_length),
            ("batch_size", self.batch_size),
            ("grad_accum", self.grad_accum),
            ("logging_steps", self.logging_steps),
            ("save_total_limit", self.save_total_limit),
            ("lora.rank", self.lora.rank),
            ("lora.alpha", self.lora.alpha),
        ):
            if value < 1:
                p.append(f"{key} must be at least 1 (it is {value}).")
        if self.max_length > 1_048_576:
            p.append(f"max_length {self.max_length} is beyond any model's context; use <= 1048576.")
        if self.learning_rate <= 0:
            p.append(f"learning_rate must be > 0 (it is {self.learning_rate}).")
        elif self.learning_rate > 1:
            p.append(f"learning_rate {self.learning_rate} is far too high; typical: 1e-5 to 5e-4.")
        if self.max_steps is None and self.epochs <= 0:
            p.append(f"epochs must be > 0 (it is {self.epochs}), or set max_steps.")
        if self.max_steps is not None and self.max_steps < 1:
            p.append(
                f"max_steps must be at least 1 (it is {self.max_steps}); remove it to use epochs."
            )
        for key, fraction, upper in (
            ("warmup_ratio", self.warmup_ratio, 1.0),
            ("eval_split", self.eval_split, 0.5),
            ("lora.dropout", self.lora.dropout, 1.0),
        ):
            if not 0 <= fraction < upper:
                p.append(f"{key} must be at least 0 and below {upper} (it is {fraction}).")
        amounts: tuple[tuple[str, float], ...] = (
            ("weight_decay", self.weight_decay),
            ("save_every_steps", self.save_every_steps),
            ("eval_every", self.eval_every),
            ("probe_every", self.probe_every),
        )
        for key, amount in amounts:
            if amount < 0:
                p.append(f"{key} must not be negative (it is {amount}).")
        if isinstance(self.lora.targets, list) and not self.lora.targets:
            p.append("lora.targets is an empty list; use `all-linear` or name modules like q_proj.")
        if self.method in METHODS:
            method = method_named(self.method)
            if self.fsdp and not method.trains_base:
                p.append("fsdp shards full fine-tuning only; LoRA and QLoRA runs use plain DDP.")
            if method.quantized and self.precision == "fp32":
                p.append(
                    "QLoRA computes in 16-bit; precision fp32 defeats it. "
                    "Use precision auto, or method lora."
                )
        return p


def dataset_formats(objective: Objective) -> tuple[str, ...]:
    """The `dataset_format` values a run of `objective` accepts: its formats, or detection."""
    return ("auto", *objective.formats)


# How a setting's kind reads from YAML (core/objectives/spec.py SETTING_KINDS).
_SETTING_TYPES: dict[str, Any] = {
    "int": int,
    "float": float,
    "text": str,
    "bool": bool,
    "list": list,
}


# Keys run.yaml files written by earlier versions still use, and their names now.
RENAMED = {"eval_every_steps": "eval_every", "probe_every_steps": "probe_every"}


def _renamed_keys(data: Any, problems: _Problems) -> Any:
    """`data` with the keys of earlier versions under their new names, so old files still run."""
    if not isinstance(data, dict) or RENAMED.keys().isdisjoint(data):
        return data
    renamed = dict(data)
    for old, new in RENAMED.items():
        if old not in renamed:
            continue
        if new in renamed:
            problems.add(old, f"`{old}` is the old name of `{new}`, which is set too; keep one.")
        renamed[new] = renamed.pop(old)
    return renamed


def _one_tracker_listed(data: Any) -> Any:
    """`report_to: wandb` as `[wandb]`, and `none` as no tracker, as transformers reads them."""
    if not isinstance(data, dict) or not isinstance(data.get("report_to"), str):
        return data
    name = data["report_to"].strip()
    return {**data, "report_to": [] if name in ("", "none") else [name]}


def _objective_settings(data: Any, problems: _Problems) -> tuple[Any, dict[str, Any]]:
    """`data` without the objective's own keys, and those keys' values read by their kind.
    A key another objective declares is named as such, not as unknown."""
    if not isinstance(data, dict):
        return data, {}
    name = data.get("objective", DEFAULT_OBJECTIVE)
    objective = objectives().get(name) if isinstance(name, str) else None
    rest: dict[Any, Any] = {}
    settings: dict[str, Any] = {}
    for key, raw in data.items():
        spec = objective.setting(str(key)) if objective is not None else None
        if spec is None:
            owners = owners_of(str(key)) if str(key) not in _yaml_fields(RunConfig) else []
            if owners:
                problems.add(str(key), _not_this_objective(str(key), name, owners))
            else:
                rest[key] = raw
            continue
        if spec.kind == "list":
            ok, value = isinstance(raw, list), raw
        else:
            ok, value = _coerce(raw, _SETTING_TYPES.get(spec.kind, str))
        if ok:
            settings[spec.key] = value
        else:
            described = _describe(_SETTING_TYPES.get(spec.kind, str))
            problems.add(spec.key, f"`{spec.key}` must be {described}, not {_kind(raw)}.")
    return rest, settings


def _not_this_objective(key: str, name: Any, owners: list[Objective]) -> str:
    names = [o.name for o in owners]
    if len(names) == 1:
        return (
            f"`{key}` is a setting of objective {names[0]}; this run's objective is {name}. "
            f"Set `objective: {names[0]}` or remove `{key}`."
        )
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    return (
        f"`{key}` is a setting of objectives {listed}; this run's objective is {name}. "
        f"Set `objective:` to one of them or remove `{key}`."
    )


def _setting_problems(objective: Objective, values: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for spec in objective.settings:
        value = values.get(spec.key, spec.default)
        if spec.kind == "choice":
            _one_of(problems, spec.key, value, spec.choices)
        elif spec.check is not None and (sentence := spec.check(value)) is not None:
            problems.append(sentence)
    return problems


def _yaml_fields(cls: type) -> set[str]:
    """The dataclass fields run.yaml spells out (not the objective's settings dict)."""
    return {f.name for f in dataclasses.fields(cls) if f.metadata.get("yaml", True)}


def load_config(path: str | Path) -> RunConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(
            f"no config file at {path}.", "Check the path, or run `tui-ft` to make one."
        ) from None
    except UnicodeDecodeError as err:
        line = err.object.count(b"\n", 0, err.start) + 1
        raise UserError(
            f"{path} line {line}: not UTF-8 text (the byte 0x{err.object[err.start]:02x}).",
            "Save the file as UTF-8 and retry.",
        ) from None
    except OSError as err:
        raise UserError(
            f"cannot read {path}: {err.strerror or err}.", "Name a run.yaml file you can read."
        ) from None
    data, lines = _parsed_yaml(text, path)
    if data is None or data == {}:  # not a default run: an empty file is a mistake
        raise UserError(
            f"{path} is empty; the smallest run.yaml is `model: demo` and `dataset: demo`.",
            "Write the model and dataset to train (one `key: value` a line), or run `tui-ft` to "
            "make one.",
        )
    return RunConfig.from_dict(data, source=str(path), lines=lines)


def _parsed_yaml(text: str, path: Path) -> tuple[Any, dict[str, int]]:
    """The document, and the line of each key (dotted: `lora.rank`) for messages."""
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader, see _Loader
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        if mark is None and isinstance(err, yaml.reader.ReaderError):
            where = f" line {text.count(chr(10), 0, err.position) + 1}"
        else:
            where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None) or getattr(err, "reason", None) or "not valid YAML"
        raise UserError(
            f"{path}{where}: {problem}.", "Fix the YAML syntax there and retry."
        ) from None
    except RecursionError:
        raise UserError(
            f"{path} line {_deepest_line(text)}: lists or mappings nest too deeply to read.",
            "A run.yaml nests two levels at most (`lora:` then `rank: 8`); fix the file there.",
        ) from None
    lines: dict[str, int] = {}
    if node is not None:
        lines[""] = node.start_mark.line + 1
        _key_lines(node, "", lines)
    return data, lines


class _Loader(yaml.SafeLoader):
    """SafeLoader whose value errors (`2024-13-01` read as a date, a 5000-digit number) are
    YAML errors at the value's line, like syntax errors, instead of bare ValueErrors."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as err:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value!r} ({err})", node.start_mark
            ) from None


def _key_lines(node: yaml.Node, prefix: str, lines: dict[str, int]) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode):
            # Named as _build names it: `null:` is the key None, `True:` the key True.
            name = str(yaml.SafeLoader("").construct_object(key, deep=True))
            lines.setdefault(prefix + name, key.start_mark.line + 1)
            _key_lines(value, f"{prefix}{name}.", lines)


def _deepest_line(text: str) -> int:
    """The line where the document first reaches its deepest nesting (a parse that recursed
    too far has no position of its own)."""
    depth = deepest = line = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                # Parsed events always carry a mark; the stubs allow None for hand-made ones.
                if depth > deepest and event.start_mark is not None:
                    deepest, line = depth, event.start_mark.line + 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass  # unclosed brackets, say: the deepest point so far is the place to look
    return line


def save_config(config: RunConfig, path: str | Path) -> None:
    """Atomic: a reader never sees a half-written run.yaml."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(dump_config(config), "utf-8")
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise disk_error(err, path, "the run config") from None


def dump_config(config: RunConfig) -> str:
    """The YAML text `save_config` writes: what a review screen shows is what will run."""
    return yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True)


def all_keys(cls: type = RunConfig, prefix: str = "") -> list[str]:
    """Dotted names of every setting (`lora.rank` ...), for messages and completion."""
    keys: list[str] = []
    for f in dataclasses.fields(cls):
        if not f.metadata.get("yaml", True):
            continue
        hint = typing.get_type_hints(cls)[f.name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            keys.extend(all_keys(hint, f"{prefix}{f.name}."))
        else:
            keys.append(prefix + f.name)
    if cls is RunConfig:
        keys += [s.key for o in objectives().values() for s in o.settings]
    return keys


@dataclass
class _Problems:
    """Problems found while building, each at the line of its key when the file has it."""

    sentences: list[str]
    lines: Mapping[str, int]

    def add(self, key: str, sentence: str) -> None:
        line = self.lines.get(key)
        self.sentences.append(sentence if line is None else f"line {line}: {sentence}")


def _at_line(problem: str, lines: Mapping[str, int]) -> str:
    """A validate() sentence at the line of the key it names first (it begins with its key;
    a cross-field one names its keys later)."""
    first = re.match(r"[a-z_.]+", problem)
    key = first.group(0) if first else None
    if key not in lines:
        key = next((k for k in lines if k and re.search(rf"\b{re.escape(k)}\b", problem)), None)
    return problem if key is None else f"line {lines[key]}: {problem}"


def _config_error(source: str, problems: list[str]) -> UserError:
    if len(problems) == 1:
        where = " " if problems[0].startswith("line ") else ": "
        return UserError(f"{source}{where}{problems[0]}", "Fix it and retry.")
    listing = "\n".join(f"  - {p}" for p in problems)
    return UserError(f"{source} has {len(problems)} problems:\n{listing}", "Fix them and retry.")


def _one_of(problems: list[str], key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        problems.append(f"{key} must be one of {', '.join(allowed)} (it is {value!r}).")


def _build(cls: type, data: Any, prefix: str, problems: _Problems) -> Any:
    if not isinstance(data, dict):
        where = f"`{prefix[:-1]}`" if prefix else "the top level"
        problems.add(
            prefix[:-1], f"{where} must be a mapping of keys to values, not {_kind(data)}."
        )
        return cls()
    hints = typing.get_type_hints(cls)
    known = _yaml_fields(cls)
    values: dict[str, Any] = {}
    for key, raw in data.items():
        name = str(key)
        dotted = prefix + name
        if name not in known:
            near = difflib.get_close_matches(dotted, all_keys(), n=1, cutoff=0.6)
            hint = f"; did you mean `{near[0]}`?" if near else "."
            problems.add(dotted, f"unknown key `{dotted}`{hint}")
            continue
        hint_type = hints[name]
        if isinstance(hint_type, type) and dataclasses.is_dataclass(hint_type):
            values[name] = _build(hint_type, {} if raw is None else raw, dotted + ".", problems)
        else:
            ok, value = _coerce(raw, hint_type)
            if ok:
                values[name] = value
            else:
                problems.add(
                    dotted, f"`{dotted}` must be {_describe(hint_type)}, not {_kind(raw)}."
                )
    return cls(**values)


def _coerce(value: Any, hint: Any) -> tuple[bool, Any]:
    """Accept what YAML gives for `hint`; pyyaml reads `2e-4` as a string, so floats parse too."""
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    if value is None:
        return (type(None) in options), None
    for option in options:
        origin = typing.get_origin(option) or option
        if origin is bool and isinstance(value, bool):
            return True, value
        if origin is int and isinstance(value, int) and not isinstance(value, bool):
            return True, value
        if origin is float and not isinstance(value, bool):
            number = _finite(value)
            if number is not None:
                return True, number
        if origin is str and isinstance(value, str | int | float) and not isinstance(value, bool):
            return True, str(value)
        if origin is list and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return True, list(value)
        if origin is dict and isinstance(value, dict):
            return True, {str(k): str(v) for k, v in value.items()}
    return False, None


def _finite(value: Any) -> float | None:
    """A finite float from a number or its text; None otherwise (nan passes every range check)."""
    if not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _describe(hint: Any) -> str:
    names = {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "text",
        list: "a list of names",
        dict: "a mapping",
        type(None): "empty",
    }
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    return " or ".join(names.get(typing.get_origin(o) or o, str(o)) for o in options)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
