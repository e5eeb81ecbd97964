"""What the monitor reads of a GRPO run, without the UI: its charts named by run.yaml's rewards,
the four GRPO alarms raised from its metrics, and completions.jsonl, written and read back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.objectives import objective_named
from tui_ft.core.rewards.builtins import prompt_text
from tui_ft.core.rewards.spec import read_rewards, reward_labels
from tui_ft.core.runs.charts import charts_for, run_objective, run_settings
from tui_ft.core.runs.completions import (
    MAX_TEXT,
    SAMPLE_GROUP,
    SAMPLE_PROMPTS,
    read_samples,
    sample_records,
)
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status
from tui_ft.core.runs.watch import RunWatch

NOW = 1_767_225_600.0  # as tests/ui/ui_helpers.py
GRPO_ALARMS = ("grpo-no-signal", "grpo-all-clipped", "grpo-one-reward", "grpo-kl-runaway")
REWARDS = [
    {"regex": "<answer>.*</answer>", "name": "format"},
    {"exact_match": "answer"},
    {"python": "rewards.py:my_reward", "weight": 0.5},
]


def grpo_run(home: Path, rewards: list[dict[str, Any]] = REWARDS) -> RunDir:
    run = RunDir.create("grpo-run", home)
    config = RunConfig.from_dict(
        {
            "name": "grpo-run",
            "model": "demo",
            "dataset": "demo-grpo",
            "objective": "grpo",
            "max_steps": 20,
            "rewards": rewards,
        }
    )
    save_config(config, run.config_path)
    run.write_status(Status("training", started=NOW - 60, updated=NOW - 2, step=6, max_steps=20))
    return run


def grpo_record(step: int) -> dict[str, Any]:
    """A run going wrong every way at once: all groups alike, all clipped, reward 2 making the
    whole spread, the KL climbing."""
    return {
        "step": step,
        "loss": 0.01,
        "reward": 0.5,
        "reward_std": 0.4,
        "reward_zero_std": 1.0,
        "reward_1": 0.0,
        "reward_1_std": 0.0,
        "reward_2": 0.4,
        "reward_2_std": 0.5,
        "reward_3": 0.1,
        "reward_3_std": 0.01,
        "completion_length": 64.0,
        "clipped": 1.0,
        "kl": 1.0 + step,
        "entropy": 0.8,
    }


def per_reward_labels(settings: dict[str, Any]) -> list[str]:
    charts = charts_for(objective_named("grpo"), settings)
    (chart,) = [c for c in charts if c.name == "rewards"]
    return [line.label for line in chart.lines]


def test_reward_lines_take_the_rewards_names() -> None:
    rewards = [
        {"regex": "a", "name": "format"},
        {"exact_match": "answer"},
        {"length": {"target": 60, "tolerance": 20}},
        {"python": "r.py:mine"},
    ]
    assert per_reward_labels({"rewards": rewards}) == [
        "format",
        "exact_match answer",
        "length 60±20",
        "mine",
    ]
    # Two alike are told apart by their place; a list that cannot run keeps reward 1 … 6.
    assert reward_labels(read_rewards([{"regex": "a"}, {"regex": "b"}])) == ["regex 1", "regex 2"]
    assert per_reward_labels({"rewards": "nonsense"})[:2] == ["reward 1", "reward 2"]


def test_the_monitor_reads_the_runs_own_settings(tmp_path: Path) -> None:
    run = grpo_run(tmp_path)
    objective = run_objective(run)
    settings = run_settings(run, objective)
    assert settings["num_generations"] == 4 and settings["rewards"][0]["name"] == "format"
    run.config_path.write_text("{not yaml")
    assert run_settings(run, objective) == objective.defaults()


def test_the_four_alarms_fire_from_the_metrics(tmp_path: Path) -> None:
    run = grpo_run(tmp_path)
    watch = RunWatch(run, clock=lambda: NOW)
    for step in range(1, 5):
        run.append_metrics(grpo_record(step))
    first = watch.poll()
    assert first is not None and not {a.kind for a in first.alarms} & set(GRPO_ALARMS)
    run.append_metrics(grpo_record(5))
    update = watch.poll()
    assert update is not None
    assert set(GRPO_ALARMS) <= {alarm.kind for alarm in update.alarms}


def test_sample_records_keep_a_few_prompts_and_their_groups() -> None:
    prompts = [f"p{n}" for n in range(5) for _ in range(6)]  # 5 prompts, groups of 6
    completions = [f"c{i}" for i in range(len(prompts))]
    completions[0] = "x" * (MAX_TEXT + 10)
    scores = [[1.0] * len(prompts), [None] * len(prompts)]
    scores[1][1] = 0.5
    records = sample_records(3, prompts, completions, scores, [1.0, 2.0])
    assert len(records) == SAMPLE_PROMPTS * SAMPLE_GROUP
    assert [r["prompt"] for r in records[::SAMPLE_GROUP]] == ["p0", "p1", "p2"]
    assert records[0]["completion"] == "x" * MAX_TEXT + "…"
    assert records[1]["scores"] == [1.0, 0.5] and records[1]["reward"] == 2.0
    assert records[0]["scores"] == [1.0, None] and records[0]["reward"] == 1.0


def test_completions_written_whole_and_read_back(tmp_path: Path) -> None:
    run = grpo_run(tmp_path)
    records = sample_records(2, ["p", "p"], ["a", "b"], [[1.0, 0.0]], [1.0])
    run.write_completions(records)
    run.write_completions(sample_records(4, ["q"], ["c"], [[None]], [1.0]))
    (sample,) = read_samples(run.completions_path)
    assert (sample.step, sample.prompt, sample.scores, sample.reward) == (4, "q", (None,), None)
    # Lines that do not parse are skipped; a missing file is no samples.
    run.completions_path.write_text('{"step": 1\nnot json\n' + json.dumps(records[0]) + "\n")
    assert [s.completion for s in read_samples(run.completions_path)] == ["a"]
    assert read_samples(tmp_path / "none.jsonl") == []


def test_a_samples_prompt_is_its_question_not_its_worked_example() -> None:
    shown = [
        {"role": "user", "content": "Tom has 2 and gets 3. How many?"},
        {"role": "assistant", "content": "<answer>5</answer>"},
        {"role": "user", "content": "Ana has 4 and gets 1. How many?"},
    ]
    assert prompt_text(shown) == "Ana has 4 and gets 1. How many?"
    assert prompt_text("plain") == "plain" and prompt_text([]) == ""
