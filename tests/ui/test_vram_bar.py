"""The VRAM bar's geometry: cells add up to the width, sizes are proportional, the mark sits
where the free memory ends, and the verdict is words as well as colour."""

from __future__ import annotations

import pytest

from tui_ft.core.estimate.peak import GIB, Estimate, Precision, Target, Term
from tui_ft.ui.wizard.vram_bar import LOOKS, limit_cell, segments, short_bytes, verdict

BF16 = Precision("bf16", 2, 2, 2, 0, "test")


def estimate(available_gib: float | None, **terms_gib: float) -> Estimate:
    terms = tuple(Term(key, key, int(g * GIB), "") for key, g in terms_gib.items())
    need = sum(t.bytes for t in terms)
    available = None if available_gib is None else int(available_gib * GIB)
    target = Target("cuda", True, available, "GPU 0 (test)", available)
    return Estimate(terms, need, need, target, BF16, "loss backward")


@pytest.mark.parametrize("width", [10, 37, 80, 158])
@pytest.mark.parametrize("available", [4.0, 10.0, 24.0, 0.5])
def test_cells_add_up_to_the_width(width: int, available: float) -> None:
    result = estimate(available, weights=3.0, activations=2.0, logits=0.01, context=0.5)
    assert sum(count for _, count in segments(result, width)) == width


def test_fitting_bar_is_proportional_and_ends_with_the_free_memory() -> None:
    result = estimate(20.0, weights=5.0, optimizer=5.0)
    assert segments(result, 40) == [("weights", 10), ("optimizer", 10), ("free", 20)]
    assert limit_cell(result, 40) is None


def test_over_the_limit_spans_the_requirement_with_a_mark_at_the_free_end() -> None:
    result = estimate(10.0, weights=15.0, activations=5.0)
    assert segments(result, 40) == [("weights", 30), ("activations", 10)]
    assert limit_cell(result, 40) == 20


def test_the_band_follows_the_terms_and_the_mark_is_judged_on_it() -> None:
    terms = (
        Term("weights", "w", int(5 * GIB), ""),
        Term("activations", "a", int(3 * GIB), "", low=int(2 * GIB), high=int(5 * GIB)),
    )
    target = Target("cuda", True, int(9 * GIB), "GPU 0 (test)", int(9 * GIB))
    result = Estimate(terms, int(8 * GIB), int(8 * GIB), target, BF16, "loss backward")
    # 8 GiB needed, up to 10: the point fits in 9 GiB free, the high figure does not.
    assert segments(result, 40) == [("weights", 20), ("activations", 12), ("band", 8)]
    assert limit_cell(result, 40) == 36
    assert str(verdict(result)).startswith("✘ Does not fit: needs about 8.0 GiB (up to 10.0 GiB)")


def test_every_estimate_term_has_its_own_glyph() -> None:
    glyphs = [look.glyph for look in LOOKS.values()]
    assert len(set(glyphs)) == len(glyphs)


def test_verdict_carries_a_mark_and_the_sentence() -> None:
    assert str(verdict(estimate(24.0, weights=5.0))).startswith("✔ Fits: needs about 5.0 GiB")
    assert str(verdict(estimate(4.0, weights=5.0))).startswith("✘ Does not fit")
    tight = str(verdict(estimate(5.2, weights=5.0)))
    assert tight.startswith("✔ Fits") and "Little room" in tight
    assert str(verdict(estimate(None, weights=5.0))).startswith("? Needs about")


def test_short_bytes() -> None:
    assert short_bytes(int(7.62 * GIB)) == "7.6G"
    assert short_bytes(942 * 1024**2) == "942M"
    assert short_bytes(10) == "1M"


async def test_the_widget_draws_each_state() -> None:
    from textual.app import App, ComposeResult

    from tui_ft.ui.themes import DOMAIN_DEFAULTS
    from tui_ft.ui.wizard.vram_bar import VramBar

    class One(App[None]):
        def get_theme_variable_defaults(self) -> dict[str, str]:
            return dict(DOMAIN_DEFAULTS)

        def compose(self) -> ComposeResult:
            yield VramBar()

    app = One()
    async with app.run_test(size=(60, 10)) as pilot:
        bar = app.query_one(VramBar)
        assert str(bar.render()) == "Estimating…"
        for result, words in (
            (estimate(24.0, weights=5.0, context=0.5), "24.0 GiB free ┘"),
            (estimate(4.0, weights=5.0, context=0.5), "needs 5.5 GiB ┘"),
            (estimate(None, weights=5.0), "free memory unknown"),
        ):
            bar.show(result)
            await pilot.pause()
            lines = str(bar.render()).splitlines()
            assert len(lines[0]) == 60 and lines[1].endswith(words), lines
            assert "weights 5.0G" in "\n".join(lines)
