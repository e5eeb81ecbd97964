"""Write the built-in `demo-grpo` dataset: tui_ft/data/demo-grpo/.

    python tools/make_demo_grpo.py          # rewrite problems.jsonl and heldout.jsonl
    python tools/make_demo_grpo.py --check  # exit 1 when the shipped files differ

Short arithmetic word problems (one addition, subtraction, multiplication or fair share of
small whole numbers), each a `prompt` that asks for the result inside <answer>…</answer> and
its `answer` field. GRPO with a format reward (`regex`) and `exact_match: answer` teaches the
demo model to answer in the format (the chart shows the format reward rising first) and then
the number. The held-out problems are others, none in the training file, judged by whether the
answer uses the format (`expect`) and, with `answer`, whether it is right.

The demo model (SmolLM2-135M-Instruct) follows the instruction alone almost never (0 of 32
sampled answers used the tags), which leaves GRPO nothing to learn from. So every other
training prompt shows the format once: a worked example as an earlier turn of the
conversation (a user question and the assistant's `<answer>5</answer>`), the way few-shot
prompts do. Those rows give the format reward something to pay for from the first step; the
rows without an example, and the held-out problems (all without one), show whether the model
learned the format rather than copied it.

The output is the same on every run (a fixed seed, no clock): the shipped files are this
script's output, and `--check` (run by tests/test_demo_grpo.py) keeps them so.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path

from make_demo_preference import jsonl, write_or_check

OUT = Path(__file__).resolve().parent.parent / "tui_ft" / "data" / "demo-grpo"
SEED = 17
TRAIN = 100
HELDOUT = 10
ASK = "Put only the final number inside <answer></answer>."
NAMES = ("Ana", "Ben", "Chloe", "Dev", "Ema", "Finn", "Gita", "Hugo", "Ivy", "Jon", "Kira", "Leo")
THINGS = ("apples", "stickers", "marbles", "stamps", "shells", "cards", "books", "coins")
# Worked examples shown as an earlier turn, by names the problems never use.
SHOWN = (
    ("Tom has 2 pencils and gets 3 more. How many pencils does Tom have now?", 5),
    ("Mia had 12 beads and gave 5 away. How many beads are left?", 7),
    ("A bag holds 4 plums. How many plums are in 3 bags?", 12),
)

# (template, the answer from a and b, how a and b are drawn): {n} a name, {t} things.
Problem = tuple[str, Callable[[int, int], int], Callable[[random.Random], tuple[int, int]]]


def _small(rng: random.Random) -> tuple[int, int]:
    return rng.randint(2, 20), rng.randint(2, 20)


def _take(rng: random.Random) -> tuple[int, int]:
    a = rng.randint(5, 30)
    return a, rng.randint(1, a - 1)


def _times(rng: random.Random) -> tuple[int, int]:
    return rng.randint(2, 9), rng.randint(2, 9)


def _share(rng: random.Random) -> tuple[int, int]:
    b = rng.randint(2, 6)
    return b * rng.randint(2, 9), b


PROBLEMS: tuple[Problem, ...] = (
    ("{n} has {a} {t} and gets {b} more. How many {t} does {n} have now?", int.__add__, _small),
    ("{n} had {a} {t} and gave {b} away. How many {t} are left?", int.__sub__, _take),
    ("A box holds {a} {t}. How many {t} are in {b} boxes?", int.__mul__, _times),
    (
        "{n} shares {a} {t} equally among {b} friends. How many does each friend get?",
        int.__floordiv__,
        _share,
    ),
    ("{n} found {a} {t} on Monday and {b} on Tuesday. How many {t} in all?", int.__add__, _small),
    (
        "There were {a} {t} on a shelf. {n} took {b}. How many {t} are still on the shelf?",
        int.__sub__,
        _take,
    ),
)


def rows() -> list[dict[str, object]]:
    """TRAIN + HELDOUT distinct problems, in a fixed order."""
    rng = random.Random(SEED)
    seen: set[str] = set()
    out: list[dict[str, object]] = []
    while len(out) < TRAIN + HELDOUT:
        template, answer, draw = rng.choice(PROBLEMS)
        a, b = draw(rng)
        question = template.format(n=rng.choice(NAMES), t=rng.choice(THINGS), a=a, b=b)
        if question in seen:
            continue
        seen.add(question)
        out.append({"prompt": f"{question} {ASK}", "answer": str(answer(a, b))})
    return out


def with_example(row: dict[str, object], number: int) -> dict[str, object]:
    """The row's prompt after a worked example in the format (a conversation's earlier turn)."""
    question, result = SHOWN[number % len(SHOWN)]
    turns = [
        {"role": "user", "content": f"{question} {ASK}"},
        {"role": "assistant", "content": f"<answer>{result}</answer>"},
        {"role": "user", "content": row["prompt"]},
    ]
    return {**row, "prompt": turns}


def files() -> dict[Path, str]:
    problems = rows()
    train = [
        with_example(row, number // 2) if number % 2 == 0 else row
        for number, row in enumerate(problems[:TRAIN])
    ]
    heldout = [{**row, "expect": ["<answer>", "</answer>"]} for row in problems[TRAIN:]]
    return {OUT / "problems.jsonl": jsonl(train), OUT / "heldout.jsonl": jsonl(heldout)}


if __name__ == "__main__":
    summary = f"wrote {TRAIN} problems and {HELDOUT} held-out ones to {OUT}"
    sys.exit(write_or_check(files(), OUT, summary, __doc__))
