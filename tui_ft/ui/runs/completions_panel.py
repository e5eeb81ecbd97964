"""The completions panel of a GRPO run: for the latest logged step, a few prompts with the
completions the model sampled and each reward function's score, so a glance shows a format
reward that never fires or a length reward being gamed. Prompts, completions and the rewards'
names are outside text: every piece goes through `safe` (never Rich markup)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.widgets import Static

from tui_ft.core.runs.completions import Sample
from tui_ft.core.safe_text import safe

MAX_COMPLETION_CHARS = 400
EMPTY = (
    "Sampled completions appear at each training log: a few prompts, what the model wrote "
    "and what each reward function gave it."
)


class CompletionsPanel(Static):
    def __init__(self, labels: Sequence[str], *, id: str | None = None) -> None:
        """`labels`: the reward functions' names, in `rewards:` order."""
        super().__init__(EMPTY, id=id)
        self.labels = list(labels)
        self.step: int | None = None

    def show(self, samples: Sequence[Sample]) -> None:
        if not samples:
            return
        self.step = samples[0].step
        self.update(samples_content(samples, self.labels))


def samples_content(samples: Sequence[Sample], labels: Sequence[str]) -> Content:
    lines = [
        Content.styled(
            f"step {samples[0].step} · sampled completions and their rewards", "bold $accent"
        )
    ]
    prompt = None
    for sample in samples:
        if sample.prompt != prompt:
            prompt = sample.prompt
            lines.append(Content.assemble(("Q ", "bold"), (safe(prompt), "$text-muted")))
        lines.append(Content.assemble("  ", scores_content(sample, labels)))
        text = sample.completion
        if len(text) > MAX_COMPLETION_CHARS:
            text = text[:MAX_COMPLETION_CHARS] + "…"
        lines.append(Content.assemble("  ", safe(text or "(empty)")))
    return Content("\n").join(lines)


def scores_content(sample: Sample, labels: Sequence[str]) -> Content:
    """`format 1 · exact_match 0 · sum 1`: each reward's name and score, the fired ones bold."""
    parts: list[Content] = []
    for number, score in enumerate(sample.scores, start=1):
        name = labels[number - 1] if number <= len(labels) else f"reward {number}"
        fired = score is not None and score > 0
        parts.append(
            Content.assemble(
                (safe(name), "$text-muted"),
                " ",
                (score_text(score), "bold $text-success" if fired else "bold"),
            )
        )
    parts.append(Content.assemble(("sum", "$text-muted"), " ", (score_text(sample.reward), "bold")))
    return Content(" · ").join(parts)


def score_text(score: float | None) -> str:
    """A score as a person reads it: 1, 0.5, -0.25; a dash where no function scored it."""
    return "–" if score is None else f"{score:.3g}"
