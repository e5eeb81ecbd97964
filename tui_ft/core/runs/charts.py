"""The monitor's charts for a run: its objective's first (loss …), then those every run has.

Pure data, so the series the monitor keeps and the charts it draws come from one list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tui_ft.core.config import load_config
from tui_ft.core.errors import UserError
from tui_ft.core.objectives import DEFAULT_OBJECTIVE, objective_named, objectives
from tui_ft.core.objectives.spec import Chart, ChartLine, Objective
from tui_ft.core.runs.layout import RunDir

COMMON_CHARTS = (
    Chart("lr", "lr", (ChartLine("lr", "learning rate", "lr"),)),
    Chart("grad_norm", "grad norm", (ChartLine("grad_norm", "grad norm", "grad-norm"),)),
    Chart("tokens_per_s", "tokens/s", (ChartLine("tokens_per_s", "tokens/s", "throughput"),)),
    Chart("memory", "memory", (ChartLine("memory", "memory", "memory"),)),
    Chart(
        "gpu_util",
        "gpu util",
        (ChartLine("gpu_util", "GPU util %", "memory"),),
        empty="GPU util: shown for runs on a GPU, from their first log",
    ),
)


def charts_for(
    objective: Objective, settings: Mapping[str, Any] | None = None
) -> tuple[Chart, ...]:
    """The charts of a run of `objective` with these settings (None: any run's)."""
    own = objective.charts if settings is None else objective.charts_for_run(settings)
    return own + COMMON_CHARTS


def run_settings(run: RunDir, objective: Objective) -> dict[str, Any]:
    """The objective's settings as `run` has them, defaults filled in (the defaults alone when
    its run.yaml cannot be read)."""
    try:
        config = load_config(run.config_path)
    except UserError:
        return objective.defaults()
    if config.objective != objective.name:
        return objective.defaults()
    return {setting.key: config.setting(setting.key) for setting in objective.settings}


def run_objective(run: RunDir) -> Objective:
    """The objective `run` trains with; the default one when its run.yaml cannot say (the
    monitor still shows what metrics.jsonl holds, and the run's own error says what is wrong)."""
    try:
        name = load_config(run.config_path).objective
    except UserError:
        name = DEFAULT_OBJECTIVE
    return objective_named(name if name in objectives() else DEFAULT_OBJECTIVE)
