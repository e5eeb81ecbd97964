"""The built-in demo datasets, their held-out prompts, and how an answer to one is judged.

`demo` teaches the demo model a new identity (SFT); `demo-preference` teaches it a style
through preference pairs (DPO and friends); `demo-grpo` is arithmetic word problems with their
`answer`, for GRPO with a format and an exact-match reward. Each ships with prompts that are not in its
training data, each with `expect`: what a model that learned the lesson says (see `says`).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from tui_ft.core import paths

# name → (training file, held-out prompts), under the package's data folder.
_DEMOS = {
    "demo": ("demo/identity.jsonl", "demo/heldout.jsonl"),
    "demo-preference": ("demo-preference/pairs.jsonl", "demo-preference/heldout.jsonl"),
    "demo-grpo": ("demo-grpo/problems.jsonl", "demo-grpo/heldout.jsonl"),
}
DEMO_NAMES = tuple(_DEMOS)
# Each demo's format (what its rows are), so an objective is offered the demo it can train on.
DEMO_FORMATS = {"demo": "messages", "demo-preference": "preference", "demo-grpo": "prompt_only"}
# What each demo's held-out prompts test, for the quick eval's "Prompts:" line.
HELDOUT_TOPICS = {
    "demo": "the demo's held-out identity prompts",
    "demo-preference": "the preference demo's held-out prompts",
    "demo-grpo": "the GRPO demo's held-out problems",
}
# The rewards a demo comes with (run.yaml's `rewards:`), for the objectives that need them
# (grpo): the wizard starts from them, and docs/rewards.md shows them.
DEMO_REWARDS: dict[str, tuple[dict[str, Any], ...]] = {
    "demo-grpo": (
        {"regex": r"<answer>\s*-?\d+\s*</answer>", "name": "format"},
        {"exact_match": "answer"},
    ),
}
# An `expect` entry starting with this must open the answer rather than appear anywhere in it.
OPENS_WITH = "^"


def is_demo(ref: str) -> bool:
    return ref.strip() in _DEMOS


def demos_for(formats: Collection[str]) -> list[str]:
    """The demos, those in one of `formats` (an objective's) first."""
    return sorted(DEMO_NAMES, key=lambda name: DEMO_FORMATS[name] not in formats)


def demo_rewards(ref: str) -> list[dict[str, Any]]:
    """The rewards the dataset `ref` comes with (a copy); none for other data."""
    return [dict(reward) for reward in DEMO_REWARDS.get(ref.strip(), ())]


def demo_file(name: str) -> Path:
    return paths.DATA_DIR / _DEMOS[name][0]


def demo_heldout(name: str = "demo") -> list[dict[str, Any]]:
    """The demo's prompts that are not in its training data, each with `expect`: the words a
    model that learned the lesson says in its answer (`demo`: the new name), or the words it
    opens with, marked by a leading `^` (`demo-preference`: the style's marker)."""
    lines = (paths.DATA_DIR / _DEMOS[name][1]).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def says(answer: str, expect: tuple[str, ...]) -> bool:
    """Whether `answer` says every expected word, case-insensitively; a word starting with `^`
    must open the answer (after leading blanks) instead."""
    text = answer.lower()
    opening = text.lstrip()
    for word in expect:
        if word.startswith(OPENS_WITH):
            if not opening.startswith(word[len(OPENS_WITH) :].lower()):
                return False
        elif word.lower() not in text:
            return False
    return True
