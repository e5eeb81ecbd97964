"""Saving an A/B chat: `<run>/chats/<timestamp>.md` for people and `.jsonl` for programs.

The JSONL holds one `meta` line (run, model, method, settings) and then one `turn` line per
prompt with every side's answer, finish reason, speed and flags. Pure Python.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tui_ft.core.chat.checks import FLAG_LABEL, FLAG_TEXT
from tui_ft.core.chat.conversation import Answer, Conversation, Turn
from tui_ft.core.paths import disk_error, ensure_writable_dir

CHATS = "chats"
SIDE_TITLES = {"base": "Base", "tuned": "Tuned"}
_SAVE_FIX = "Free space or fix the run folder's permissions, then save again."


def save_transcript(
    conversation: Conversation, folder: Path, meta: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    """Write both files into `folder` (a run's chats/ folder, see `chats_dir`); returns
    (markdown, jsonl). Never overwrites an earlier transcript."""
    meta = {"saved": time.strftime("%Y-%m-%d %H:%M:%S"), **(meta or {})}
    stem = fresh_stem(folder, (".md", ".jsonl"))
    md, jsonl = stem.with_suffix(".md"), stem.with_suffix(".jsonl")
    records = [{"type": "meta", **meta}, *(_turn_record(t) for t in conversation.turns)]
    write_text(jsonl, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    write_text(md, transcript_markdown(conversation.turns, meta))
    return md, jsonl


def chats_dir(run_path: Path) -> Path:
    return run_path / CHATS


def fresh_stem(folder: Path, suffixes: Iterable[str], now: float | None = None) -> Path:
    """`folder/<YYYYmmdd-HHMMSS>`, with -2, -3 ... when that moment is taken."""
    ensure_writable_dir(folder, "the folder for saved chats and evals", _SAVE_FIX)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    suffixes = tuple(suffixes)
    for n in range(1, 1000):
        stem = folder / (stamp if n == 1 else f"{stamp}-{n}")
        if not any(stem.with_suffix(s).exists() for s in suffixes):
            return stem
    raise FileExistsError(f"no free file name for {stamp} in {folder}")


def write_text(path: Path, text: str) -> None:
    """Whole or not at all: a temp file renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise disk_error(err, path, "the saved chat or eval", _SAVE_FIX) from None


def transcript_markdown(turns: list[Turn], meta: dict[str, Any]) -> str:
    """`meta["labels"]`, when given, names what each side held (another run in the base's
    place)."""
    title = meta.get("run") or meta.get("model") or "chat"
    if meta.get("with_run"):
        title = f"{meta['with_run']} and {title}"
    labels = meta.get("labels") or {}
    lines = [f"# A/B chat: {title}", ""]
    for key in ("model", "method", "saved", "system_prompt"):
        if meta.get(key):
            lines.append(f"- {key.replace('_', ' ')}: {meta[key]}")
    if meta.get("settings"):
        settings = ", ".join(f"{k} {v}" for k, v in meta["settings"].items() if v is not None)
        lines.append(f"- settings: {settings}")
    for number, turn in enumerate(turns, 1):
        lines += ["", f"## {number}. {_one_line(turn.prompt)}", "", _quote(turn.prompt)]
        for side, answer in turn.answers.items():
            lines += [
                "",
                f"### {side_title(side, labels)}",
                "",
                answer.text.strip() or "*(empty)*",
            ]
            lines += ["", f"*{answer_line(answer)}*"]
    flagged = sorted({flag for turn in turns for a in turn.answers.values() for flag in a.flags})
    if flagged:
        lines += ["", "---", ""]
        lines += [f"- {FLAG_LABEL.get(f, f)}: {FLAG_TEXT.get(f, f)}." for f in flagged]
    return "\n".join(lines) + "\n"


def side_title(side: str, labels: dict[str, str] | None = None) -> str:
    """ "Base"/"Tuned"; beside another run (`labels` from the `loaded` event), the run each
    side holds: "run wren-r8"."""
    labels = labels or {}
    if labels.get("base", "base") == "base":
        return SIDE_TITLES.get(side, side)
    return f"run {labels.get(side, side)}"


def answer_line(answer: Answer) -> str:
    """'42 tokens · 12.3 tokens/s · ended by the model' plus any flags, in words."""
    parts = [f"{answer.new_tokens} tokens"]
    if answer.tokens_per_s:
        parts.append(f"{answer.tokens_per_s:.1f} tokens/s")
    parts.append(
        {"eos": "ended by the model", "length": "cut at the token limit"}.get(
            answer.finish, answer.finish
        )
    )
    parts += [f"flag: {FLAG_LABEL.get(flag, flag)}" for flag in answer.flags]
    return " · ".join(parts)


def _turn_record(turn: Turn) -> dict[str, Any]:
    return {
        "type": "turn",
        "prompt": turn.prompt,
        "at": round(turn.at, 3),
        "settings": turn.settings,
        **{side: answer.to_dict() for side, answer in turn.answers.items()},
    }


def _one_line(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.strip().splitlines() or [""])
