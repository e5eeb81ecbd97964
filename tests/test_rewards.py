"""The built-in rewards on hand-written completions, and the `rewards:` list's checks."""

from __future__ import annotations

import pytest

from tui_ft.core.rewards import builtins
from tui_ft.core.rewards.builtins import RewardError, completion_text
from tui_ft.core.rewards.spec import Reward, read_rewards, reward_problems

FORMAT = r"^<think>.*</think>\s*<answer>.*</answer>$"


def test_regex_matches_across_lines() -> None:
    reward = builtins.regex(FORMAT)
    completions = [
        "<think>2 and 3\nmake 5</think>\n<answer>5</answer>",
        "The answer is 5.",
        "<answer>5</answer>",
    ]
    assert reward(["p"] * 3, completions) == [1.0, 0.0, 0.0]


def test_conversational_completions_are_read_from_the_last_assistant_turn() -> None:
    said = [{"role": "assistant", "content": "<answer>7</answer>"}]
    assert completion_text(said) == "<answer>7</answer>"
    reward = builtins.exact_match("answer")
    assert reward([[{"role": "user", "content": "3+4?"}]], [said], answer=["7"]) == [1.0]


@pytest.mark.parametrize(
    ("completion", "expected", "score"),
    [
        ("<think>…</think><answer> 12 </answer>", "12", 1.0),
        ("<answer>12.0</answer>", 12, 1.0),
        ("<answer>1,200</answer>", "1200", 1.0),
        ("<answer>13</answer>", "12", 0.0),
        ("<answer>Paris </answer>", "paris", 1.0),
        ("  The  Eiffel\nTower ", "the eiffel tower", 1.0),  # no tags: the whole completion
        ("<answer>4</answer> then <answer>5</answer>", "5", 1.0),  # the last answer counts
        ("<answer>five</answer>", "5", 0.0),
    ],
)
def test_exact_match(completion: str, expected: object, score: float) -> None:
    assert builtins.exact_match("answer")(["p"], [completion], answer=[expected]) == [score]


def test_exact_match_names_a_field_the_rows_lack() -> None:
    with pytest.raises(RewardError, match=r"`solution`.*\(they have `answer`\)"):
        builtins.exact_match("solution")(["p"], ["5"], answer=["5"])


def test_length_is_one_within_tolerance_and_falls_linearly() -> None:
    reward = builtins.length(10, 4)
    ids = [[0] * n for n in (10, 6, 14, 16, 18, 30)]
    assert reward(["p"] * 6, ["x"] * 6, completion_ids=ids) == [1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
    # Without token ids (outside TRL), words.
    assert reward(["p"], ["one two three four five six seven eight nine ten"]) == [1.0]


def test_json_valid() -> None:
    reward = builtins.json_valid()
    completions = ['{"a": 1}', "<answer>[1, 2]</answer>", "{a: 1}", ""]
    assert reward(["p"] * 4, completions) == [1.0, 1.0, 0.0, 0.0]


def test_the_rewards_list_reads_every_kind_with_weights() -> None:
    raw = [
        {"regex": FORMAT},
        {"exact_match": "answer", "weight": 2},
        {"length": {"target": 60, "tolerance": 20}},
        {"json_valid": True},
        {"python": "rewards.py:my_reward", "weight": 0.5},
    ]
    assert reward_problems(raw) == []
    rewards = read_rewards(raw)
    assert [r.kind for r in rewards] == ["regex", "exact_match", "length", "json_valid", "python"]
    assert [r.weight for r in rewards] == [1.0, 2.0, 1.0, 1.0, 0.5]
    assert rewards[2].builtin()(["p"], ["x"], completion_ids=[[0] * 60]) == [1.0]
    assert rewards[4].python_target()[1] == "my_reward"


@pytest.mark.parametrize(
    ("item", "sentence"),
    [
        ({"regx": "a"}, "rewards item 1: regx is not a reward; the rewards are regex"),
        ({"regex": "(unclosed"}, "rewards item 1: regex: the pattern '(unclosed' is not a valid"),
        ({"length": {"target": -3}}, "rewards item 1: length: target must be a number of tokens"),
        ({"length": {"target": 0}}, "rewards item 1: length: target must be above 0"),
        ({"length": 60}, "rewards item 1: length: it needs `{target: 60, tolerance: 20}`"),
        ({"json_valid": "yes"}, "rewards item 1: json_valid: is written `json_valid: true`"),
        ({"python": "rewards.py"}, "rewards item 1: python: 'rewards.py' should name a file and"),
        ({"exact_match": ""}, "rewards item 1: exact_match: needs the name of the row's field"),
        ({"exact_match": "a", "weight": "x"}, "rewards item 1: weight must be a number"),
        ({"exact_match": "a", "regex": "b"}, "rewards item 1: should name one reward"),
        ("exact_match", "rewards item 1: should be a mapping"),
    ],
)
def test_a_bad_item_is_a_sentence_naming_it(item: object, sentence: str) -> None:
    problems = reward_problems([item])
    assert len(problems) == 1 and problems[0].startswith(sentence), problems
    assert problems[0].endswith(".")


def test_an_empty_or_missing_list_is_refused() -> None:
    assert reward_problems([])[0].startswith("rewards must be a list")
    assert reward_problems(None)[0].startswith("rewards must be a list")


def test_labels() -> None:
    assert Reward("exact_match", "answer").label == "exact_match answer"
    assert Reward("length", {"target": 60.0, "tolerance": 20.0}).label == "length 60±20"
