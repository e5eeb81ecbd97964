"""GRPO's reward functions as TRL calls them: the built-ins (core/rewards) and the functions of
Python reward files, loaded here in the trainer process only, each wrapped so that a wrong
answer from it stops the run with a sentence instead of a traceback.

Each is named `reward_N` (its place in `rewards:`), so TRL logs `rewards/reward_N/mean`, which
the grpo objective's metrics read."""

from __future__ import annotations

import inspect
import traceback
import types
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from tui_ft.core.errors import UserError
from tui_ft.core.objectives.grpo import reward_name
from tui_ft.core.rewards.builtins import RewardError
from tui_ft.core.rewards.fields import TRL_ARGUMENTS
from tui_ft.core.rewards.spec import Reward
from tui_ft.engine.train.objectives.grpo_samples import SampleRecorder

_FIX = "Fix the file (docs/rewards.md shows a working one) and start the run again."


def reward_functions(
    rewards: list[Reward], fields: Collection[str], recorder: SampleRecorder | None = None
) -> list[Callable[..., Any]]:
    """One function per reward, in order; `fields` are the rows' other fields. `recorder`
    keeps what they score, for the completions panel."""
    return [
        _checked(number, reward, _function(reward, fields), recorder)
        for number, reward in enumerate(rewards, start=1)
    ]


def _function(reward: Reward, fields: Collection[str]) -> Callable[..., Any]:
    if reward.kind != "python":
        return reward.builtin()
    path, name = reward.python_target()
    return load_reward(path, name, fields)


def load_reward(path: Path, name: str, fields: Collection[str] = ()) -> Callable[..., Any]:
    """The function `name` of the Python file `path`, checked to take TRL's arguments."""
    if not path.is_file():
        raise UserError(
            f"the reward file {path} does not exist.",
            "Write the path in `rewards:` relative to the folder you start the run from, or "
            "absolute.",
        )
    try:
        code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    except SyntaxError as err:
        raise UserError(
            f"{path} line {err.lineno}: {err.msg}, so its reward function cannot be loaded.", _FIX
        ) from None
    module = types.ModuleType(f"tui_ft_reward_{path.stem}")
    module.__file__ = str(path)
    try:
        exec(code, module.__dict__)
    except Exception as err:  # noqa: BLE001 - the user's module may raise anything at import
        raise UserError(
            f"{_where(err, path)}: loading the reward file raised {type(err).__name__}: {err}.",
            _FIX,
        ) from None
    function = module.__dict__.get(name)
    if not callable(function):
        defined = [k for k, v in module.__dict__.items() if inspect.isfunction(v)]
        has = f"it defines {', '.join(defined)}" if defined else "it defines no function"
        raise UserError(f"{path} has no function {name} ({has}).", _FIX)
    _check_signature(function, path, name, fields)
    return function


def _check_signature(
    function: Callable[..., Any], path: Path, name: str, fields: Collection[str]
) -> None:
    arguments: dict[str, list[Any]] = {key: [] for key in (*TRL_ARGUMENTS, *fields)}
    try:
        signature = inspect.signature(function)
        signature.bind(**arguments)
    except TypeError as err:
        line = getattr(getattr(function, "__code__", None), "co_firstlineno", None)
        where = f"{path} line {line}" if line else str(path)
        raise UserError(
            f"{where}: {name} cannot take the arguments GRPO passes ({err}).",
            f"Write it as `def {name}(prompts, completions, **kwargs)`: it gets the prompts, the "
            "completions and each row field as keyword arguments, and returns one score per "
            "completion.",
        ) from None


def _where(err: BaseException, path: Path) -> str:
    """The file and line where `err` was raised inside `path`."""
    lines = [f.lineno for f in traceback.extract_tb(err.__traceback__) if f.filename == str(path)]
    return f"{path} line {lines[-1]}" if lines else str(path)


def _checked(
    number: int, reward: Reward, function: Callable[..., Any], recorder: SampleRecorder | None
) -> Callable[..., Any]:
    """`function`, stopping the run with a sentence when it returns the wrong number of scores
    or a built-in cannot score the rows."""

    def reward_n(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[Any]:
        try:
            scores = function(prompts=prompts, completions=completions, **kwargs)
        except RewardError as err:
            raise UserError(
                f"reward {number} ({reward.label}): {err}",
                "Name a field the data has, or add the field to every row.",
            ) from None
        if not isinstance(scores, list | tuple) or len(scores) != len(completions):
            got = f"{len(scores)} scores" if isinstance(scores, list | tuple) else repr(scores)
            raise UserError(
                f"reward {number} ({reward.label}) returned {got} for {len(completions)} "
                "completions; it must return one score per completion, in order.",
                "Return a list as long as `completions` (None where a score does not apply).",
            )
        if recorder is not None:
            recorder.record(number, prompts, completions, list(scores))
        return list(scores)

    reward_n.__name__ = reward_name(number)
    return reward_n
