"""The extras' budget: evaluations and probe answers after the first and the last step, and in
between only as often as the time spent on steps pays for them (docs/training.md)."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.test_run_callback import Clock
from tui_ft.core.runs.extras import EXTRAS_BUDGET, ExtrasPlan, extras_text
from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.layout import RunDir
from tui_ft.engine.train import callback as run_callback
from tui_ft.engine.train.status_writer import StatusWriter


def simulate(plan: ExtrasPlan, step_s: float, costs: dict[str, float]) -> dict[str, list[int]]:
    """Steps of `step_s` seconds; each due kind then costs its seconds. Returns when each ran."""
    ran: dict[str, list[int]] = {kind: [] for kind in costs}
    for step in range(plan.first_step, plan.max_steps + 1):
        plan.stepped(step_s)
        for kind, cost in costs.items():
            if plan.due(kind, step):
                plan.spent(cost, kind)
                ran[kind].append(step)
    return ran


def test_slow_probes_are_spaced_out_to_stay_within_the_budget() -> None:
    plan = ExtrasPlan(600)
    ran = simulate(plan, step_s=1.0, costs={"probes": 9.0, "evaluation": 1.0})
    assert ran["probes"][0] == 1 and ran["probes"][-1] == 600
    assert 3 <= len(ran["probes"]) < 10  # every 60 steps would cost 15%: fewer than that
    assert len(ran["evaluation"]) > len(ran["probes"])  # the cheap kind runs more often
    assert plan.share <= EXTRAS_BUDGET


def test_a_forced_schedule_is_kept_and_probes_follow_it() -> None:
    plan = ExtrasPlan(12, eval_every=4)
    ran = simulate(plan, step_s=1.0, costs={"probes": 50.0, "evaluation": 50.0})
    assert ran["evaluation"] == ran["probes"] == [4, 8, 12]
    assert plan.share > EXTRAS_BUDGET  # forced: the budget does not apply

    own = ExtrasPlan(12, eval_every=4, probe_every=6)
    assert simulate(own, 1.0, {"probes": 0.0, "evaluation": 0.0})["probes"] == [6, 12]


def test_a_resumed_trainer_starts_its_plan_at_its_first_step() -> None:
    plan = ExtrasPlan(100, first_step=41)
    ran = simulate(plan, step_s=1.0, costs={"probes": 30.0})
    assert ran["probes"] == [41, 100]
    assert plan.summary()["probes"] == 2


def test_a_predicted_evaluation_the_run_cannot_pay_twice_waits_for_the_end() -> None:
    # 45 steps of 10 s earn 50 s of extras, 25 s per kind: an evaluation of 26 s cannot run
    # at the first step and the last too.
    costly = ExtrasPlan(45, probes=False)
    costly.predict("evaluation", 26.0)
    assert simulate(costly, 10.0, {"evaluation": 26.0})["evaluation"] == [45]
    assert costly.share <= EXTRAS_BUDGET

    cheap = ExtrasPlan(45, probes=False)
    cheap.predict("evaluation", 5.0)
    ran = simulate(cheap, 10.0, {"evaluation": 5.0})["evaluation"]
    assert ran[0] == 1 and ran[-1] == 45 and cheap.share <= EXTRAS_BUDGET


def test_the_share_in_words() -> None:
    assert extras_text(0.0712) == "extras: 7% of the run"
    assert extras_text(None) == ""


def test_the_trainer_spaces_out_a_slow_probe_and_records_the_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(run_callback, "time", clock)

    def slow_answer(model: object, tokenizer: object, prompts: list[str], *a: object) -> list[str]:
        clock.now += 20.0  # a probe as slow as twenty steps
        return ["…" for _ in prompts]

    monkeypatch.setattr(run_callback.probes, "answer", slow_answer)
    run = RunDir.create("budget", tmp_path)
    status = StatusWriter(run)
    callback = run_callback.RunDirCallback(
        run, status, threading.Event(), ["Who are you?"], None, is_main=True
    )
    state = SimpleNamespace(global_step=0, max_steps=1000, epoch=0.0, num_input_tokens_seen=0)
    args, control = SimpleNamespace(eval_strategy="no"), SimpleNamespace()
    callback.on_train_begin(args, state, control)
    for _ in range(1000):
        callback.on_step_begin(args, state, control)
        clock.now += 1.0
        state.global_step += 1
        callback.on_step_end(args, state, control, model=None, processing_class=None)
        clock.now += 0.01  # logs and status between steps
    callback.on_train_end(args, state, control)

    steps = sorted({row["step"] for row in read_jsonl(run.probes_path)})
    assert steps[0] == 1 and steps[-1] == 1000 and 2 < len(steps) < 10
    assert callback.plan.share <= EXTRAS_BUDGET + 0.01
    assert status.status.extras_share is not None and status.status.extras_share > 0


def test_the_monitor_header_shows_the_share() -> None:
    from tui_ft.core.runs.status import Status
    from tui_ft.ui.runs.progress import progress_words

    status = Status("training", step=3, max_steps=30, extras_share=0.0712)
    assert progress_words(status).endswith("· extras: 7% of the run")
    assert "extras" not in progress_words(Status("training", step=3, max_steps=30))
    assert Status.from_dict(status.to_dict()).extras_share == 0.0712


def test_evaluations_get_the_whole_budget_when_there_are_no_probes() -> None:
    alone = ExtrasPlan(600, probes=False)
    shared = ExtrasPlan(600)
    ran_alone = simulate(alone, 1.0, {"evaluation": 3.0})
    ran_shared = simulate(shared, 1.0, {"evaluation": 3.0, "probes": 3.0})
    assert len(ran_alone["evaluation"]) > len(ran_shared["evaluation"])
    assert alone.share <= EXTRAS_BUDGET
