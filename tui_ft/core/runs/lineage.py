"""`start_from: RUN_NAME`: a run that begins from an earlier run's output (the usual chain:
supervised fine-tuning, then preference tuning). Which run that is, whether it can be started
from, and how (docs/preference.md, "Continue from an earlier run"). Pure Python: the trainer
loads the weights (engine/train/setup.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui_ft.core import paths
from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.errors import UserError
from tui_ft.core.methods import method_named
from tui_ft.core.runs.layout import RunDir, is_run_dir
from tui_ft.core.runs.ledger import LedgerStartFrom
from tui_ft.core.runs.liveness import effective_status

# How the run begins from the earlier one's output.
CONTINUE_ADAPTER = "adapter kept and trained further"
MERGE_ADAPTER = "adapter merged into the base in memory"
LOAD_WEIGHTS = "weights loaded"


@dataclass(frozen=True)
class StartPoint:
    run: RunDir  # the earlier run
    config: RunConfig  # its run.yaml
    how: str  # CONTINUE_ADAPTER, MERGE_ADAPTER or LOAD_WEIGHTS

    @property
    def output(self) -> Path:
        return self.run.output_dir

    def summary(self) -> LedgerStartFrom:
        """What the ledger records of the lineage."""
        return {
            "run": self.run.name,
            "objective": self.config.objective,
            "method": self.config.method,
            "output": str(self.output),
            "how": self.how,
        }


def start_point(config: RunConfig, home: Path | None = None) -> StartPoint | None:
    """The finished run `config.start_from` names in the runs home `home`, and how this run
    begins from it; None without `start_from`. UserError, as a sentence, when it cannot be."""
    name = config.start_from.strip()
    if not name:
        return None
    base = home or paths.runs_home()
    try:
        folder = paths.run_dir(name, base)
    except UserError as err:
        raise UserError(f"start_from: {err.message}", err.hint) from None
    if not is_run_dir(folder):
        raise UserError(
            f"start_from names the run {name!r}, which is not in the runs home {base}.",
            "Name a finished run as `tui-ft runs` lists it, or remove start_from.",
        )
    run = RunDir(folder)
    state = effective_status(run).state
    if state != "completed" or not run.output_dir.is_dir():
        raise UserError(
            f"start_from names the run {name!r}, which is {state}, not completed: it has no "
            "output to start from.",
            f"Finish it first (`tui-ft resume {name}`), or name a completed run.",
        )
    earlier = load_config(run.config_path)
    if earlier.model.strip() != config.model.strip():
        raise UserError(
            f"start_from names the run {name!r}, trained from model {earlier.model}; this run's "
            f"model is {config.model}.",
            f"Set `model: {earlier.model}`: the run's output only fits the model it was trained "
            "from.",
        )
    adapter_before = not method_named(earlier.method).trains_base
    adapter_now = not method_named(config.method).trains_base
    if adapter_before:
        return StartPoint(run, earlier, CONTINUE_ADAPTER if adapter_now else MERGE_ADAPTER)
    if adapter_now:
        raise UserError(
            f"start_from names the full fine-tuning run {name!r}; an adapter ({config.method}) "
            f"on its weights would not fit this run's model {config.model}.",
            f"Continue it with `method: full`, or set `model: {run.output_dir}` instead of "
            "start_from to put a new adapter on its weights.",
        )
    return StartPoint(run, earlier, LOAD_WEIGHTS)
