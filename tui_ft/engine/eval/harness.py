"""One task on one side, through EleutherAI's lm-evaluation-harness.

The model is handed to lm-eval already loaded (its `HFLM` wraps it), so base and tuned share one
copy. Tasks are found by lm-eval's own `TaskManager`: its built-in names (their data from the
Hugging Face cache, or the hub when online) and the folders of the task files named, through
`include_path`. A task file's relative data paths are read from its own folder: lm-eval reads
them from the working directory, so the task is loaded and run from there.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from tui_ft.core.errors import UserError
from tui_ft.core.evals.tasks import TaskSpec, task_name

BATCH_SIZE = 16  # fixed: lm-eval's "auto" probes the largest batch, a memory spike beside a run
BOOTSTRAP_ITERS = 1000  # for metrics without a closed-form standard error
SEED = 1234
_NOT_METRICS = ("alias", "samples")


@dataclass(frozen=True)
class Score:
    task: str
    metric: str
    value: float
    stderr: float | None
    higher_is_better: bool
    samples: int | None
    harness: dict[str, Any]  # lm-eval's results for this task, samples apart
    logged: list[dict[str, Any]]  # lm-eval's per-question records


def task_manager(specs: list[TaskSpec]) -> Any:
    """One TaskManager for every task: lm-eval's own tasks when a name is asked for, and the
    folders of the task files."""
    from lm_eval.tasks import TaskManager

    folders = sorted({str(s.file.parent) for s in specs if s.file is not None})
    # Indexing lm-eval's thousands of task files takes seconds: only when a name needs it.
    defaults = any(s.file is None for s in specs)
    return TaskManager(include_path=folders or None, include_defaults=defaults)


def harness_model(model: Any, tokenizer: Any) -> Any:
    """The loaded model as lm-eval's HFLM, without its progress bars: lm-eval draws one per
    request type (redrawn in place, into the CLI's output and the Evaluate screen's log) and
    passes `disable=False` to tqdm itself, which TQDM_DISABLE cannot override. The per-task
    progress lines say where the evaluation is."""
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=BATCH_SIZE)
    for request in ("loglikelihood", "loglikelihood_rolling", "generate_until"):
        setattr(lm, request, functools.partial(getattr(lm, request), disable_tqdm=True))
    return lm


def load_tasks(specs: list[TaskSpec], manager: Any) -> list[Any]:
    """lm-eval's Task for each spec, its data read: an unknown name, a task whose data cannot
    be had (offline, not cached) or a broken task file fails here, before any model loads."""
    tasks = []
    for spec in specs:
        name = task_name(spec)
        try:
            with _working_dir(spec.file.parent if spec.file is not None else None):
                loaded = manager.load([name])
        except Exception as err:  # noqa: BLE001 - lm-eval and datasets raise anything: a sentence
            raise _task_error(spec, name, err) from None
        if loaded.get("groups") or name not in loaded["tasks"]:
            raise UserError(
                f"{spec.label} is a group of lm-eval tasks, not one task.",
                "Name its tasks one by one (`lm-eval ls tasks` lists them).",
            )
        tasks.append(loaded["tasks"][name])
    return tasks


def evaluate_task(
    lm: Any,
    task: Any,
    manager: Any,
    *,
    limit: int | None,
    chat_template: bool,
    system_prompt: str | None,
) -> Score:
    import lm_eval.evaluator
    from lm_eval import simple_evaluate

    name = task.config.task
    # The harness's environment report runs pip and nvidia-smi on every call (2-3 s each, per
    # task and side); tui-ft records the versions that matter in result.json instead.
    quiet = mock.patch.object(lm_eval.evaluator, "add_env_info", lambda results: None)
    try:
        with quiet:
            results = simple_evaluate(
                model=lm,
                tasks=[task],
                task_manager=manager,  # else each call indexes every lm-eval task again
                limit=limit,
                apply_chat_template=chat_template,
                fewshot_as_multiturn=chat_template,
                system_instruction=system_prompt,
                log_samples=True,
                bootstrap_iters=BOOTSTRAP_ITERS,
                random_seed=SEED,
                numpy_random_seed=SEED,
                torch_random_seed=SEED,
                fewshot_random_seed=SEED,
            )
    except (ValueError, KeyError, TypeError, IndexError) as err:  # a task lm-eval cannot run
        raise UserError(
            f"task {name} failed in lm-eval: {type(err).__name__}: {_first_line(err)}",
            "Check the task file against lm-eval's task format (docs/evaluate.md).",
        ) from None
    if not results or name not in results.get("results", {}):
        raise UserError(f"lm-eval returned no result for task {name}.")
    return _score(name, results)


def _score(name: str, results: dict[str, Any]) -> Score:
    """The task's first metric (in the order its config lists them), with its standard error."""
    row = results["results"][name]
    metric_key = next(
        key
        for key, value in row.items()
        if "," in key
        and "_stderr," not in key
        and isinstance(value, int | float)
        and key.split(",")[0] not in _NOT_METRICS
    )
    metric = metric_key.split(",")[0]
    stderr = row.get(metric_key.replace(",", "_stderr,", 1))
    higher = results.get("higher_is_better", {}).get(name, {}).get(metric, True)
    n = results.get("n-samples", {}).get(name, {}).get("effective")
    logged = results.get("samples", {}).get(name, [])
    harness = {key: value for key, value in results.items() if key != "samples"}
    return Score(
        task=name,
        metric=metric,
        value=float(row[metric_key]),
        stderr=_number(stderr),
        higher_is_better=bool(higher) if higher is not None else True,
        samples=int(n) if isinstance(n, int) else None,
        harness=harness,
        logged=list(logged),
    )


def save_harness_output(folder: Path, side: str, score: Score) -> None:
    """lm-eval's own output beside ours: its results, and one line per question answered."""
    out = folder / side
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{score.task}.json").write_text(
        json.dumps(score.harness, indent=2, default=_text, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    with (out / f"{score.task}.samples.jsonl").open("w", encoding="utf-8") as handle:
        for record in score.logged:
            handle.write(json.dumps(record, default=_text, ensure_ascii=False) + "\n")


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None  # lm-eval writes "N/A" where it has no standard error


def _text(value: object) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


@contextlib.contextmanager
def _working_dir(folder: Path | None) -> Iterator[None]:
    if folder is None:
        yield
        return
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def _task_error(spec: TaskSpec, name: str, err: Exception) -> UserError:
    text = _first_line(err)
    unknown = isinstance(err, KeyError) or "not a registered task" in text
    if unknown and spec.file is None:
        return UserError(
            f"lm-eval knows no task named {name}.",
            "`lm-eval ls tasks` lists them; a task file is named by its path (.yaml).",
        )
    if spec.file is None and os.environ.get("HF_HUB_OFFLINE") == "1":
        return UserError(
            f"task {name} cannot run offline: its data are not in the local Hugging Face "
            f"cache ({text}).",
            "Run it once on a machine online (it is cached then), or use a task file with "
            "local data, or `--tasks forgetting`.",
        )
    return UserError(
        f"task {spec.label} failed in lm-eval: {type(err).__name__}: {text}",
        "Check the task file against lm-eval's task format (docs/evaluate.md)."
        if spec.file is not None
        else "Check the task's name and that its data can be reached (online, or cached).",
    )


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
