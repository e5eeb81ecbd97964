"""`tui-ft data inspect` on prompt-only data (grpo): it names the fields beside the prompt,
says what each of a run.yaml's rewards reads (a Python reward's parameters read from its source,
never run), refuses a reward reading a field the rows lack with a sentence, and does not count
prompt-only rows as losing their trained tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.test_data_inspect import inspect, inspect_json
from tests.tiny import write_model_dir
from tui_ft.core.rewards.fields import missing_field_sentences, rewards_read
from tui_ft.core.rewards.spec import read_rewards

REWARD_FILE = '''"""Rewards that must not run here."""

raise SystemExit("the reward file was executed")


def close(prompts, completions, answer, tolerance=0, **kwargs):
    return [0.0 for _ in completions]


def strict(prompts, completions, solution):
    return [0.0 for _ in completions]
'''


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_model_dir(tmp_path_factory.mktemp("models") / "tiny"))


def problems(tmp_path: Path) -> Path:
    rows = [{"prompt": f"What is {a} plus 2?", "answer": str(a + 2), "level": 1} for a in range(4)]
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def run_yaml(tmp_path: Path, model_dir: str, rewards: list[dict[str, object]]) -> Path:
    path = tmp_path / "grpo.yaml"
    config = {
        "model": model_dir,
        "dataset": str(problems(tmp_path)),
        "objective": "grpo",
        "rewards": rewards,
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_a_python_rewards_fields_are_read_from_its_source(tmp_path: Path) -> None:
    file = tmp_path / "rewards.py"
    file.write_text(REWARD_FILE, encoding="utf-8")
    rewards = read_rewards(
        [
            {"regex": "<answer>"},
            {"python": f"{file}:close"},
            {"python": f"{file}:strict"},
            {"python": f"{tmp_path}/none.py:f"},
        ]
    )
    reads = rewards_read(rewards, ["answer", "level"])
    assert [(r.needs, r.may_read, r.any_field) for r in reads[:3]] == [
        ((), (), False),
        (("answer",), ("tolerance",), True),
        (("solution",), (), False),
    ]
    assert reads[2].missing == ("solution",)
    sentences = missing_field_sentences(reads, ["answer", "level"])
    assert sentences == [
        "reward 3 (strict) reads the field `solution`, which the rows do not have (they have "
        "`answer`, `level`).",
        f"reward 4 (f): the reward file {tmp_path}/none.py does not exist.",
    ]


def test_inspect_with_a_grpo_config_names_the_fields_and_what_each_reward_reads(
    tmp_path: Path, model_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "rewards.py"
    file.write_text(REWARD_FILE, encoding="utf-8")
    config = run_yaml(tmp_path, model_dir, [{"exact_match": "answer"}, {"python": f"{file}:close"}])
    report = inspect_json(capsys, "--config", str(config))
    assert report["format"] == "prompt_only" and report["fit"]["fits"]
    assert report["row_fields"] == ["answer", "level"] and report["reward_problems"] == []
    assert [r["needs"] for r in report["rewards"]] == [["answer"], ["answer"]]
    # Prompts train on what the model samples: none of them "loses every trained token".
    assert report["nothing_left_to_train"] == 0
    code, out, _ = inspect(capsys, "--config", str(config))
    flat = " ".join(out.split())  # as read, whatever the console's width wrapped
    assert code == 0
    assert "fields answer, level" in flat
    assert "reward 1 exact_match answer: reads `answer`" in flat
    assert "reward 2 close: reads `answer`, `tolerance` if there, and may read any" in flat
    assert "lose every trained token" not in flat
    assert "the completions the model samples" in flat


def test_a_reward_reading_a_field_the_rows_lack_is_refused(
    tmp_path: Path, model_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = run_yaml(tmp_path, model_dir, [{"exact_match": "solution"}])
    code, out, _ = inspect(capsys, "--config", str(config), "--max-length", "8")
    assert code == 1
    assert (
        "reward 1 (exact_match solution) reads the field `solution`, which the rows do not "
        "have (they have `answer`, `level`)." in " ".join(out.split())
    )
    assert "lose every trained token" not in out


def test_without_a_config_prompt_only_data_still_names_its_fields(
    tmp_path: Path, model_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = inspect_json(
        capsys, str(problems(tmp_path)), "--model", model_dir, "--objective", "grpo"
    )
    assert report["row_fields"] == ["answer", "level"] and report["rewards"] == []
    code, _, err = inspect(capsys)
    assert code == 1 and "data inspect needs a dataset." in err
