"""The trainer's extras within a budget: evaluations and probe answers planned from what they
cost, so that watching a run learn never makes it much slower than the library it drives.

Extras are everything a trainer does between optimizer steps: evaluation, probe answers,
checkpoints, logs and status. By default they get EXTRAS_BUDGET of the run's wall time. Each
kind (evaluation, probes) runs after the last step (where the run ended), after the first (where
it starts from) unless its predicted cost shows the whole run's share could not pay for that
round and the last, and in between whenever its share of the budget, earned by the time already
spent on steps, pays for it: its measured (or predicted) cost and the reserve for the last one
included. Each
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
# An evaluation's forward pass over a token, as a share of a training step's time on one
# (LoRA on the demo's CPU: about 0.4; a full fine-tune's backward is larger): the prediction
# leans high, so a first round is skipped rather than overrun.
EVAL_SHARE = 0.5


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
    predicted: float | None = None  # seconds one is expected to take before any ran
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
        self.expected_step_s: float | None = None  # an average step, predicted at the first

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

    def expect_steps(self, seconds: float) -> None:
        """An average step is expected to take `seconds` (the first step may be far from
        average: length-grouped batches start with the longest rows)."""
        self.expected_step_s = max(0.0, seconds)

    def predict(self, kind: str, seconds: float) -> None:
        """`kind` is expected to take `seconds` (before it first ran): its first round waits
        until the budget can pay for it and for the last one."""
        self.kinds[kind].predicted = max(0.0, seconds)

    def due(self, kind: str, step: int) -> bool:
        """Whether `kind` should run after `step`."""
        plan = self.kinds[kind]
        if plan.every:
            return step % plan.every == 0 or step >= self.max_steps
        if step >= self.max_steps:
            return True
        cost = plan.cost if plan.cost is not None else plan.predicted
        if cost is None:
            return True  # nothing known of its cost: run it once to learn it
        if step == self.first_step:
            # Where the run starts from, if the whole run's share can pay for it and the last.
            step_s = self.steps_s if self.expected_step_s is None else self.expected_step_s
            earned = self.budget / (1 - self.budget) * step_s * self._steps_left(step)
            return 2 * cost <= earned / max(1, len(self._planned))
        # What the steps so far earned, less what no plan controls (checkpoints, logs), shared
        # among the planned kinds; the reserve pays for the last one.
        other = self.extras_s - sum(k.spent_s for k in self.kinds.values())
        earned = self.budget / (1 - self.budget) * self.steps_s - other
        allowed = earned / max(1, len(self._planned))
        return plan.spent_s + 2 * cost <= allowed

    def _steps_left(self, step: int) -> int:
        """Steps this trainer takes in all, counted from `step` (its first)."""
        return max(1, self.max_steps - step + 1)

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
