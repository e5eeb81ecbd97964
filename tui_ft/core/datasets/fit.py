"""Whether a dataset's format suits an objective, in the sentence `data inspect` and the
wizard's Dataset step show (the trainer refuses the same data with the same words)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from tui_ft.core.errors import UserError
from tui_ft.core.objectives import objectives, require_format
from tui_ft.core.objectives.spec import Objective


@dataclass(frozen=True)
class Fit:
    objective: str
    fits: bool
    sentence: str  # why it fits, or why not and what to do

    def to_dict(self) -> dict[str, object]:
        return {"objective": self.objective, "fits": self.fits, "sentence": self.sentence}


def objective_called(name: str) -> Objective:
    """The objective named `name`, or a UserError naming the nearest and the choices."""
    known = objectives()
    if name in known:
        return known[name]
    nearest = difflib.get_close_matches(name, list(known), n=1, cutoff=0)
    raise UserError(
        f"{name!r} is not an objective" + (f"; the nearest is {nearest[0]!r}." if nearest else "."),
        f"Choose one of: {', '.join(known)}.",
    )


def format_fit(objective: Objective, fmt: str, source: str) -> Fit:
    try:
        require_format(objective, fmt, source)
    except UserError as err:
        return Fit(objective.name, False, f"{err.message} {err.hint}".strip())
    return Fit(objective.name, True, f"objective {objective.name} trains on {fmt} data: it fits.")
