"""An evaluation's result, base against tuned, as `tui-ft eval` saves it in the run's evals/
and as `--json` prints it (docs/run-directory.md, docs/evaluate.md)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from tui_ft.core.errors import UserError

FORMAT = 1  # result.json's `format`: raised when its meaning changes


@dataclass(frozen=True)
class TaskScore:
    task: str
    metric: str  # e.g. acc, exact_match, loss
    base: float
    tuned: float
    base_stderr: float | None = None  # the harness's standard error of each side's score
    tuned_stderr: float | None = None
    higher_is_better: bool = True
    samples: int | None = None  # questions (or held-out examples) scored
    # False for the held-out split's loss: it measures the run's own task, not forgetting.
    checks_forgetting: bool = True

    @property
    def delta(self) -> float:
        return self.tuned - self.base

    def as_json(self) -> dict[str, Any]:
        """The entry of `--json`'s `tasks`: the metric, both scores and both standard errors."""
        return {
            "metric": self.metric,
            "base": self.base,
            "tuned": self.tuned,
            "stderr": {"base": self.base_stderr, "tuned": self.tuned_stderr},
        }


@dataclass
class EvalReport:
    run: str
    tasks: list[TaskScore]
    created: str = ""  # local time, YYYY-mm-dd HH:MM:SS
    limit: int | None = None  # questions per task, when cut
    chat_template: bool = True
    device: str = ""
    kind: str = ""  # "adapter" (one base, the adapter off and on) or "two-models" (full)
    seconds: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def tasks_json(self) -> dict[str, Any]:
        """Exactly what `tui-ft eval --json` prints."""
        return {"tasks": {score.task: score.as_json() for score in self.tasks}}

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: object, where: str) -> EvalReport:
        """Read back from result.json; a damaged file is a sentence naming it."""
        try:
            assert isinstance(data, dict)
            tasks = [TaskScore(**_checked_score(item)) for item in data["tasks"]]
            known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "tasks"}
            return cls(tasks=tasks, **known)
        except (AssertionError, KeyError, TypeError, ValueError) as err:
            raise UserError(
                f"{where} is not an evaluation result tui-ft can read ({type(err).__name__}).",
                "Run the evaluation again; it writes a new folder.",
            ) from None


def _checked_score(item: object) -> dict[str, Any]:
    assert isinstance(item, dict)
    for key in ("base", "tuned"):
        value = item[key]
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(key)
    return item
