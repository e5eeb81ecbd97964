"""The trainer's extras within a budget: evaluations and probe answers planned from what they
cost, so that watching a run learn never makes it much slower than the library it drives.

Extras are everything a trainer does between optimizer steps: evaluation, probe answers,
checkpoints, logs and status. By default they get EXTRAS_BUDGET of the run's wall time. Each
kind (evaluation, probes) runs after the first step (where the run starts from), after the last
(where it ended) and in between whenever its share of the budget, earned by the time already
spent on steps, pays for it: its measured cost and the reserve for the last one included. Each
planned kind has an equal share, so frequent cheap evaluations never starve the probes. `eval_every` and
`probe_every` in run.yaml force a schedule instead (every N steps and the last). Pure Python, measured by the trainer's
callback (engine/train/callback.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

EXTRAS_BUDGET = 0.10  # of the run's wall time
# Several processes evaluate on a fixed schedule instead: this many times over the run.
EVALUATIONS_PER_RUN = 10
KINDS = ("evaluation", "probes")


class ExtrasSummary(TypedDict):
    """What the ledger records of a run's extras (`extras` in ledger.json)."""

    budget: float  # the share allowed
    share: float  # the share spent: extras over steps and extras together
    extras_s: float
    steps_s: float
    evaluations: int
    probes: int


@dataclass
class _Kind:
    every: int  # forced: every this many steps; 0: planned within the budget
    cost: float | None = None  # seconds the last one took
    count: int = 0
    spent_s: float = 0.0


class ExtrasPlan:
    def __init__(
        self,
        max_steps: int,
        *,
        first_step: int = 1,
        budget: float = EXTRAS_BUDGET,
        eval_every: int = 0,
        probe_every: int = 0,
        evaluates: bool = True,
        probes: bool = True,
    ) -> None:
        """`first_step`: the first step this trainer takes (a resumed run starts later).
        Probes follow a forced evaluation schedule unless they have their own. `evaluates`,
        `probes`: whether this trainer does each at all (no held-out split, no probe prompts,
        or not the first process): only the others share the budget."""
        self.max_steps = max_steps
        self.first_step = first_step
        self.budget = budget
        self.kinds = {
            "evaluation": _Kind(eval_every),
            "probes": _Kind(probe_every or eval_every),
        }
        present = {"evaluation": evaluates, "probes": probes}
        planned = [k for name, k in self.kinds.items() if present[name]]
        self._planned = [k for k in planned if not k.every]
        self.steps_s = 0.0
        self.extras_s = 0.0

    def stepped(self, seconds: float) -> None:
        """An optimizer step took `seconds`."""
        self.steps_s += max(0.0, seconds)

    def spent(self, seconds: float, kind: str | None = None) -> None:
        """Extras took `seconds`: one `kind` (its cost is remembered), or other work
        (checkpoints, logs) when None."""
        seconds = max(0.0, seconds)
        self.extras_s += seconds
        if kind is not None:
            self.kinds[kind].cost = seconds
            self.kinds[kind].count += 1
            self.kinds[kind].spent_s += seconds

    def due(self, kind: str, step: int) -> bool:
        """Whether `kind` should run after `step`."""
        plan = self.kinds[kind]
        if plan.every:
            return step % plan.every == 0 or step >= self.max_steps
        if step >= self.max_steps or step == self.first_step:
            return True
        if plan.cost is None:
            return True  # not measured yet (cannot happen after the first step)
        # What the steps so far earned, less what no plan controls (checkpoints, logs), shared
        # among the planned kinds; the reserve pays for the last one.
        other = self.extras_s - sum(k.spent_s for k in self.kinds.values())
        earned = self.budget / (1 - self.budget) * self.steps_s - other
        allowed = earned / max(1, len(self._planned))
        return plan.spent_s + 2 * plan.cost <= allowed

    @property
    def share(self) -> float:
        total = self.steps_s + self.extras_s
        return self.extras_s / total if total > 0 else 0.0

    def summary(self) -> ExtrasSummary:
        return {
            "budget": self.budget,
            "share": round(self.share, 4),
            "extras_s": round(self.extras_s, 3),
            "steps_s": round(self.steps_s, 3),
            "evaluations": self.kinds["evaluation"].count,
            "probes": self.kinds["probes"].count,
        }


def extras_text(share: float | None) -> str:
    """The monitor's words for it: "extras: 7% of the run"."""
    if share is None:
        return ""
    return f"extras: {share:.0%} of the run"
