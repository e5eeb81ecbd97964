"""Watch it learn: the model's answers to the same few prompts at every evaluation, newest first."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from textual.content import Content
from textual.widgets import Static

from tui_ft.core.safe_text import safe

MAX_EVALUATIONS = 20
MAX_ANSWER_CHARS = 600
EMPTY = (
    "Probe answers appear at each evaluation: the model's replies to a few fixed prompts, "
    "so you can watch it learn."
)


class ProbeAnswers(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(EMPTY, id=id)
        self.by_step: OrderedDict[int, list[tuple[str, str]]] = OrderedDict()

    def add(self, records: Iterable[Mapping[str, Any]]) -> None:
        added = False
        for record in records:
            step = record.get("step")
            if not isinstance(step, int):
                continue
            prompt, answer = str(record.get("prompt", "")), str(record.get("answer", ""))
            self.by_step.setdefault(step, []).append((prompt, answer))
            added = True
        while len(self.by_step) > MAX_EVALUATIONS:
            self.by_step.popitem(last=False)
        if added:
            self.update(probes_content(self.by_step))


def probes_content(by_step: Mapping[int, list[tuple[str, str]]]) -> Content:
    blocks = []
    for step in sorted(by_step, reverse=True):
        lines = [Content.styled(f"step {step}", "bold $accent")]
        for prompt, answer in by_step[step]:
            if len(answer) > MAX_ANSWER_CHARS:
                answer = answer[:MAX_ANSWER_CHARS] + "…"
            lines.append(Content.assemble(("Q ", "bold"), (safe(prompt), "$text-muted")))
            lines.append(Content.assemble(("A ", "bold"), safe(answer)))
        blocks.append(Content("\n").join(lines))
    return Content("\n\n").join(blocks)
