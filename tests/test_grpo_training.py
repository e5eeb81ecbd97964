"""The grpo objective end to end on the tiny random model: it samples, scores with a built-in
and a Python reward file, writes every metric, is killed after its first checkpoint and resumes
to the planned step with one history, and exports; and a reward file that cannot serve stops it
with a sentence naming the file and line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import TRAINER_TIMEOUT_S, assert_resumes_after_a_kill
from tests.test_train import config
from tests.tiny import write_random_model
from tui_ft.core.config import save_config
from tui_ft.core.errors import UserError
from tui_ft.core.rewards.spec import Reward
from tui_ft.core.runs.charts import run_objective
from tui_ft.core.runs.completions import read_samples
from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.launch import prepare_run, start_trainer
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.series import RunSeries
from tui_ft.engine.export.merge import export_merged
from tui_ft.engine.train.objectives.grpo import build_data
from tui_ft.engine.train.objectives.grpo_rewards import load_reward, reward_functions

REWARDS_DIR = Path(__file__).parent / "fixtures" / "rewards"
GOOD = REWARDS_DIR / "good.py"
PROBLEMS = [(f"What is {a} plus {b}?", a + b) for a, b in ((2, 3), (4, 1), (6, 2), (3, 3))]
# Every metric the objective declares, written on each training line (eval aside; reward 1 and
# 2 are the run's two rewards, the others unused).
WRITTEN = (
    "loss",
    "reward",
    "reward_std",
    "reward_zero_std",
    "reward_1",
    "reward_1_std",
    "reward_2",
    "completion_length",
    "completion_min",
    "completion_max",
    "clipped",
    "kl",
    "entropy",
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_random_model(tmp_path_factory.mktemp("model") / "tiny"))


def grpo_config(model: str, data: str, **overrides: Any) -> Any:
    settings = {
        "objective": "grpo",
        "max_steps": 4,
        "save_every_steps": 2,
        "eval_split": 0.25,
        "eval_every": 2,
        "batch_size": 1,
        "num_generations": 2,
        "max_completion_length": 8,
        "beta": 0.04,  # so the KL is logged
        "rewards": [
            {"regex": "<answer>.*</answer>"},
            {"python": f"{GOOD}:mentions_answer", "weight": 0.5},
        ],
    }
    return config(model, data, **{**settings, **overrides})


def test_it_trains_writes_every_metric_and_resumes_after_a_kill(
    tiny_model: str, tmp_path: Path
) -> None:
    problems = tmp_path / "problems.jsonl"
    rows = [{"prompt": p, "answer": str(a)} for p, a in PROBLEMS * 3]
    problems.write_text("\n".join(json.dumps(row) for row in rows))
    run = prepare_run(grpo_config(tiny_model, str(problems)))
    assert_resumes_after_a_kill(run, 4)
    records = [r for r in read_jsonl(run.metrics_path) if "loss" in r]
    missing = [(r["step"], key) for r in records for key in WRITTEN if key not in r]
    assert missing == []
    assert all(r["completion_max"] <= 8 and 0 <= r["clipped"] <= 1 for r in records)
    assert any("eval_reward" in r for r in read_jsonl(run.metrics_path))
    assert [p["step"] for p in read_jsonl(run.probes_path)][-1] == 4
    # The completions panel's file: the last training log's samples, each scored by both.
    samples = read_samples(run.completions_path)
    assert samples and {s.step for s in samples} == {records[-1]["step"]}
    assert all(len(s.scores) == 2 and s.prompt in dict(PROBLEMS) for s in samples)
    own = run_objective(run)
    assert own.name == "grpo"
    series = RunSeries(metrics=[m.key for m in own.metrics]).add(read_jsonl(run.metrics_path))
    assert set(WRITTEN) <= series
    ledger = json.loads(run.ledger_path.read_text())
    assert ledger["dataset"]["format"] == "prompt_only"

    report = export_merged(run)
    assert report["passed"] and report["identical"] == report["total"] == 1


def test_a_reward_file_loads_and_scores() -> None:
    function = load_reward(GOOD, "mentions_answer", ["answer"])
    assert function(prompts=["p", "p"], completions=["it is 5", "no"], answer=["5", "5"]) == [1, 0]


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"  # written here: the linters would refuse it in the tree
    broken.write_text(
        '"""Broken."""\n\n\ndef score(prompts, completions, **kwargs)\n    return []\n'
    )
    with pytest.raises(UserError) as caught:
        load_reward(broken, "score")
    assert caught.value.message.startswith(f"{broken} line 4: expected ':', so its reward")


def test_a_missing_function_names_those_there() -> None:
    with pytest.raises(UserError) as caught:
        load_reward(REWARDS_DIR / "wrong.py", "mine")
    assert caught.value.message.endswith("has no function mine (it defines no_kwargs, too_few).")


def test_a_wrong_signature_names_the_line() -> None:
    with pytest.raises(UserError) as caught:
        load_reward(REWARDS_DIR / "wrong.py", "no_kwargs", ["answer"])
    message = caught.value.message
    assert message.startswith(f"{REWARDS_DIR / 'wrong.py'} line 4: no_kwargs cannot take")
    assert "def no_kwargs(prompts, completions, **kwargs)" in caught.value.hint


def test_a_wrong_return_length_is_a_sentence() -> None:
    rewards = [Reward("python", f"{REWARDS_DIR / 'wrong.py'}:too_few")]
    (function,) = reward_functions(rewards, ["answer"])
    assert function.__name__ == "reward_1"
    with pytest.raises(UserError) as caught:
        function(prompts=["p", "p"], completions=["a", "b"], answer=["1", "1"])
    assert "reward 1 (too_few) returned" in caught.value.message
    assert "returned 1 scores for 2 completions" in caught.value.message


def test_a_missing_file_and_a_missing_field_are_sentences(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"the reward file .*nowhere\.py does not exist\."):
        load_reward(tmp_path / "nowhere.py", "f")
    (function,) = reward_functions([Reward("exact_match", "solution")], ["answer"])
    with pytest.raises(UserError, match=r"reward 1 \(exact_match solution\): exact_match reads"):
        function(prompts=["p"], completions=["5"], answer=["5"])


def test_the_rewards_page_example_loads_and_scores(tmp_path: Path) -> None:
    page = (Path(__file__).parent.parent / "docs" / "rewards.md").read_text("utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", page, re.DOTALL)
    example = tmp_path / "rewards.py"
    example.write_text(code)
    function = load_reward(example, "my_reward", ["answer"])
    scores = function(prompts=["p", "p"], completions=["<answer>5</answer>", "6"], answer=[5, 5])
    assert scores == [1.0, 0.0]


def test_a_reward_reading_a_missing_field_fails_the_run_with_its_sentence(
    tiny_model: str, tmp_path: Path
) -> None:
    problems = tmp_path / "problems.jsonl"
    problems.write_text("\n".join(json.dumps({"prompt": p, "answer": str(a)}) for p, a in PROBLEMS))
    cfg = grpo_config(
        tiny_model, str(problems), max_steps=1, eval_split=0.0, rewards=[{"exact_match": "x"}]
    )
    run = prepare_run(cfg)
    assert start_trainer(run).wait(timeout=TRAINER_TIMEOUT_S) == 1
    error = run.read_status().error
    assert error is not None, run.log_path.read_text()[-3000:]
    assert error.message.startswith("reward 1 (exact_match x): exact_match reads the field `x`")
    assert "Traceback" not in run.log_path.read_text()


@pytest.mark.parametrize(
    ("rows", "sentence"),
    [
        ([{"prompt": "Write a haiku.", "length": 17}], "line 1: the field `length` has a name"),
        (
            [{"prompt": "2+3?", "answer": 5}, {"prompt": "1+1?", "answer": "2"}],
            "line 2: the field `answer` holds text, but problems.jsonl line 1 holds a number",
        ),
    ],
)
def test_fields_the_trainer_cannot_carry_are_refused(
    tiny_model: str, tmp_path: Path, rows: list[dict[str, Any]], sentence: str
) -> None:
    from transformers import AutoTokenizer

    data = tmp_path / "problems.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in rows))
    cfg = grpo_config(tiny_model, str(data), eval_split=0.0)
    with pytest.raises(UserError) as caught:
        build_data(cfg, AutoTokenizer.from_pretrained(tiny_model))
    assert caught.value.message.startswith(f"problems.jsonl {sentence}")


def test_the_cli_trains_with_a_reward_file_named_from_the_working_folder(
    tiny_model: str, tmp_path: Path
) -> None:
    """`tui-ft train grpo.yaml` in the folder holding the data and the reward file, both
    named relative to it, as a person writes them."""
    (tmp_path / "my_rewards.py").write_text(GOOD.read_text(encoding="utf-8"), encoding="utf-8")
    rows = [{"prompt": p, "answer": str(a)} for p, a in PROBLEMS * 2]
    (tmp_path / "problems.jsonl").write_text("\n".join(json.dumps(row) for row in rows))
    rewards = [{"python": "my_rewards.py:mentions_answer", "name": "mentions"}]
    settings = {"max_steps": 2, "save_every_steps": 0, "eval_split": 0.0, "rewards": rewards}
    save_config(grpo_config(tiny_model, "problems.jsonl", **settings), tmp_path / "grpo.yaml")
    out = subprocess.run(
        [sys.executable, "-m", "tui_ft.cli", "train", "grpo.yaml", "--name", "cli-grpo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TRAINER_TIMEOUT_S,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    run = RunDir.open("cli-grpo")
    assert run.read_status().state == "completed"
    samples = read_samples(run.completions_path)
    assert samples and all(len(s.scores) == 1 and s.scores[0] in (0.0, 1.0) for s in samples)
    assert all("reward_1" in r for r in read_jsonl(run.metrics_path) if "loss" in r)
