"""The built-in `demo-preference` dataset: shipped as its generator writes it, a clean set of
pairs with the style marker on the chosen side only, and held-out prompts judged by it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tui_ft.core.datasets.demos import demo_heldout, is_demo, says
from tui_ft.core.datasets.load import load_dataset

ROOT = Path(__file__).resolve().parent.parent
MARKER = "In short:"


def test_the_shipped_files_are_what_the_generator_writes() -> None:
    script = ROOT / "tools" / "make_demo_preference.py"
    out = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_demo_preference_is_a_clean_preference_dataset() -> None:
    data = load_dataset("demo-preference")
    assert (data.source, data.format, data.problem_count) == ("demo-preference", "preference", 0)
    assert 140 <= len(data.examples) <= 160
    data.require_clean()
    for example in data.examples:
        chosen, rejected = example.chosen[-1].content, example.rejected[-1].content
        assert [m.role for m in example.messages] == ["user"]
        assert chosen.startswith(MARKER) and len(chosen.split()) < 40
        assert MARKER.lower() not in rejected.lower() and len(rejected.split()) > 80


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def test_the_held_out_prompts_are_not_trained_on_and_expect_the_marker() -> None:
    trained = {_words(e.messages[-1].content) for e in load_dataset("demo-preference").examples}
    heldout = demo_heldout("demo-preference")
    assert len(heldout) == 10
    assert all(_words(row["prompt"]) not in trained for row in heldout)
    assert all(row["expect"] == [f"^{MARKER}"] for row in heldout)
    assert is_demo("demo-preference") and is_demo(" demo ") and not is_demo("demo.jsonl")


def test_a_caret_word_must_open_the_answer() -> None:
    expect = (f"^{MARKER}",)
    assert says("  in short: Boil it for six minutes.", expect)
    assert not says("Well, in short: it depends.", expect)
    assert says("Call me Wren.", ("wren",)) and not says("Call me Ren.", ("Wren",))
    assert says("In short: I am Wren.", (f"^{MARKER}", "Wren"))
    assert says("anything", ())
