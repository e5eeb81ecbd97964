"""`tui-ft eval` on the tiny random model: the documented task file (docs/examples/identity.yaml,
local data) scored on base and tuned from one copy of the base, the result and lm-eval's own
output saved in the run's evals/, and the held-out loss; tasks that cannot run are sentences."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.chat_fixtures import fake_run, tiny_base
from tests.test_train import QA
from tui_ft.cli import main
from tui_ft.core.evals.process import EvalRequest, read_progress
from tui_ft.core.evals.store import HARNESS, RESULT, list_evals

pytest.importorskip("lm_eval")
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "identity.yaml"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_base(tmp_path_factory.mktemp("model") / "tiny")


def _dataset(tmp_path: Path) -> str:
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps({"prompt": q, "completion": a}) for q, a in QA * 4))
    return str(path)


def _eval(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["eval", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("method", ["lora", "full"])
def test_a_local_task_file_scores_base_and_tuned_and_is_saved(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str
) -> None:
    run = fake_run(base, method, dataset=_dataset(tmp_path), eval_split=0.25)
    code, out, err = _eval(capsys, run.name, "--tasks", str(EXAMPLE), "--json")
    assert code == 0, err
    tasks = json.loads(out)["tasks"]
    assert list(tasks) == ["demo_identity", "heldout_loss", "heldout_perplexity"]
    identity = tasks["demo_identity"]
    assert set(identity) == {"metric", "base", "tuned", "stderr"}
    assert identity["metric"] == "acc" and 0 <= identity["base"] <= 1
    assert set(identity["stderr"]) == {"base", "tuned"}
    assert tasks["heldout_loss"]["base"] != tasks["heldout_loss"]["tuned"]
    assert "base: demo_identity" in err and "tuned: demo_identity" in err

    [(folder, report)] = list_evals(run.path)
    assert (folder / RESULT).is_file() and report.kind in ("adapter", "two-models")
    harness = {side: folder / HARNESS / side for side in ("base", "tuned")}
    assert json.loads((harness["base"] / "demo_identity.json").read_text())["results"]
    answers = {
        side: [
            json.loads(line)["resps"]
            for line in (path / "demo_identity.samples.jsonl").read_text().splitlines()
        ]
        for side, path in harness.items()
    }
    assert len(answers["base"]) == 10
    assert answers["base"] != answers["tuned"]  # the adapter (or the tuned weights) answered


def test_the_eval_child_says_only_its_own_lines(base: Path, tmp_path: Path) -> None:
    """The command the Evaluate screen runs, in a fresh process as there (the libraries' bars
    and notices depend on what is imported first): its stderr, the CLI's progress and the
    screen's log, holds our lines only, no harness progress bars ("Running loglikelihood
    requests: 15%|█▌", redrawn with carriage returns) and no library notices."""
    run = fake_run(base, "lora", dataset=_dataset(tmp_path), eval_split=0.25)
    argv = EvalRequest(run.path, str(EXAMPLE), limit=2).argv()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "%|" not in done.stderr
    ours = ("reading ", "evaluating in ")
    noise = [
        line
        for line in done.stderr.splitlines()
        if read_progress(line) is None and not line.startswith(ours)
    ]
    assert noise == []
    assert json.loads(done.stdout)["tasks"]["demo_identity"]["metric"] == "acc"


def test_the_base_side_is_the_base_model_alone(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the adapter switched off, the base scores what the base model scores by itself."""
    data = _dataset(tmp_path)
    adapter = fake_run(base, "lora", name="adapter", dataset=data, eval_split=0.25)
    full = fake_run(base, "full", name="full", dataset=data, eval_split=0.25)
    scores = {}
    for run in (adapter, full):
        code, out, err = _eval(capsys, run.name, "--tasks", str(EXAMPLE), "--json", "--limit", "4")
        assert code == 0, err
        scores[run.name] = json.loads(out)["tasks"]
    for task in ("demo_identity", "heldout_loss"):
        assert scores["adapter"][task]["base"] == pytest.approx(scores["full"][task]["base"])


def test_unknown_and_unreachable_tasks_are_sentences(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui_ft.core.errors import UserError
    from tui_ft.core.evals.tasks import TaskSpec
    from tui_ft.engine.eval.harness import load_tasks, task_manager

    manager = task_manager([TaskSpec("arc_easy")])  # lm-eval's own tasks, indexed once
    with pytest.raises(UserError, match="lm-eval knows no task named no_such_task_anywhere"):
        load_tasks([TaskSpec("no_such_task_anywhere")], manager)
    # arc_easy is one of lm-eval's own tasks, its data on the hub: offline and not cached here.
    with pytest.raises(UserError, match="task arc_easy cannot run offline"):
        load_tasks([TaskSpec("arc_easy")], manager)
    run = fake_run(base, "lora")
    broken = tmp_path / "broken.yaml"
    broken.write_text("dataset_path: json\n")
    code, _, err = _eval(capsys, run.name, "--tasks", str(broken))
    assert code == 1 and "names no `task:`" in err and "Traceback" not in err
    assert list_evals(run.path) == []
