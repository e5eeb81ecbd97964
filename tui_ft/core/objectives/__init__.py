"""Training objectives: the loss a run trains with (`objective:` in run.yaml), as plug-ins.

Each module of this package declares one objective as `OBJECTIVE` (see spec.py); so does each
module named in `$TUI_FT_OBJECTIVES` (comma-separated module names), for objectives that live
outside the package. Adding one is a module here and its trainer twin under
tui_ft/engine/train/objectives/; nothing else branches on its name (docs/architecture.md,
"Adding an objective").
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil

from tui_ft.core.errors import UserError
from tui_ft.core.objectives.spec import Objective

DEFAULT_OBJECTIVE = "sft"
PLUGINS_ENV = "TUI_FT_OBJECTIVES"
_NOT_OBJECTIVES = {"spec", "preference", "preference_health", "grpo_health", "grpo_generation"}


@functools.cache
def _registry(plugins: str) -> dict[str, Objective]:
    names = [
        f"{__name__}.{m.name}"
        for m in pkgutil.iter_modules(__path__)
        if m.name not in _NOT_OBJECTIVES
    ]
    names += [name.strip() for name in plugins.split(",") if name.strip()]
    found: dict[str, Objective] = {}
    for name in names:
        try:
            objective = importlib.import_module(name).OBJECTIVE
        except (ImportError, AttributeError) as err:
            raise UserError(
                f"the objective module {name} (from ${PLUGINS_ENV}) cannot be loaded: {err}.",
                f"Fix the module, or remove it from ${PLUGINS_ENV}.",
            ) from None
        found[objective.name] = objective
    # The default first: it is the wizard's first choice and the first in every listing.
    return dict(sorted(found.items(), key=lambda item: item[0] != DEFAULT_OBJECTIVE))


def objectives() -> dict[str, Objective]:
    """Every objective by name, the default first."""
    return _registry(os.environ.get(PLUGINS_ENV, ""))


def objective_named(name: str) -> Objective:
    """The objective called `name`; a config that passed validation always has one."""
    try:
        return objectives()[name]
    except KeyError:
        known = ", ".join(objectives())
        raise KeyError(f"no objective named {name!r}; objectives are {known}") from None


def owners_of(key: str) -> list[Objective]:
    """The objectives that declare the run.yaml key `key`, for "did you mean" messages."""
    return [o for o in objectives().values() if o.setting(key) is not None]


def require_format(objective: Objective, fmt: str, source: str) -> None:
    """Refuse data in a format the objective cannot train on, before anything loads."""
    if fmt not in objective.formats:
        raise UserError(
            f"{source} is in the {fmt} format, which objective {objective.name} does not train on.",
            f"Objective {objective.name} trains on {', '.join(objective.formats)} data: convert "
            "the dataset, or choose another objective.",
        )
