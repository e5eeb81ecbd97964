"""Quick eval: a list of prompts through both sides, greedily, side by side.

The prompts are the run's held-out prompts (for a demo dataset its held-out questions, each
with the words a model that learned the lesson says; see core/datasets/demos.py), the validation split of the run's
dataset (with its reference answers), or a file: .txt (one prompt a line) or .jsonl (objects
with `prompt`, optionally `expect` words and a `reference`). The table is saved in the run
directory as evals/<timestamp>.jsonl and .md. Pure Python: the answers come from the chat
process through a ChatClient.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_ft.core.chat.client import ChatClient
from tui_ft.core.chat.conversation import Answer
from tui_ft.core.chat.protocol import EVAL_MAX_NEW_TOKENS, SIDES, SamplingSettings
from tui_ft.core.chat.transcript import answer_line, fresh_stem, write_text
from tui_ft.core.chat.wire import ChatMessage
from tui_ft.core.config import RunConfig
from tui_ft.core.datasets.demos import HELDOUT_TOPICS, demo_heldout, is_demo, says
from tui_ft.core.datasets.load import load_dataset, split_examples
from tui_ft.core.errors import UserError

EVALS = "evals"
HELDOUT = "heldout"
VALIDATION = "validation"
MAX_PROMPTS = 200  # a quick eval stays quick; a larger file is cut with a note


@dataclass(frozen=True)
class EvalPrompt:
    prompt: str
    expect: tuple[str, ...] = ()  # words the tuned answer should contain (case-insensitive)
    reference: str | None = None  # the dataset's own answer, for a person to compare


@dataclass(frozen=True)
class EvalSet:
    prompts: list[EvalPrompt]
    source: str  # in words: "the demo's held-out identity prompts", "prompts.txt"
    note: str = ""


@dataclass
class EvalRow:
    prompt: EvalPrompt
    answers: dict[str, Answer]

    def hit(self, side: str) -> bool | None:
        """Whether `side`'s answer says every expected word (see `says`); None without them."""
        if not self.prompt.expect or side not in self.answers:
            return None
        return says(self.answers[side].text, self.prompt.expect)


@dataclass
class EvalResult:
    rows: list[EvalRow]
    source: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sides(self) -> list[str]:
        present = {side for row in self.rows for side in row.answers}
        return [s for s in SIDES if s in present]

    @property
    def has_expectations(self) -> bool:
        return any(row.prompt.expect for row in self.rows)

    def hits(self, side: str) -> tuple[int, int]:
        """(answers with every expected word, prompts that expect words)."""
        judged = [row.hit(side) for row in self.rows if row.prompt.expect]
        return sum(bool(h) for h in judged), len(judged)


def eval_prompts(source: str, config: RunConfig | None) -> EvalSet:
    """`heldout`, `validation` or a file of prompts."""
    if source == HELDOUT:
        if config is not None and is_demo(config.dataset):
            rows = demo_heldout(config.dataset)
            prompts = [EvalPrompt(r["prompt"], tuple(r.get("expect") or ())) for r in rows]
            return EvalSet(prompts, HELDOUT_TOPICS[config.dataset])
        return _validation(config)
    if source == VALIDATION:
        return _validation(config)
    return read_prompt_file(Path(source).expanduser())


def read_prompt_file(path: Path) -> EvalSet:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(
            f"there is no prompt file at {path}.",
            "Give a .txt file (one prompt a line), a .jsonl file with `prompt`, or `heldout`.",
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read {path}: {err}.") from None
    if path.suffix.lower() == ".jsonl":
        prompts = [_jsonl_prompt(path, n, line) for n, line in _lines(text)]
    else:
        prompts = [EvalPrompt(line.strip()) for _, line in _lines(text)]
    if not prompts:
        raise UserError(f"{path} holds no prompts.", "Write one prompt a line.")
    return _capped(prompts, path.name)


def run_eval(
    client: ChatClient,
    eval_set: EvalSet,
    settings: SamplingSettings | None = None,
    sides: tuple[str, ...] = SIDES,
    on_row: Callable[[int, EvalRow], None] | None = None,
) -> EvalResult:
    """Every prompt as a fresh one-turn chat, greedily (whatever `settings` say), so the table
    is the same each time. `on_row(index, row)` after each prompt, for progress."""
    base = settings or SamplingSettings(max_new_tokens=EVAL_MAX_NEW_TOKENS)
    greedy = dataclasses.replace(base, greedy=True)
    rows: list[EvalRow] = []
    for index, prompt in enumerate(eval_set.prompts):
        turn: list[ChatMessage] = [{"role": "user", "content": prompt.prompt}]
        done = client.ask({side: turn for side in sides}, settings=greedy)
        row = EvalRow(prompt, {side: Answer.from_done(event) for side, event in done.items()})
        rows.append(row)
        if on_row is not None:
            on_row(index, row)
    meta = {"source": eval_set.source, "settings": greedy.to_dict(), "note": eval_set.note}
    return EvalResult(rows, eval_set.source, meta)


def save_eval(result: EvalResult, run_path: Path) -> tuple[Path, Path]:
    """evals/<timestamp>.jsonl (a meta line, then one line per prompt) and .md; (jsonl, md)."""
    stem = fresh_stem(run_path / EVALS, (".jsonl", ".md"))
    jsonl, md = stem.with_suffix(".jsonl"), stem.with_suffix(".md")
    meta = {"type": "meta", "saved": time.strftime("%Y-%m-%d %H:%M:%S"), **result.meta}
    records = [meta, *({"type": "row", **row_record(row)} for row in result.rows)]
    write_text(jsonl, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    write_text(md, eval_markdown(result))
    return jsonl, md


def eval_markdown(result: EvalResult) -> str:
    sides = result.sides
    title = result.meta.get("run") or result.meta.get("model") or "quick eval"
    lines = [f"# Quick eval: {title}", "", f"Prompts: {result.source}. Greedy decoding.", ""]
    if result.has_expectations:
        lines += [f"- {summary_sentence(result, side)}" for side in sides] + [""]
    header = ["prompt", *sides] + (
        ["expected", *(f"{s} ok" for s in sides)] if result.has_expectations else []
    )
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in result.rows:
        cells = [row.prompt.prompt, *(_answer_cell(row.answers.get(s)) for s in sides)]
        if result.has_expectations:
            cells.append(", ".join(row.prompt.expect) or "—")
            cells += [yes_no(row.hit(s)) for s in sides]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def summary_sentence(result: EvalResult, side: str) -> str:
    hits, judged = result.hits(side)
    return f"{side}: {hits} of {judged} answers say the expected words"


def _validation(config: RunConfig | None) -> EvalSet:
    if config is None:
        raise UserError(
            "a model alone has no validation split.", "Give a file of prompts to --eval instead."
        )
    dataset = load_dataset(config.dataset, config.dataset_format, config.dataset_columns)
    _, held_out = split_examples(dataset.examples, config.eval_split, config.seed)
    prompts = []
    for example in held_out:
        first_user = next((i for i, m in enumerate(example.messages) if m.role == "user"), None)
        if first_user is None:
            continue  # plain text (continued pre-training) has no prompt to ask
        after = (*example.messages[first_user + 1 :], *example.chosen)[:1]  # chosen: preferences
        reference = after[0].content if after and after[0].role == "assistant" else None
        prompts.append(EvalPrompt(example.messages[first_user].content, (), reference))
    if not prompts:
        raise UserError(
            f"the validation split of {config.dataset} has no prompts (eval_split is "
            f"{config.eval_split}, or the data are plain text).",
            "Give a file of prompts to --eval instead.",
        )
    return _capped(prompts, f"the validation split of {config.dataset}")


def _capped(prompts: list[EvalPrompt], source: str) -> EvalSet:
    if len(prompts) <= MAX_PROMPTS:
        return EvalSet(prompts, source)
    note = f"only the first {MAX_PROMPTS} of {len(prompts)} prompts are asked."
    return EvalSet(prompts[:MAX_PROMPTS], source, note)


def _lines(text: str) -> list[tuple[int, str]]:
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _jsonl_prompt(path: Path, number: int, line: str) -> EvalPrompt:
    try:
        row = json.loads(line)
    except ValueError:
        raise UserError(f"{path} line {number} is not valid JSON.") from None
    prompt = row.get("prompt") if isinstance(row, dict) else None
    if not isinstance(prompt, str) or not prompt.strip():
        raise UserError(f"{path} line {number} has no text `prompt`.", 'Write {"prompt": "..."}.')
    expect = row.get("expect") or ()
    if isinstance(expect, str):
        expect = (expect,)
    reference = row.get("reference", row.get("completion"))
    return EvalPrompt(
        prompt, tuple(str(w) for w in expect), reference if isinstance(reference, str) else None
    )


def row_record(row: EvalRow) -> dict[str, Any]:
    """One prompt's row as JSON: prompt, expected words, reference, each side's answer."""
    record: dict[str, Any] = {"prompt": row.prompt.prompt}
    if row.prompt.expect:
        record["expect"] = list(row.prompt.expect)
    if row.prompt.reference is not None:
        record["reference"] = row.prompt.reference
    for side, answer in row.answers.items():
        record[side] = {**answer.to_dict(), "hit": row.hit(side)}
    return record


def _answer_cell(answer: Answer | None) -> str:
    if answer is None:
        return ""
    text = answer.text.strip()
    return f"{text} ({answer_line(answer)})" if answer.flags else text


def yes_no(hit: bool | None) -> str:
    return "—" if hit is None else ("yes" if hit else "no")


def _cell(text: str) -> str:
    """Markdown table cells hold one line and no bare pipes."""
    return " ".join(text.split()).replace("|", "\\|")
