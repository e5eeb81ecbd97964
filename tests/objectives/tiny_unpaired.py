"""A test objective that takes unpaired preference rows or pairs (as KTO does); see
tests/objectives/tiny_pairs.py."""

from __future__ import annotations

from tui_ft.core.objectives.spec import Objective

OBJECTIVE = Objective(
    name="tiny_unpaired",
    title="Tiny unpaired (a test objective)",
    sentences="Learns from answers labelled good or bad. Needs unpaired preferences or pairs.",
    engine="tests.objectives.tiny_sft_trainer",
    formats=("unpaired_preference", "preference"),
)
