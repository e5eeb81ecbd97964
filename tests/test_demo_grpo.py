"""The built-in `demo-grpo` dataset: shipped as its generator writes it, 100 prompt-only rows
whose `answer` the demo's rewards score, and 10 held-out problems judged by the format."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tui_ft.core.datasets.demos import demo_heldout, demo_rewards, demos_for, is_demo, says
from tui_ft.core.datasets.load import load_dataset
from tui_ft.core.objectives import objective_named
from tui_ft.core.rewards.spec import read_rewards

ROOT = Path(__file__).resolve().parent.parent
DEMO_REWARDS = demo_rewards("demo-grpo")


def test_the_shipped_files_are_what_the_generator_writes() -> None:
    script = ROOT / "tools" / "make_demo_grpo.py"
    out = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_demo_grpo_is_clean_prompt_only_data_with_answers() -> None:
    data = load_dataset("demo-grpo")
    assert (data.format, data.problem_count, len(data.examples)) == ("prompt_only", 0, 100)
    assert demos_for(objective_named("grpo").formats)[0] == "demo-grpo"
    shown = 0
    for example in data.examples:
        roles = [m.role for m in example.messages]
        # Every other prompt shows the format once, as an earlier turn: a worked example.
        assert roles in (["user"], ["user", "assistant", "user"])
        if len(roles) == 3:
            shown += 1
            assert re.fullmatch(r"<answer>\d+</answer>", example.messages[1].content)
        assert "<answer></answer>" in example.messages[-1].content
        assert re.fullmatch(r"\d+", str(example.fields["answer"]))
    assert shown == len(data.examples) // 2


def test_the_demo_rewards_score_a_right_answer_in_the_format() -> None:
    regex, exact = (reward.builtin() for reward in read_rewards(DEMO_REWARDS))
    examples = load_dataset("demo-grpo").examples
    answers = [str(e.fields["answer"]) for e in examples]
    right = [f"<answer>{a}</answer>" for a in answers]
    prompts = ["p"] * len(right)
    assert regex(prompts, right) == exact(prompts, right, answer=answers) == [1.0] * len(right)
    assert exact(prompts, answers, answer=answers) == [1.0] * len(right)  # no tags: all of it
    assert regex(prompts, answers) == [0.0] * len(right)


def test_the_held_out_problems_are_new_and_judged_by_the_format() -> None:
    trained = {e.messages[-1].content for e in load_dataset("demo-grpo").examples}
    heldout = demo_heldout("demo-grpo")
    assert len(heldout) == 10 and all(row["prompt"] not in trained for row in heldout)
    assert is_demo("demo-grpo")
    expect = tuple(heldout[0]["expect"])
    assert says("<answer>4</answer>", expect) and not says("It is 4.", expect)
