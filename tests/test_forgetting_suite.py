"""The built-in `forgetting` suite: shipped as its generator writes it, every file loads as an
lm-eval task with all its questions, and every question has exactly one right answer."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tui_ft.core.evals.tasks import SUITE_DIR, TaskSpec, suite_files

ROOT = Path(__file__).resolve().parent.parent
OPS = {"plus": int.__add__, "minus": int.__sub__, "times": int.__mul__}
ARITHMETIC = re.compile(r"What is (\d+) (plus|minus|times) (\d+)\?")


def rows(name: str) -> list[dict[str, Any]]:
    lines = (SUITE_DIR / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_the_shipped_files_are_what_the_generator_writes() -> None:
    script = ROOT / "tools" / "make_forgetting_suite.py"
    out = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_a_few_hundred_questions_each_asked_once_per_task() -> None:
    counts = {f.name: len(rows(f.name)) for f in SUITE_DIR.glob("*.jsonl")}
    assert 200 <= sum(counts.values()) <= 400, counts
    for name in counts:
        questions = [row["question"] for row in rows(name)]
        assert len(set(questions)) == len(questions), name
    arithmetic = [
        r["question"] for n in ("arithmetic.jsonl", "arithmetic_mc.jsonl") for r in rows(n)
    ]
    assert len(set(arithmetic)) == len(arithmetic)


@pytest.mark.parametrize("name", ["knowledge_mc.jsonl", "arithmetic_mc.jsonl"])
def test_every_choice_question_has_four_distinct_choices_and_one_right(name: str) -> None:
    for row in rows(name):
        choices = [c.strip().lower() for c in row["choices"]]
        assert len(choices) == 4 and len(set(choices)) == 4, row
        assert isinstance(row["answer"], int) and 0 <= row["answer"] < 4, row


def test_arithmetic_choices_hold_the_true_result_once_at_the_answer() -> None:
    for row in rows("arithmetic_mc.jsonl"):
        true = _solve(row["question"])
        assert [int(c) == true for c in row["choices"]].count(True) == 1, row
        assert int(row["choices"][row["answer"]]) == true, row


def test_exact_answers_are_whole_numbers_and_arithmetic_ones_are_right() -> None:
    for row in rows("knowledge_num.jsonl") + rows("arithmetic.jsonl"):
        assert re.fullmatch(r"\d+", row["answer"]), row
    for row in rows("arithmetic.jsonl"):
        assert int(row["answer"]) == _solve(row["question"]), row


def _solve(question: str) -> int:
    match = ARITHMETIC.fullmatch(question)
    assert match, question
    a, op, b = match.groups()
    return OPS[op](int(a), int(b))


def test_every_suite_file_loads_in_lm_eval_with_all_its_questions() -> None:
    pytest.importorskip("lm_eval")
    from tui_ft.engine.eval.harness import load_tasks, task_manager

    specs = [TaskSpec(f.stem, f) for f in suite_files()]
    assert len(specs) == 4
    for spec, task in zip(specs, load_tasks(specs, task_manager(specs)), strict=True):
        docs = list(task.test_docs())
        data = rows(Path(task.config.dataset_kwargs["data_files"]["test"]).name)
        assert len(docs) == len(data), spec.file
        for doc in docs:
            target = task.doc_to_target(doc)
            if task.OUTPUT_TYPE == "multiple_choice":
                choices = task.doc_to_choice(doc)
                assert len(choices) == 4 and choices[target] == doc["choices"][doc["answer"]]
            else:
                assert str(target) == doc["answer"]
