"""What an objective declares: everything the rest of the program asks of it, as plain data.

An objective is the loss a run trains with (`objective:` in run.yaml). Its light twin (a module
in this package, or one named by `$TUI_FT_OBJECTIVES`) holds an `OBJECTIVE` built from these
classes; its heavy twin (the module named by `Objective.engine`) builds the TRL trainer in the
trainer process. Nothing here imports Textual or the ML stack: the UI reads it too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tui_ft.core.alarm import Alarm
from tui_ft.core.errors import UserError

# "list": a YAML list kept as written (its `check` reads it); run.yaml only, no wizard field.
SETTING_KINDS = ("int", "float", "text", "bool", "choice", "list")


@dataclass(frozen=True)
class Setting:
    """A run.yaml key the objective adds (at the top level, beside `objective:`)."""

    key: str
    default: Any
    kind: str  # one of SETTING_KINDS: how YAML values are read and the wizard's field shows it
    label: str  # the wizard's field label
    help: str  # one line: what it does and when to change it
    choices: tuple[str, ...] = ()  # for kind "choice"
    # The sentence (beginning with the key) when a well-typed value still cannot run.
    check: Callable[[Any], str | None] | None = None


@dataclass(frozen=True)
class Metric:
    """A metrics.jsonl key the trainer writes from TRL's logs."""

    key: str  # in metrics.jsonl, and the chart series' name
    log_key: str  # in the Trainer's `logs` dict


@dataclass(frozen=True)
class ChartLine:
    series: str  # a metric key (or one of the monitor's own series)
    label: str
    color: str  # a theme variable the chart draws it in
    # A mark per point instead of a line, for sparse series (eval loss): a line would cover
    # the dense one where they share a row, and the mark tells them apart without colour.
    points: str = ""


@dataclass(frozen=True)
class Chart:
    name: str
    tab: str  # the selector's short word
    lines: tuple[ChartLine, ...]
    empty: str = ""  # what shows before the first point, when "waiting for the first log" is wrong


class HealthRule(Protocol):
    """One alarm of the monitor's health line, fed every metrics record once, in order."""

    def feed(self, record: Mapping[str, Any], step: int) -> None: ...

    def alarm(self) -> Alarm | None: ...


@dataclass(frozen=True)
class MemoryNeeds:
    """What the objective adds to a supervised run's peak memory (core/estimate/peak.py)."""

    sequences_per_row: int = 1  # sequences through the model per dataset row (a pair: 2)
    # A frozen second copy of the weights for reference log-probabilities. Adapter methods
    # never need it: the reference is the base with the adapter switched off.
    reference_model: bool = False
    # Its trainer scores only the trained positions off CUDA while the logits stay small
    # (engine/train/kept_logits.py): the loss head's memory follows that path there.
    kept_logits: bool = False
    # Tokens generated after each row's prompt before the step trains on them (grpo: its
    # max_completion_length): the rows grow by this many, and generation keeps a KV cache of
    # every sequence of the batch at that length.
    generated_tokens: int = 0
    # The share of the GPU's total memory a generation engine in the trainer takes at its start
    # (grpo with `generation: vllm`: vLLM colocated, its gpu_memory_utilization), counted
    # instead of the generation KV cache above: the engine holds its own cache.
    engine_share: float = 0.0


@dataclass(frozen=True)
class Preset:
    """Where the wizard starts a run of the objective, where supervised fine-tuning's starting
    values would not suit it: RunConfig fields and the objective's own settings, by key (values
    a person changed stay: core/wizard/objective_preset.py)."""

    values: Mapping[str, Any] = field(default_factory=dict)  # on any data
    # On one of the built-in demo datasets, by its name: its documented run (added to values).
    demos: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def for_dataset(self, dataset: str) -> dict[str, Any]:
        return {**self.values, **self.demos.get(dataset.strip(), {})}

    def variants(self) -> list[Mapping[str, Any]]:
        """Every set of values it may give, whichever the dataset."""
        return [self.values, *self.demos.values()]


def _runs_anywhere(_settings: Mapping[str, Any], _gpu: Callable[[], bool]) -> UserError | None:
    return None


@dataclass(frozen=True)
class Objective:
    name: str  # the run.yaml value
    title: str  # the wizard's option
    sentences: str  # what it trains the model to do, and on which data
    engine: str  # the module of its trainer twin, imported in the trainer process only
    formats: tuple[str, ...]  # the dataset formats it trains on (core/datasets/formats.py)
    # How its trainer can batch rows (core/estimate/batching.py): `batching: auto` picks among
    # these, and a run.yaml naming another is refused.
    batchings: tuple[str, ...] = ("padding_free", "padded", "grouped")
    settings: tuple[Setting, ...] = ()
    metrics: tuple[Metric, ...] = ()  # written after `step`/`epoch`, before the common ones
    charts: tuple[Chart, ...] = ()  # shown before the monitor's common charts
    # The charts for one run's settings, where they depend on them (grpo: a line per reward
    # function, named as run.yaml names it); None: `charts` for every run.
    run_charts: Callable[[Mapping[str, Any]], tuple[Chart, ...]] | None = None
    # The trainer writes completions.jsonl (sampled completions with their scores), which
    # the monitor's completions panel shows.
    samples: bool = False
    # Fresh rules for each monitor (rules keep state), beside the common ones, for one run's
    # settings (grpo's alarms name its rewards as run.yaml does).
    health_rules: Callable[[Mapping[str, Any]], list[HealthRule]] = field(default=lambda _: [])
    memory: Callable[[Mapping[str, Any]], MemoryNeeds] = field(default=lambda _: MemoryNeeds())
    preset: Preset = field(default_factory=Preset)
    # Why a run with these settings cannot train on this machine, or None; `gpu()` says whether
    # an NVIDIA GPU will train it (asked only when the answer matters). Asked before a run
    # starts: by the launcher (core/runs/launch.py) and again by the trainer process.
    machine_check: Callable[[Mapping[str, Any], Callable[[], bool]], UserError | None] = (
        _runs_anywhere
    )

    def charts_for_run(self, settings: Mapping[str, Any]) -> tuple[Chart, ...]:
        """The charts of a run with these settings (the objective's, defaults filled in)."""
        return self.run_charts(settings) if self.run_charts is not None else self.charts

    def setting(self, key: str) -> Setting | None:
        return next((s for s in self.settings if s.key == key), None)

    def defaults(self) -> dict[str, Any]:
        return {s.key: s.default for s in self.settings}
