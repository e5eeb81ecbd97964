"""One training run, start to end, as the trainer process lives it: every stage reports to the
run directory, and whatever stops it ends in a state a reader understands."""

from __future__ import annotations

import os
import shutil
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.errors import UserError
from tui_ft.core.hardware.probe import probe
from tui_ft.core.objectives import objective_named
from tui_ft.core.runs.checkpoints import COMPLETE_MARKER
from tui_ft.core.runs.layout import RunDir, checkpoint_step
from tui_ft.core.runs.lineage import start_point
from tui_ft.core.trackers import missing_tracker_error, tracker_env
from tui_ft.engine import probes
from tui_ft.engine.disk import is_disk_full
from tui_ft.engine.precision import resolve_precision
from tui_ft.engine.train.callback import RunDirCallback
from tui_ft.engine.train.failures import classify
from tui_ft.engine.train.ledger import ledger_at_start
from tui_ft.engine.train.memory import peak_summary
from tui_ft.engine.train.prepared import Prepared
from tui_ft.engine.train.resume import resume_point
from tui_ft.engine.train.setup import (
    is_main_process,
    load_training_model,
    make_trainer,
    planned_steps,
    prepare_tokenizer_and_data,
    refuse_this_machine,
    training_args,
    world_size,
)
from tui_ft.engine.train.status_writer import StatusWriter


class StopRequested(Exception):
    """SIGTERM arrived before the training loop could stop gracefully."""


def run_training(run: RunDir, stop_requested: threading.Event, resume: bool = False) -> int:
    """Exit code: 0 completed or stopped on request, 1 failed."""
    main = is_main_process()
    status = StatusWriter(run, enabled=main).start()
    stage = "config"
    callback: RunDirCallback | None = None
    try:
        config = load_config(run.config_path)
        report_to_trackers(config, run)
        refuse_this_machine(config)
        start = start_point(config, run.path.parent)
        stage = "model"
        precision = resolve_precision(config.precision)
        stage = "dataset"
        model_ref, tokenizer, data = prepare_tokenizer_and_data(config)
        prepared = Prepared(config, model_ref, tokenizer, data, precision, world_size(), start)
        if main:
            ledger = ledger_at_start(run, prepared, probe())
            if resume and run.ledger_path.exists():  # keep the first start's record
                first = run.read_ledger()
                ledger = {**first, "resumed": [*first.get("resumed", []), ledger["started"]]}
            run.write_ledger(ledger)
            estimate = ledger.get("estimate", {}).get("peak_bytes")
            status.update(memory={**status.status.memory, "estimate_bytes": estimate})
        stage = "model"
        model = load_training_model(prepared)
        _check_stop(stop_requested)
        callback = RunDirCallback(
            run,
            status,
            stop_requested,
            data.probe_prompts,
            config.system_prompt,
            main,
            metrics=objective_named(config.objective).metrics,
            eval_every=config.eval_every,
            probe_every=config.probe_every,
            max_new_tokens=probes.token_limit(data.trained_tokens_per_row()),
            eval_tokens=_tokens(data.eval_rows),
            step_tokens=_tokens(data.train_rows)
            / max(1, len(data.train_rows))
            * config.batch_size
            * config.grad_accum
            * prepared.world_size,
        )
        trainer = make_trainer(
            prepared, model, training_args(prepared, run.checkpoints_dir, report=True), [callback]
        )
        checkpoint = resume_point(run) if resume else None
        total = planned_steps(config, len(data.train_rows), prepared.world_size)
        stage = "checkpoint" if checkpoint else "training"
        if checkpoint is not None and checkpoint_step(checkpoint) >= total:
            # Trained to the end already (a crash while saving output/): training again would
            # take one step more and save another model. Save the checkpoint's instead.
            trainer._load_from_checkpoint(str(checkpoint))
            status.update(step=checkpoint_step(checkpoint), max_steps=total)
        else:
            trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
            if main:
                run.update_ledger(extras=callback.plan.summary())
            if callback.stopped:
                _finish(run, status, "stopped", main)
                return 0
        stage = "saving"
        status.update(state="saving", eta_s=None)
        if main:
            _save_output(trainer, tokenizer, run.output_dir)
        _finish(run, status, "completed", main)
        return 0
    except (StopRequested, KeyboardInterrupt):
        _finish(run, status, "stopped", main)
        return 0
    except BaseException as err:  # every failure must end in a readable state
        if isinstance(err, SystemExit) and not err.code:
            raise
        if not isinstance(err, UserError):
            traceback.print_exc()  # into train.log, for whoever debugs it
        if stage == "checkpoint" and callback is not None and callback.began:
            stage = "training"  # the checkpoint was read; this happened after
        if main and is_disk_full(err):
            _remove_partial_saves(run)  # room for status.json, and nothing half-written left
        status.update(state="failed", error=classify(err, stage, run), eta_s=None)
        if main:
            run.update_ledger(measured=peak_summary(), final_state="failed")
        return 1
    finally:
        status.close()


def report_to_trackers(config: RunConfig, run: RunDir) -> None:
    """The trackers of `report_to` get their folders in the run (and W&B its offline mode)
    here, in the trainer, so a resume or a job script starting it directly gets them too."""
    missing = missing_tracker_error(config.report_to)
    if missing is not None:
        raise missing
    os.environ.update(tracker_env(config.report_to, run.path, run.name))


def _check_stop(stop_requested: threading.Event) -> None:
    if stop_requested.is_set():
        raise StopRequested


def _finish(run: RunDir, status: StatusWriter, state: str, main: bool) -> None:
    measured = peak_summary()
    status.update(state=state, eta_s=None, memory={**status.status.memory, **measured})
    if main:
        run.update_ledger(measured=measured, finished=time.time(), final_state=state)


def _save_output(trainer: Any, tokenizer: Any, output_dir: Path) -> None:
    """The adapter (LoRA/QLoRA) or the whole model (full), with the tokenizer and its chat
    template, loadable with plain transformers/peft."""
    tmp = _output_tmp(output_dir)
    shutil.rmtree(tmp, ignore_errors=True)
    trainer.save_model(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    model = trainer.model
    generation = getattr(model, "generation_config", None)
    if generation is not None and tokenizer.eos_token_id is not None:
        generation.eos_token_id = tokenizer.eos_token_id
        generation.pad_token_id = tokenizer.pad_token_id
        generation.save_pretrained(str(tmp))
    if output_dir.exists():
        shutil.rmtree(output_dir)
    tmp.replace(output_dir)


def _output_tmp(output_dir: Path) -> Path:
    return output_dir.with_name(f".{output_dir.name}.tmp")


def _remove_partial_saves(run: RunDir) -> None:
    """What a save cut short by a full disk left: the unfinished output and any checkpoint
    without its completion marker. None of it can be used, and all of it takes space."""
    shutil.rmtree(_output_tmp(run.output_dir), ignore_errors=True)
    for folder in run.checkpoints_dir.glob("checkpoint-*"):
        if folder.is_dir() and not (folder / COMPLETE_MARKER).exists():
            shutil.rmtree(folder, ignore_errors=True)


def _tokens(rows: list[dict[str, Any]]) -> int:
    """Input tokens of tokenized rows (0 for rows another objective shapes otherwise)."""
    return sum(len(row.get("input_ids", ())) for row in rows)
