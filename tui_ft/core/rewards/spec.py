"""The `rewards:` list of run.yaml, read and checked: each item a built-in (`regex: PATTERN`,
`exact_match: FIELD`, `length: {target, tolerance}`, `json_valid: true`) or `python:
FILE.py:FUNC`, with an optional `weight` (1.0 by default) and an optional `name` (what the
monitor's charts and completions panel call it).

Checking never imports a Python reward file (the UI checks run.yaml too): it only says whether
the file is there; the trainer process loads it."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_ft.core.rewards import builtins
from tui_ft.core.rewards.builtins import RewardFunction

BUILTINS = ("regex", "exact_match", "length", "json_valid")
KINDS = (*BUILTINS, "python")
_FUNCTION_NAME = re.compile(r"^[A-Za-z_]\w*$")
NAME_MAX = 40


@dataclass(frozen=True)
class Reward:
    kind: str  # one of KINDS
    argument: Any  # the pattern, the field, {target, tolerance}, true, or "FILE.py:FUNC"
    weight: float = 1.0
    name: str = ""  # run.yaml's `name:`; "" when it has none

    @property
    def label(self) -> str:
        """How the monitor and messages name it: its `name`, else e.g. "exact_match answer",
        or a Python reward's function name."""
        if self.name:
            return self.name
        if self.kind == "python":
            return self.python_target()[1]
        if self.kind == "length":
            return f"length {self.argument['target']:g}±{self.argument['tolerance']:g}"
        if self.kind == "json_valid":
            return "json_valid"
        if self.kind == "regex":
            return "regex"
        return f"{self.kind} {self.argument}"

    def builtin(self) -> RewardFunction:
        """The built-in's function (not for `python`, which the trainer loads)."""
        if self.kind == "regex":
            return builtins.regex(self.argument)
        if self.kind == "exact_match":
            return builtins.exact_match(self.argument)
        if self.kind == "length":
            return builtins.length(self.argument["target"], self.argument["tolerance"])
        if self.kind == "json_valid":
            return builtins.json_valid()
        raise ValueError(f"{self.kind} is not a built-in reward")

    def python_target(self) -> tuple[Path, str]:
        """A `python` reward's file and function; a relative file is read from the working
        directory, as `dataset:` is."""
        file, _, function = str(self.argument).rpartition(":")
        return Path(file).expanduser(), function


def reward_labels(rewards: list[Reward]) -> list[str]:
    """Each reward's label, made unique by its place where two would read alike (two regexes:
    "regex 1", "regex 2")."""
    labels = [reward.label for reward in rewards]
    return [
        f"{label} {number}" if labels.count(label) > 1 else label
        for number, label in enumerate(labels, start=1)
    ]


def run_reward_labels(settings: Mapping[str, Any]) -> list[str]:
    """The labels of a run's rewards (its objective's settings); none when they cannot run."""
    raw = settings.get("rewards")
    return [] if reward_problems(raw) else reward_labels(read_rewards(raw))


def read_rewards(raw: Any) -> list[Reward]:
    """The rewards of a list already checked by `reward_problems`."""
    return [_read(item)[0] for item in raw or []]  # type: ignore[misc]


def reward_problems(raw: Any) -> list[str]:
    """Every problem of the `rewards:` list as a sentence naming its item; empty when it can
    run (a Python reward's file is looked for by the trainer, which loads it)."""
    if not isinstance(raw, list) or not raw:
        return [
            "rewards must be a list of reward functions, e.g. `- exact_match: answer` or "
            "`- python: rewards.py:my_reward`; GRPO learns only from what they score."
        ]
    problems = []
    for number, item in enumerate(raw, start=1):
        _, problem = _read(item)
        if problem is not None:
            problems.append(f"rewards item {number}: {problem}.")
    return problems


def _read(item: Any) -> tuple[Reward | None, str | None]:
    if not isinstance(item, dict):
        return None, f"should be a mapping such as `exact_match: answer`, not {item!r}"
    weight = item.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
        return None, f"weight must be a number, not {weight!r}"
    name = item.get("name", "")
    if not isinstance(name, str) or len(name) > NAME_MAX:
        return None, f"name must be a short text (up to {NAME_MAX} characters), not {name!r}"
    kinds = [key for key in item if key not in ("weight", "name")]
    if len(kinds) != 1:
        named = ", ".join(map(str, kinds)) or "nothing"
        return None, f"should name one reward ({', '.join(KINDS)}), not {named}"
    kind = str(kinds[0])
    if kind not in KINDS:
        return None, f"{kind} is not a reward; the rewards are {', '.join(KINDS)}"
    argument = item[kinds[0]]
    problem = _ARGUMENT_CHECKS[kind](argument)
    if problem is not None:
        return None, f"{kind}: {problem}"
    if kind == "length":
        argument = {
            "target": float(argument["target"]),
            "tolerance": float(argument.get("tolerance", 0)),
        }
    return Reward(kind, argument, float(weight), " ".join(name.split())), None


def _check_regex(argument: Any) -> str | None:
    if not isinstance(argument, str) or not argument:
        return "needs a pattern, e.g. `regex: '<answer>.*</answer>'`"
    try:
        re.compile(argument, re.DOTALL)
    except re.error as err:
        return f"the pattern {argument!r} is not a valid regular expression ({err})"
    return None


def _check_field(argument: Any) -> str | None:
    if not isinstance(argument, str) or not argument.strip():
        return "needs the name of the row's field holding the answer, e.g. `exact_match: answer`"
    return None


def _check_length(argument: Any) -> str | None:
    usage = "it needs `{target: 60, tolerance: 20}` (tokens)"
    if not isinstance(argument, dict) or "target" not in argument:
        return usage
    unknown = set(argument) - {"target", "tolerance"}
    if unknown:
        return f"{', '.join(map(str, sorted(unknown)))} is not one of its keys; {usage}"
    for key in ("target", "tolerance"):
        value = argument.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return f"{key} must be a number of tokens, 0 or more (it is {value!r}); {usage}"
    if argument["target"] == 0:
        return f"target must be above 0; {usage}"
    return None


def _check_json(argument: Any) -> str | None:
    return None if argument is True else "is written `json_valid: true`"


def _check_python(argument: Any) -> str | None:
    file, _, function = str(argument).rpartition(":") if isinstance(argument, str) else ("", "", "")
    if not file.endswith(".py") or not _FUNCTION_NAME.match(function):
        return (
            f"{argument!r} should name a file and a function, e.g. `python: rewards.py:my_reward`"
        )
    return None


_ARGUMENT_CHECKS = {
    "regex": _check_regex,
    "exact_match": _check_field,
    "length": _check_length,
    "json_valid": _check_json,
    "python": _check_python,
}
