"""The evaluation's pure parts: what --tasks names, the forgetting alarm on constructed scores,
the table's words, and the results saved in the run's evals/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui_ft.core.errors import UserError
from tui_ft.core.evals.forgetting import (
    MARGIN,
    alarm_sentence,
    combined_stderr,
    forgot,
    forgotten,
    run_alarm,
    run_forgotten,
)
from tui_ft.core.evals.report import EvalReport, TaskScore
from tui_ft.core.evals.store import (
    finish_folder,
    list_evals,
    standing_scores,
    start_folder,
)
from tui_ft.core.evals.table import FORGETTING, table_rows
from tui_ft.core.evals.tasks import SUITE_DIR, TaskSpec, parse_tasks


def score(base: float, tuned: float, stderr: float | None = 0.03, **kw: object) -> TaskScore:
    return TaskScore("t", "acc", base, tuned, stderr, stderr, **kw)  # type: ignore[arg-type]


def test_a_drop_beyond_the_combined_stderr_and_margin_is_flagged() -> None:
    # Each side ±0.03: combined ≈ 0.042, plus the margin 0.02 → a drop must exceed ≈ 0.062.
    assert combined_stderr(score(0.6, 0.5)) == pytest.approx((2 * 0.03**2) ** 0.5)
    assert forgot(score(0.60, 0.50))
    assert not forgot(score(0.60, 0.55))  # within chance
    assert not forgot(score(0.60, 0.70))  # better, not forgotten
    assert not forgot(score(0.60, 0.59, stderr=None))  # no stderr: the margin alone
    assert forgot(score(0.60, 0.60 - MARGIN - 0.001, stderr=None))


def test_lower_is_better_metrics_drop_upward_and_held_out_rows_never_alarm() -> None:
    assert forgot(score(2.0, 2.5, higher_is_better=False))
    assert not forgot(score(2.0, 1.5, higher_is_better=False))
    assert not forgot(score(0.9, 0.1, checks_forgetting=False))


def test_the_table_names_the_forgotten_task_in_words() -> None:
    report = EvalReport(
        "r", [TaskScore("arith", "acc", 0.8, 0.4, 0.04, 0.05), TaskScore("kn", "acc", 0.5, 0.52)]
    )
    rows = table_rows(report)
    assert [(r.task, r.alarm) for r in rows] == [("arith", FORGETTING), ("kn", "")]
    assert rows[0].cells()[2:6] == ("0.800", "0.400", "-0.400", "0.064")
    assert rows[1].stderr == "—"
    assert [s.task for s in forgotten(report.tasks)] == ["arith"]
    assert "arith acc 0.800 → 0.400" in alarm_sentence(report.tasks)
    assert alarm_sentence(report.tasks[1:]) == ""


def test_json_has_exactly_the_documented_shape() -> None:
    report = EvalReport("r", [TaskScore("a", "acc", 0.5, 0.75, 0.1, None)])
    assert report.tasks_json() == {
        "tasks": {
            "a": {
                "metric": "acc",
                "base": 0.5,
                "tuned": 0.75,
                "stderr": {"base": 0.1, "tuned": None},
            }
        }
    }


def test_results_are_saved_whole_and_listed_newest_first(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    assert list_evals(run) == [] and standing_scores(run) is None
    first = start_folder(run)
    assert first.name.startswith(".")
    assert list_evals(run) == []  # a partial folder is never listed
    older = finish_folder(first, EvalReport("run", [score(0.5, 0.5)], created="1"))
    newer = finish_folder(start_folder(run), EvalReport("run", [score(0.5, 0.1)], created="2"))
    assert older != newer and not older.name.startswith(".")
    assert [folder for folder, _ in list_evals(run)] == [newer, older]
    latest = list_evals(run)[0][1]
    assert latest.created == "2" and latest.tasks[0].tuned == 0.1
    (newer / "result.json").write_text(json.dumps({"tasks": [{"base": "x"}]}))
    assert [folder for folder, _ in list_evals(run)] == [older]  # a damaged one is left out


def test_the_alarm_stands_on_each_task_s_newest_score(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    assert run_forgotten(run) is None and run_alarm(run) == ""

    def evaluate(*scores: TaskScore) -> None:
        finish_folder(start_folder(run), EvalReport("run", list(scores)))

    evaluate(TaskScore("arith", "acc", 0.8, 0.4, 0.04, 0.05), TaskScore("kn", "acc", 0.5, 0.5))
    # A later evaluation of another task (a task file) does not hide the drop.
    evaluate(TaskScore("mine", "acc", 0.1, 0.9))
    assert run_forgotten(run) == ["arith"]
    assert "arith acc 0.800 → 0.400" in run_alarm(run)
    # arith evaluated again, no drop: that score stands now.
    evaluate(TaskScore("arith", "acc", 0.8, 0.79, 0.04, 0.04))
    assert run_forgotten(run) == [] and run_alarm(run) == ""
    standing = standing_scores(run)
    assert standing is not None
    assert [(s.task, s.tuned) for s in standing] == [("arith", 0.79), ("kn", 0.5), ("mine", 0.9)]


def test_tasks_name_the_suite_files_and_hub_names(tmp_path: Path) -> None:
    suite = parse_tasks("forgetting")
    assert len(suite) == 4 and all(s.file is not None and s.file.parent == SUITE_DIR for s in suite)
    task = tmp_path / "mine.yaml"
    task.write_text("task: mine\n")
    specs = parse_tasks(f"arc_easy, {task},arc_easy,,forgetting")
    assert specs[:2] == [TaskSpec("arc_easy"), TaskSpec("mine", task)]
    assert len(specs) == 6


@pytest.mark.parametrize(
    ("text", "says"),
    [("", "no task named"), ("missing.yaml", "does not exist"), ("arc easy", "not a task name")],
)
def test_bad_task_lists_are_sentences(text: str, says: str) -> None:
    with pytest.raises(UserError, match=says):
        parse_tasks(text)


def test_runs_lists_the_forgetting_of_a_runs_latest_evaluation(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_ft.cli import main
    from tui_ft.core.runs.layout import RunDir
    from tui_ft.core.runs.status import Status

    monkeypatch.setenv("COLUMNS", "200")
    for name, tuned in (("kept", 0.79), ("broke", 0.4)):
        run = RunDir.create(name)
        run.config_path.write_text("model: demo\nmethod: lora\n")
        run.write_status(Status("completed", step=1, max_steps=1))
        report = EvalReport(name, [TaskScore("arith", "acc", 0.8, tuned, 0.04, 0.05)])
        finish_folder(start_folder(run.path), report)
    RunDir.create("never").write_status(Status("completed"))
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert (
        "broke: Forgetting: the tuned model fell below its base on arith acc 0.800 → 0.400" in out
    )
    assert "kept: Forgetting" not in out
    assert main(["runs", "--json"]) == 0
    runs = {run["name"]: run for run in json.loads(capsys.readouterr().out)}
    assert (runs["broke"]["forgetting"], runs["kept"]["forgetting"]) == (["arith"], [])
    assert runs["never"]["forgetting"] is None


def test_cached_hub_tasks_are_those_whose_dataset_is_in_the_hf_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_ft.core.evals.hub_tasks import cached_hub_tasks

    tasks = tmp_path / "tasks" / "arc"
    tasks.mkdir(parents=True)
    (tasks / "arc_easy.yaml").write_text(
        "task: arc_easy\ndataset_path: allenai/ai2_arc\nprocess_docs: !function utils.p\n"
    )
    (tasks / "arc_challenge.yaml").write_text("include: arc_easy.yaml\ntask: arc_challenge\n")
    (tasks / "other.yaml").write_text("task: hellaswag\ndataset_path: Rowan/hellaswag\n")
    (tasks / "group.yaml").write_text("group: arc\ntask: [arc_easy, arc_challenge]\n")
    (tasks / "broken.yaml").write_text("task: [unclosed\n")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert cached_hub_tasks(tmp_path / "tasks") == []  # nothing cached: nothing read
    (tmp_path / "hf" / "hub" / "datasets--allenai--ai2_arc").mkdir(parents=True)
    assert cached_hub_tasks(tmp_path / "tasks") == ["arc_challenge", "arc_easy"]


def test_the_eval_child_reads_back_its_folder_or_removes_it_when_cancelled(tmp_path: Path) -> None:
    from tests.fake_children import FakeChild, FakeRunner
    from tui_ft.core.evals.process import EvalProcess, EvalRequest, Progress, read_progress

    assert read_progress("tuned: arc_easy …") == Progress("tuned", "arc_easy")
    assert read_progress("base: arc_easy acc 0.500 (10 questions, 2 s)") == Progress(
        "base", "arc_easy", "acc", "0.500", "10 questions, 2 s"
    )
    assert read_progress("loading …") is None
    run = tmp_path / "run"
    run.mkdir()
    folder = finish_folder(start_folder(run), EvalReport("run", [score(0.5, 0.4)]))
    request = EvalRequest(run, "forgetting", limit=5, chat_template=False)
    assert request.argv()[-4:] == ["--json", "--limit", "5", "--no-chat-template"]
    done = EvalProcess(request, FakeRunner(lambda r: FakeChild("{}", [f"saved in {folder}"])))
    assert list(done.lines()) == [f"saved in {folder}"]
    outcome = done.finish()
    assert outcome.folder == folder and outcome.report is not None
    partial = run / "evals" / ".partial-0-1"  # FakeChild's pid is 0
    partial.mkdir()
    held = EvalProcess(request, FakeRunner(lambda r: FakeChild(hold=True)))
    held.cancel()
    assert held.finish().cancelled and not partial.exists()
