"""The monitor's charts for a run: its objective's first (loss …), then those every run has.

Pure data, so the series the monitor keeps and the charts it draws come from one list."""

from __future__ import annotations

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


def charts_for(objective: Objective) -> tuple[Chart, ...]:
    return objective.charts + COMMON_CHARTS


def run_objective(run: RunDir) -> Objective:
    """The objective `run` trains with; the default one when its run.yaml cannot say (the
    monitor still shows what metrics.jsonl holds, and the run's own error says what is wrong)."""
    try:
        name = load_config(run.config_path).objective
    except UserError:
        name = DEFAULT_OBJECTIVE
    return objective_named(name if name in objectives() else DEFAULT_OBJECTIVE)
