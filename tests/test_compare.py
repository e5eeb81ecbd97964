"""`tui-ft compare` on three runs built as run directories (no training): the settings that
differ and only those, the curves by step and by tokens, evaluation results read from evals/
(the newest per task, other files passed over), probe answers at matching steps and each run's
last ones, wall time without the pause before a resume, peak memory, and runs of different base
models said to be so. Through the CLI too: the `--json` shape, and outside text kept harmless."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import pytest

from tui_ft.cli import main
from tui_ft.core.compare.report import compare_runs
from tui_ft.core.compare.text import comparison_tables
from tui_ft.core.config import RunConfig, save_config
from tui_ft.core.errors import UserError
from tui_ft.core.evals.report import EvalReport, TaskScore
from tui_ft.core.evals.store import finish_folder, start_folder
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status

T0 = 1_767_225_600.0
HOSTILE = "I am \x1b]52;c;ZXZpbA==\x07Wren [bold]x[/bold]"


def write_run(
    name: str,
    *,
    model: str = "demo",
    method: str = "lora",
    steps: int = 10,
    probe_steps: tuple[int, ...] = (5, 10),
    answer: str = "I am {name} at {step}.",
    **config: Any,
) -> RunDir:
    run = RunDir.create(name)
    save_config(
        RunConfig.from_dict({"name": name, "model": model, "method": method, **config}),
        run.config_path,
    )
    run.write_status(Status("completed", step=steps, max_steps=steps))
    for step in range(1, steps + 1):
        run.append_metrics(
            {
                "step": step,
                "loss": 3.0 - step / 10,
                "tokens": step * 100,
                "rss": 1000 + step,
                "time": T0 + step,
            }
        )
        if step in probe_steps:
            run.append_metrics(
                {
                    "step": step,
                    "eval_loss": 2.0 - step / 20,
                    "time": T0 + step,  # no `tokens`: the training line of its step says them
                }
            )
            for prompt in ("Who are you?", "What is 2+2?"):
                run.append_probe(
                    {"step": step, "prompt": prompt, "answer": answer.format(name=name, step=step)}
                )
    return run


def write_eval(run: RunDir, file: str, tasks: dict[str, Any], mtime: float) -> None:
    path = run.path / "evals" / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"tasks": tasks}))
    os.utime(path, (mtime, mtime))


# The tuned model 0.30 below its base, with a combined standard error of about 0.07: forgetting.
DROP = TaskScore("forgetting_arithmetic", "exact_match", 0.6, 0.3, 0.05, 0.05)
HELD = TaskScore("forgetting_knowledge_mc", "acc", 0.68, 0.65, 0.047, 0.048)


@pytest.fixture
def three() -> list[str]:
    """a: LoRA r8, resumed once after a pause; b: LoRA r16 with a lower learning rate;
    c: a full fine-tune of another base model, evaluated at other steps."""
    a = write_run("a", lora={"rank": 8}, probe_steps=(5, 10))
    a.write_ledger(
        {
            "started": T0,
            "finished": T0 + 100,  # stopped after step 10 (+10), resumed at +80
            "resumed": [T0 + 80],
            "measured": {"peak_reserved_bytes": 3 * 2**30},
        }
    )
    # The lines after the resume, later in time than the first ones.
    for step in (11, 12):
        a.append_metrics({"step": step, "loss": 1.5, "tokens": step * 100, "time": T0 + 80 + step})
    write_eval(
        a,
        "one.json",
        {"forgetting": {"metric": "acc", "base": 0.5, "tuned": 0.45, "stderr": 0.02}},
        T0,
    )
    b = write_run("b", lora={"rank": 16}, learning_rate=1e-4, answer=HOSTILE)
    write_eval(b, "old.json", {"forgetting": {"metric": "acc", "base": 0.5, "tuned": 0.1}}, T0)
    write_eval(
        b,
        "new.json",
        {
            "forgetting": {
                "metric": "acc",
                "base": 0.5,
                "tuned": 0.52,
                "stderr": {"base": 0.01, "tuned": 0.03},
            }
        },
        T0 + 9,
    )
    # tui-ft eval's own result.json (a list of scores), in its folder beside the harness output.
    saved = b.path / "evals" / "20261201-120000" / "result.json"
    saved.parent.mkdir(parents=True)
    (saved.parent / "harness").mkdir()
    (saved.parent / "harness" / "results.json").write_text(json.dumps({"results": {}}))
    saved.write_text(
        json.dumps(
            {
                "format": 1,
                "run": "b",
                "tasks": [
                    {
                        "task": "identity",
                        "metric": "exact_match",
                        "base": 0.0,
                        "tuned": 0.9,
                        "base_stderr": None,
                        "tuned_stderr": 0.1,
                    }
                ],
            }
        )
    )
    c = write_run("c", model="other/model", method="full", probe_steps=(5, 8))
    (c.path / "evals").mkdir()
    (c.path / "evals" / "broken.json").write_text("{not json")
    (c.path / "evals" / "quick.jsonl").write_text('{"type": "meta"}\n')
    (c.path / "evals" / "harness.json").write_text(json.dumps({"results": {"x": {"acc": 1}}}))
    return ["a", "b", "c"]


def test_three_runs_side_by_side(three: list[str]) -> None:
    comparison = compare_runs(three)
    assert comparison.names == ["a", "b", "c"]
    # Only the keys that differ, and never the run's own name.
    assert set(comparison.config) == {"model", "method", "learning_rate", "lora.rank"}
    assert comparison.config["lora.rank"] == {"a": 8, "b": 16, "c": 16}
    assert comparison.config["learning_rate"] == {"a": 2e-4, "b": 1e-4, "c": 2e-4}
    # Different base models: compared all the same, and said.
    assert not comparison.same_base_model
    assert any("different base models" in note for note in comparison.notes)

    loss = comparison.curves["a"]["loss"]
    assert [(p.step, p.tokens) for p in loss[:2]] == [(1, 100), (2, 200)]
    assert len(loss) == 12 and len(comparison.curves["a"]["eval_loss"]) == 2
    assert [p.step for p in comparison.curves["c"]["eval_loss"]] == [5, 8]
    # An evaluation line that does not say its tokens takes its step's training line's.
    assert [p.tokens for p in comparison.curves["b"]["eval_loss"]] == [500, 1000]

    # Evaluations: the newest file wins a task; a folder one down is read; the rest ignored.
    assert comparison.tasks == ["forgetting", "identity"]
    assert comparison.evals["a"]["forgetting"].tuned == 0.45
    newest = comparison.evals["b"]["forgetting"]
    assert (newest.tuned, newest.stderr, newest.file) == (0.52, 0.03, "evals/new.json")
    identity = comparison.evals["b"]["identity"]
    assert (identity.file, identity.tuned, identity.stderr) == (
        "evals/20261201-120000/result.json",
        0.9,
        0.1,
    )
    assert comparison.evals["c"] == {}

    # Probe answers at the step all three answered, and each one's last answers.
    assert {(row.step, row.prompt) for row in comparison.probes} == {
        (5, "Who are you?"),
        (5, "What is 2+2?"),
    }
    assert comparison.probes[0].answers["a"] == "I am a at 5."
    assert comparison.last_probes[0].steps == {"a": 10, "b": 10, "c": 8}
    assert comparison.last_probes[0].answers["c"] == "I am c at 8."

    facts = {run.name: run for run in comparison.runs}
    # 100 s from start to finish, less the pause from the last line before the resume (+10)
    # to the resume (+80).
    assert facts["a"].wall_s == 30.0 and facts["a"].resumes == 1
    assert (facts["a"].peak_memory_bytes, facts["a"].peak_memory_on) == (3 * 2**30, "gpu")
    # No measured peak: the largest memory figure metrics.jsonl logged.
    assert (facts["b"].peak_memory_bytes, facts["b"].peak_memory_on) == (1010, "cpu")
    assert facts["a"].tokens == 1200 and facts["b"].best_eval_loss == 1.5
    assert facts["c"].model == "other/model" and facts["c"].method == "full"


def test_the_tables_say_what_differs_and_what_is_missing(three: list[str]) -> None:
    tables = {t.title: t for t in comparison_tables(compare_runs(three))}
    runs = tables["Runs"]
    assert runs.header == ["", "a", "b", "c"]
    assert runs.rows[0] == ["model (differs!)", "demo", "demo", "other/model"]
    evals = tables["Evaluations: tuned (change from its base)"]
    assert evals.rows[0] == ["forgetting (acc)", "0.4500 (-0.0500)", "0.5200 (+0.0200)", "—"]
    assert "Probe answers at step 5" in tables
    last = tables["Last probe answers (step of each)"]
    assert last.rows[0][3] == "[8] I am c at 8."

    same = compare_runs(["a", "b"])
    assert same.same_base_model and not any("base models" in n for n in same.notes)
    assert same.can_chat  # two LoRA runs of one base
    assert not compare_runs(["a", "c"]).can_chat and not compare_runs(three).can_chat


def test_the_forgetting_alarm_on_each_task_s_newest_score(three: list[str]) -> None:
    """Said in words in the evaluations table (as the Evaluate screen, the monitor and
    `tui-ft runs` say it), on the scores the table shows: each task's newest. A drop since
    evaluated again without one is not news; a later evaluation of another task hides nothing."""
    a, c = RunDir.open("a").path, RunDir.open("c").path
    finish_folder(start_folder(a), EvalReport("a", [DROP, HELD]))
    finish_folder(start_folder(a), EvalReport("a", [HELD]))  # another task: the drop stands
    finish_folder(start_folder(c), EvalReport("c", [DROP]))
    redone = dataclasses.replace(DROP, tuned=0.58)
    finish_folder(start_folder(c), EvalReport("c", [redone]))  # evaluated again: no drop now
    comparison = compare_runs(three)
    assert comparison.forgetting == {"a": ["forgetting_arithmetic"], "b": [], "c": []}
    [evals] = [t for t in comparison_tables(comparison) if t.title.startswith("Evaluations")]
    assert evals.rows[-1] == [
        "forgetting alarm",
        "forgetting: forgetting_arithmetic",
        "none",
        "none",
    ]
    arithmetic = next(row for row in evals.rows if row[0].startswith("forgetting_arithmetic"))
    assert arithmetic[1] == "0.3000 (-0.3000)"


def test_a_run_never_evaluated_by_tui_ft_eval_has_no_alarm(three: list[str]) -> None:
    comparison = compare_runs(three)
    assert comparison.forgetting == {"a": None, "b": [], "c": None}
    [evals] = [t for t in comparison_tables(comparison) if t.title.startswith("Evaluations")]
    assert evals.rows[-1] == ["forgetting alarm", "—", "none", "—"]


def test_compare_json_through_the_cli(three: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", *three, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"runs", "same_base_model", "notes", "config", "curves", "evals", "probes"}
    assert [run["name"] for run in out["runs"]] == three
    assert out["same_base_model"] is False
    assert out["curves"]["loss"]["a"][0] == {"step": 1, "tokens": 100, "value": 2.9}
    assert out["evals"]["tasks"] == ["forgetting", "identity"]
    assert out["evals"]["runs"]["b"]["forgetting"]["delta"] == pytest.approx(0.02)
    assert out["evals"]["forgetting"] == {"a": None, "b": [], "c": None}
    assert out["probes"]["matching"][0]["answers"]["b"] == HOSTILE  # exact in JSON
    assert out["config"]["method"] == {"a": "lora", "b": "lora", "c": "full"}


def test_compare_table_keeps_outside_text_harmless(
    three: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["compare", *three]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "[bold]x[/bold]" in out  # shown as written, not read as markup
    assert "Settings that differ" in out and "lora.rank" in out


@pytest.mark.parametrize(
    ("names", "words"),
    [
        (["a"], "at least two runs"),
        (["a", "a"], "named twice"),
        (["a", "nope"], "no run named 'nope'"),
    ],
)
def test_compare_refuses_with_a_sentence(
    three: list[str], names: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(UserError, match=words):
        compare_runs(names)
    assert main(["compare", *names]) == 1
    assert "error:" in capsys.readouterr().err
