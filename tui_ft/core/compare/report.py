"""Runs side by side: `compare_runs(["a", "b", "c"])` reads each run directory once and holds
what `tui-ft compare` prints and the Compare screen shows: each run's facts, the config keys
that differ, the loss and eval-loss curves, the evaluation results and the probe answers.
`to_dict()` is the `--json` shape (docs/compare.md). Runs of different base models compare
too: `notes` says so, since their losses then differ for that reason as well."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_ft.core.compare.config_diff import differing_keys
from tui_ft.core.compare.curves import CURVES, Point, curves
from tui_ft.core.compare.evals import EvalScore, eval_results
from tui_ft.core.compare.facts import RunFacts, run_facts
from tui_ft.core.compare.probes import (
    Answers,
    ProbeRow,
    answers_by_step,
    last_rows,
    matching_rows,
)
from tui_ft.core.config import RunConfig
from tui_ft.core.errors import UserError
from tui_ft.core.evals.forgetting import run_forgotten
from tui_ft.core.methods import METHODS
from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.layout import RunDir

MIN_RUNS = 2


@dataclass(frozen=True)
class Comparison:
    runs: list[RunFacts]
    config: dict[str, dict[str, Any]]  # key -> run -> value, only the keys that differ
    curves: dict[str, dict[str, list[Point]]]  # run -> "loss" | "eval_loss" -> points
    evals: dict[str, dict[str, EvalScore]]  # run -> task -> its newest score
    probes: list[ProbeRow]  # at the steps every run answered
    last_probes: list[ProbeRow]  # each run's last answers
    # run -> the tasks its `tui-ft eval` results flag for forgetting, each task's newest score
    # (the monitor's and `tui-ft runs`' alarm); None: no such evaluation.
    forgetting: dict[str, list[str] | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [run.name for run in self.runs]

    @property
    def same_base_model(self) -> bool:
        return len({run.model for run in self.runs}) == 1

    @property
    def can_chat(self) -> bool:
        """Two runs the A/B chat can put side by side: one base model, and both adapters or
        both full fine-tunes (core/chat/target.py says why not, when asked)."""
        if len(self.runs) != 2 or not self.same_base_model:
            return False
        if not all(run.method in METHODS for run in self.runs):
            return False
        return len({METHODS[run.method].trains_base for run in self.runs}) == 1

    @property
    def tasks(self) -> list[str]:
        return sorted({task for scores in self.evals.values() for task in scores})

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": [run.to_dict() for run in self.runs],
            "same_base_model": self.same_base_model,
            "notes": self.notes,
            "config": self.config,
            "curves": {
                name: {
                    run: [p.to_dict() for p in points[name]] for run, points in self.curves.items()
                }
                for name in CURVES
            },
            "evals": {
                "tasks": self.tasks,
                "runs": {
                    run: {task: score.to_dict() for task, score in scores.items()}
                    for run, scores in self.evals.items()
                },
                "forgetting": self.forgetting,
            },
            "probes": {
                "matching": [row.to_dict() for row in self.probes],
                "last": [row.to_dict() for row in self.last_probes],
            },
        }


def compare_runs(
    names: Sequence[str], home: Path | None = None, now: float | None = None
) -> Comparison:
    """`names`: run names or folders, at least two, each once. UserError names a missing one."""
    runs = open_runs(names, home)
    facts: list[RunFacts] = []
    configs: dict[str, RunConfig | None] = {}
    run_curves: dict[str, dict[str, list[Point]]] = {}
    probe_answers: dict[str, Answers] = {}
    for run in runs:
        records = read_jsonl(run.metrics_path)
        run_fact, configs[run.name] = run_facts(run, records, now)
        facts.append(run_fact)
        run_curves[run.name] = curves(records)
        probe_answers[run.name] = answers_by_step(read_jsonl(run.probes_path))
    comparison = Comparison(
        runs=facts,
        config=differing_keys(configs),
        curves=run_curves,
        evals={run.name: eval_results(run) for run in runs},
        probes=matching_rows(probe_answers),
        last_probes=last_rows(probe_answers),
        forgetting={run.name: run_forgotten(run.path) for run in runs},
    )
    comparison.notes.extend(_notes(comparison, all(probe_answers.values())))
    return comparison


def open_runs(names: Sequence[str], home: Path | None = None) -> list[RunDir]:
    if len(names) < MIN_RUNS:
        raise UserError(
            "compare needs at least two runs.", "Name them all: `tui-ft compare RUN_A RUN_B`."
        )
    runs = [RunDir.open(name, home) for name in names]
    seen: dict[Path, str] = {}
    for name, run in zip(names, runs, strict=True):
        if run.path in seen:
            raise UserError(
                f"run {run.name} is named twice ({seen[run.path]!r} and {name!r}).",
                "Name each run once.",
            )
        seen[run.path] = name
    clashing = {run.name for run in runs}
    if len(clashing) < len(runs):  # two folders of the same name (given by path)
        raise UserError(
            "two of these runs have the same name, so their columns could not be told apart.",
            "Compare runs from one runs home, or rename one of the folders.",
        )
    return runs


def _notes(comparison: Comparison, all_probed: bool) -> list[str]:
    notes = []
    if not comparison.same_base_model:
        models = ", ".join(f"{run.name}: {run.model or '(unknown)'}" for run in comparison.runs)
        notes.append(
            f"These runs start from different base models ({models}): their losses and answers "
            "differ for that reason too, and they cannot share an A/B chat."
        )
    for run in comparison.runs:
        if run.note:
            notes.append(f"{run.name}: {run.note}")
    if all_probed and not comparison.probes:
        notes.append(
            "The runs never answered their probes at the same step; their last answers are "
            "side by side instead."
        )
    return notes
