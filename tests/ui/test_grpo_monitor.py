"""The monitor of a GRPO run: a chart line per reward function under its run.yaml name, the
four GRPO alarms from its metrics, and the completions panel showing the latest step's samples
with each reward's score, outside text inert."""

from __future__ import annotations

import json
from pathlib import Path

from test_ui_monitor import open_monitor
from textual.widgets import Static
from ui_helpers import app_for, wait_for

from tests.hostile import HOSTILE, assert_inert
from tests.test_grpo_monitor_data import GRPO_ALARMS, grpo_record, grpo_run
from tests.ui.test_terminal_safety_ui import written
from tui_ft.ui.runs.chart_panel import ChartPanel
from tui_ft.ui.runs.completions_panel import CompletionsPanel
from tui_ft.ui.runs.metric_chart import MetricChart


def samples(step: int, prompt: str = "What is 2+3?") -> str:
    lines = [
        {
            "step": step,
            "prompt": prompt,
            "completion": "<answer>5</answer>",
            "scores": [1.0, 1.0, 0.0],
            "reward": 2.0,
        },
        {
            "step": step,
            "prompt": prompt,
            "completion": f"five {HOSTILE}",
            "scores": [0.0, 0.0, None],
            "reward": 0.0,
        },
    ]
    return "".join(json.dumps(line) + "\n" for line in lines)


async def test_named_reward_lines_alarms_and_the_completions_panel(home: Path) -> None:
    run = grpo_run(home)
    for step in range(1, 7):
        run.append_metrics(grpo_record(step))
    run.completions_path.write_text(samples(6, prompt=f"Q {HOSTILE}"))
    app = app_for(home)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_monitor(pilot, app, run)
        per_reward = screen.query_one("#chart-rewards", MetricChart)
        assert [line.label for line in per_reward.lines] == [
            "format",
            "exact_match answer",
            "my_reward",
        ]
        assert "format 0 · exact_match answer 0.4 · my_reward 0.1" in per_reward.title
        assert [c.name for c in screen.query_one(ChartPanel).charts][:4] == [
            "reward",
            "rewards",
            "completion_length",
            "policy",
        ]

        # The four alarms (tests/test_grpo_monitor_data.py checks each): the first in words,
        # the others by name.
        health = str(screen.query_one("#health", Static).render())
        assert sum(kind in health for kind in GRPO_ALARMS) == len(GRPO_ALARMS) - 1

        panel = screen.query_one(CompletionsPanel)
        await wait_for(pilot, lambda: panel.step == 6)
        shown = str(panel.render())
        assert "step 6" in shown
        assert "format 1 · exact_match answer 1 · my_reward 0 · sum 2" in shown
        assert "my_reward – · sum 0" in shown
        assert "[bold red]loud[/bold red]" in shown  # markup from the data shows as written
        assert_inert(written(app))

        # The trainer replaces the file at the next log: the panel follows.
        run.completions_path.write_text(samples(7))
        await wait_for(pilot, lambda: panel.step == 7)
        assert "What is 2+3?" in str(panel.render())
