"""Test objectives that train on preference data, for the data side's checks (`data inspect
--objective`, the wizard's Dataset step) without the package's own preference objectives:
one takes pairs only (as DPO does), one unpaired rows or pairs (as KTO does). Registered
through $TUI_FT_OBJECTIVES; neither is ever trained."""

from __future__ import annotations

from tui_ft.core.objectives.spec import Objective

OBJECTIVE = Objective(
    name="tiny_pairs",
    title="Tiny pairs (a test objective)",
    sentences="Prefers the chosen answer to the rejected one. Needs preference pairs.",
    engine="tests.objectives.tiny_sft_trainer",
    formats=("preference",),
)
