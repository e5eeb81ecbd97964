"""A run's evaluation: where it fits, the tasks on the base then on the tuned model, the
held-out loss, and the folder in the run's evals/ that keeps it all."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui_ft.core.chat.memory import Plan
from tui_ft.core.chat.target import ChatTarget, chat_target
from tui_ft.core.evals.placement import plan_evaluation, plan_sentence
from tui_ft.core.evals.report import EvalReport, TaskScore
from tui_ft.core.evals.store import HARNESS, discard_folder, finish_folder, start_folder
from tui_ft.core.evals.tasks import TaskSpec
from tui_ft.core.hardware.probe import probe
from tui_ft.core.models.info import read_model_info
from tui_ft.core.models.resolve import resolve_model
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.listing import active_trainers
from tui_ft.core.versions import installed_version
from tui_ft.engine.eval.harness import (
    Score,
    evaluate_task,
    harness_model,
    load_tasks,
    save_harness_output,
    task_manager,
)
from tui_ft.engine.eval.heldout import HeldOutLoss, held_out, held_out_loss
from tui_ft.engine.eval.models import SIDES, load_models

Say = Callable[[str], None]
VERSIONS = ("lm-eval", "torch", "transformers", "peft")


@dataclass(frozen=True)
class EvalOptions:
    limit: int | None = None  # questions per task
    chat_template: bool = True  # applied when the model has one
    device: str = "auto"


def evaluate_run(
    run: RunDir, specs: list[TaskSpec], options: EvalOptions, say: Say
) -> tuple[EvalReport, Path]:
    started = time.perf_counter()
    target = chat_target(run=str(run.path))
    say(f"reading {len(specs)} task(s) …")
    manager = task_manager(specs)
    tasks = load_tasks(specs, manager)  # an unknown or unreachable task fails before loading
    names = [task.config.task for task in tasks]
    plan = _plan(target, options.device)
    say(f"evaluating in {plan.precision}. {plan_sentence(plan)} {target.note}".strip())
    models = load_models(target, plan)
    chat = options.chat_template and models.chat_model
    data, why = held_out(target.config, models.tokenizer)
    folder = start_folder(run.path)
    try:
        scores: dict[str, dict[str, Score]] = {}
        losses: dict[str, HeldOutLoss] = {}
        for side in SIDES:
            with models.side(side) as model:
                lm = harness_model(model, models.tokenizer)
                for task, name in zip(tasks, names, strict=True):
                    say(f"{side}: {name} …")
                    began = time.perf_counter()
                    score = evaluate_task(
                        lm,
                        task,
                        manager,
                        limit=options.limit,
                        chat_template=chat,
                        system_prompt=target.config.system_prompt,
                    )
                    save_harness_output(folder / HARNESS, side, score)
                    scores.setdefault(name, {})[side] = score
                    say(
                        f"{side}: {name} {score.metric} {score.value:.3f} "
                        f"({score.samples} questions, {time.perf_counter() - began:.0f} s)"
                    )
                if data is not None:
                    say(f"{side}: heldout_loss …")
                    began = time.perf_counter()
                    device = str(next(model.parameters()).device)
                    losses[side] = held_out_loss(model, data, device)
                    say(
                        f"{side}: heldout_loss loss {losses[side].loss:.3f} "
                        f"({data.examples} examples, {time.perf_counter() - began:.0f} s)"
                    )
        notes = [n for n in (target.note, plan.note, why) if n]
        if options.chat_template and not models.chat_model:
            notes.append("The model has no chat template: the questions were asked as plain text.")
        report = EvalReport(
            run=run.name,
            tasks=[_task_score(scores[name]) for name in names] + _held_out_scores(losses),
            created=time.strftime("%Y-%m-%d %H:%M:%S"),
            limit=options.limit,
            chat_template=chat,
            device=plan.device,
            kind=target.kind,
            seconds=round(time.perf_counter() - started, 1),
            versions={name: installed_version(name) or "" for name in VERSIONS},
            notes=notes,
        )
        return report, finish_folder(folder, report)
    except BaseException:
        discard_folder(folder)
        raise


def _plan(target: ChatTarget, device: str) -> Plan:
    """With a fresh reading of the GPUs: nothing touches one before the plan says it fits."""
    info = read_model_info(resolve_model(target.config.model))
    return plan_evaluation(target, info, probe(), device, training_runs=active_trainers())


def _task_score(sides: dict[str, Score]) -> TaskScore:
    base, tuned = sides["base"], sides["tuned"]
    return TaskScore(
        task=base.task,
        metric=base.metric,
        base=base.value,
        tuned=tuned.value,
        base_stderr=base.stderr,
        tuned_stderr=tuned.stderr,
        higher_is_better=base.higher_is_better,
        samples=base.samples,
    )


def _held_out_scores(losses: dict[str, HeldOutLoss]) -> list[TaskScore]:
    if set(losses) != set(SIDES):
        return []
    base, tuned = losses["base"], losses["tuned"]
    loss = TaskScore(
        "heldout_loss",
        "loss",
        base.loss,
        tuned.loss,
        base.stderr,
        tuned.stderr,
        higher_is_better=False,
        samples=base.examples,
        checks_forgetting=False,
    )
    # Perplexity's standard error by the delta method: d exp(x) = exp(x) dx.
    perplexity = TaskScore(
        "heldout_perplexity",
        "perplexity",
        math.exp(base.loss),
        math.exp(tuned.loss),
        None if base.stderr is None else math.exp(base.loss) * base.stderr,
        None if tuned.stderr is None else math.exp(tuned.loss) * tuned.stderr,
        higher_is_better=False,
        samples=base.examples,
        checks_forgetting=False,
    )
    return [loss, perplexity]
