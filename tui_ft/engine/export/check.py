"""Does an export answer like the model it came from? Replay the run's probe prompts greedily
on both and compare the answers, and the logits of each prompt's first answer token (a finer
measure than the answers: it shows how far the weights moved even when no answer changed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui_ft.core.config import RunConfig
from tui_ft.core.datasets.demos import demo_heldout, is_demo, says
from tui_ft.core.datasets.load import Message
from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.layout import RunDir
from tui_ft.engine.probes import answer
from tui_ft.engine.tokenize import render, with_system_prompt

# Used only when a run recorded no probe prompts at all (a text dataset without held-out
# prompts): some replay beats a check that compares nothing.
FALLBACK_PROMPTS = ["Hello! Who are you?", "What can you help me with?"]


@dataclass(frozen=True)
class Replay:
    answers: list[str]
    first_logits: list[Any]  # one float32 CPU tensor (vocabulary-sized) per prompt


def probe_prompts(run: RunDir, config: RunConfig) -> tuple[list[str], str]:
    """The prompts the trainer probed (ledger.json, else probes.jsonl), and where they came from.
    The ledger holds the resolved list even where run.yaml left it to the dataset."""
    recorded = run.read_ledger().get("probe_prompts")
    if isinstance(recorded, list) and recorded and all(isinstance(p, str) for p in recorded):
        return list(recorded), "ledger.json"
    if run.probes_path.exists():
        seen = dict.fromkeys(
            r["prompt"] for r in read_jsonl(run.probes_path) if isinstance(r.get("prompt"), str)
        )
        if seen:
            return list(seen), "probes.jsonl"
    if config.probe_prompts:
        return list(config.probe_prompts), "run.yaml"
    return list(FALLBACK_PROMPTS), "fallback"


def expected_words(config: RunConfig) -> dict[str, tuple[str, ...]]:
    """Prompts whose answers should carry given words: for a run on a demo dataset, its
    held-out questions (the whole point of the demo is that the exported model says its new
    name, or opens with the new style's marker). Identical answers prove the export kept the model; these prove the model
    it kept is the one that learned something. Other datasets have no such words."""
    if not is_demo(config.dataset):
        return {}
    return {row["prompt"]: tuple(row.get("expect") or ()) for row in demo_heldout(config.dataset)}


def replay(model: Any, tokenizer: Any, prompts: list[str], system_prompt: str | None) -> Replay:
    return Replay(
        answers=answer(model, tokenizer, prompts, system_prompt),
        first_logits=[first_logits(model, tokenizer, p, system_prompt) for p in prompts],
    )


def first_logits(model: Any, tokenizer: Any, prompt: str, system_prompt: str | None) -> Any:
    """The logits the model gives the first token of its answer to `prompt`."""
    import torch

    messages = with_system_prompt([Message("user", prompt)], system_prompt)
    text = render(tokenizer, messages, generation_prompt=True)
    inputs = tokenizer(text, add_special_tokens=False, return_tensors="pt")
    inputs = inputs.to(next(model.parameters()).device)
    with torch.no_grad():
        return model(**inputs).logits[0, -1].float().cpu()


def compare(
    prompts: list[str],
    reference: Replay,
    export: Replay,
    expect: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, Any]:
    """Answer by answer; where `expect` names words for a prompt, whether each side says them."""
    expect = expect or {}
    rows = []
    for i, prompt in enumerate(prompts):
        diff = (reference.first_logits[i] - export.first_logits[i]).abs().max().item()
        row: dict[str, Any] = {
            "prompt": prompt,
            "export": export.answers[i],
            "reference": reference.answers[i],
            "identical": export.answers[i] == reference.answers[i],
            "first_token_logit_diff": diff,
        }
        words = expect.get(prompt)
        if words:
            row["expect"] = list(words)
            row["export_says_expected"] = says(export.answers[i], words)
            row["reference_says_expected"] = says(reference.answers[i], words)
        rows.append(row)
    same = sum(row["identical"] for row in rows)
    comparison = {
        "identical": same,
        "total": len(rows),
        "identical_share": same / len(rows) if rows else 1.0,
        "max_logit_diff": max((row["first_token_logit_diff"] for row in rows), default=0.0),
        "prompts": rows,
    }
    judged = [row for row in rows if "expect" in row]
    if judged:
        comparison["expected_words"] = {
            "judged": len(judged),
            "export": sum(row["export_says_expected"] for row in judged),
            "reference": sum(row["reference_says_expected"] for row in judged),
        }
    return comparison


def lost_answers(rows: list[dict[str, Any]]) -> list[str]:
    """Prompts whose answer said the expected words on the run's model and not on the export."""
    return [
        row["prompt"]
        for row in rows
        if row.get("reference_says_expected") and not row.get("export_says_expected")
    ]


def first_token_moves(reference: Replay, export: Replay) -> dict[str, Any]:
    """The largest first-token logit change of any prompt, as a share of the logits' spread
    (standard deviation over the vocabulary), and on how many prompts the first answer token
    stayed the same: the measure for exports that round the weights."""
    shares, same = [], 0
    for ref, got in zip(reference.first_logits, export.first_logits, strict=True):
        spread = float(ref.std()) or 1.0
        shares.append(float((ref - got).abs().max()) / spread)
        same += int(ref.argmax()) == int(got.argmax())
    return {"max_logit_diff_share_of_spread": max(shares, default=0.0), "same_first_token": same}
