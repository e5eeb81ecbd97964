"""Which row fields each reward reads, for `data inspect`: a built-in's from its argument
(`exact_match: answer` reads `answer`), a Python reward's from its function's parameters, read
from the file's source (`ast`) and never run, so nothing of the file executes here.

A parameter without a default is a field the reward needs (TRL passes every row field as a
keyword argument, and a missing one is a TypeError at the first step); one with a default is
read when the rows have it; `**kwargs` may read any."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Collection
from dataclasses import dataclass

from tui_ft.core.rewards.spec import Reward, reward_labels

# What TRL passes every reward function besides the rows' fields (trl/trainer/grpo_trainer.py).
TRL_ARGUMENTS = (
    "prompts",
    "completions",
    "completion_ids",
    "trainer_state",
    "log_extra",
    "log_metric",
)


@dataclass(frozen=True)
class Reads:
    """What one reward reads of a row."""

    label: str
    needs: tuple[str, ...] = ()  # fields it cannot score without
    may_read: tuple[str, ...] = ()  # fields it reads when the rows have them
    any_field: bool = False  # `**kwargs`: it may read any other field
    problem: str = ""  # why its file cannot be read (the trainer will say the same)
    missing: tuple[str, ...] = ()  # of `needs`, those the rows lack

    def to_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "needs": list(self.needs),
            "may_read": list(self.may_read),
            "any_field": self.any_field,
            "missing": list(self.missing),
            "problem": self.problem,
        }


def rewards_read(rewards: list[Reward], fields: Collection[str]) -> list[Reads]:
    """Each reward's fields, with those it needs that `fields` (the rows' own) lack."""
    out = []
    for reward, label in zip(rewards, reward_labels(rewards), strict=True):
        reads = _reads(reward, label)
        missing = tuple(name for name in reads.needs if name not in fields)
        out.append(dataclasses.replace(reads, missing=missing))
    return out


def missing_field_sentences(reads: list[Reads], fields: Collection[str]) -> list[str]:
    """A sentence per reward that needs a field the rows lack, or whose file cannot be read."""
    have = ", ".join(f"`{name}`" for name in sorted(fields)) or "no field but the prompt"
    sentences = []
    for number, one in enumerate(reads, start=1):
        if one.problem:
            sentences.append(f"reward {number} ({one.label}): {one.problem}")
        for name in one.missing:
            sentences.append(
                f"reward {number} ({one.label}) reads the field `{name}`, which the rows do "
                f"not have (they have {have})."
            )
    return sentences


def _reads(reward: Reward, label: str) -> Reads:
    if reward.kind == "exact_match":
        return Reads(label, needs=(str(reward.argument),))
    if reward.kind != "python":
        return Reads(label)
    path, name = reward.python_target()
    try:
        source = path.read_text(encoding="utf-8")
    except OSError:
        return Reads(label, problem=f"the reward file {path} does not exist.")
    try:
        tree = ast.parse(source, str(path))
    except SyntaxError as err:
        return Reads(label, problem=f"{path} line {err.lineno}: {err.msg}.")
    function = next(
        (
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
        ),
        None,
    )
    if function is None:
        return Reads(label, problem=f"{path} defines no function {name} at its top level.")
    return _parameters(label, function.args)


def _parameters(label: str, args: ast.arguments) -> Reads:
    positional = [*args.posonlyargs, *args.args]
    # Defaults belong to the last positional parameters; keyword-only ones pair with theirs.
    first_default = len(positional) - len(args.defaults)
    named = [(a.arg, i >= first_default) for i, a in enumerate(positional)]
    named += [
        (a.arg, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    fields = [(name, has_default) for name, has_default in named if name not in TRL_ARGUMENTS]
    return Reads(
        label,
        needs=tuple(name for name, has_default in fields if not has_default),
        may_read=tuple(name for name, has_default in fields if has_default),
        any_field=args.kwarg is not None,
    )
