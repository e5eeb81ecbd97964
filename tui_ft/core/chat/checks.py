"""Signs that an answer went wrong the usual way: it loops (the same words over and over), or it
ran into the token limit without ever ending its turn. Both most often mean a chat-template or
end-of-turn (EOS) problem: the model was trained, or is prompted, with a template whose closing
token it never learned to produce. Pure Python: the UI flags answers with these.
"""

from __future__ import annotations

import re
from collections import Counter

LOOPED = "looped"
TOKEN_LIMIT = "token_limit"
FLAG_LABEL = {LOOPED: "loops", TOKEN_LIMIT: "no end-of-turn before the token limit"}
FLAG_TEXT = {
    LOOPED: "repeats itself: often a sign of a chat template or end-of-turn (EOS) problem",
    TOKEN_LIMIT: "hit the token limit without an end-of-turn token: if this happens on short "
    "questions, the model may not have learned to stop (a template or EOS problem)",
}

# A tail of the same unit repeated this often is a loop; fewer can be a list or a refrain.
MIN_REPEATS = 4
MIN_LOOP_WORDS = 12  # ... and the repetition must cover this many words
MAX_PERIOD_WORDS = 24
MIN_LOOP_CHARS = 24  # character-level loops ("!!!!", "ha ha", scripts without spaces)
MAX_PERIOD_CHARS = 16
# Across a long answer: this share of its word 4-grams seen before means it mostly repeats.
NGRAM = 4
MIN_WORDS_FOR_SHARE = 40
REPEATED_SHARE = 0.6


def looks_looped(text: str) -> bool:
    """Whether `text` ends in a loop or consists mostly of repeated 4-word phrases."""
    words = re.findall(r"\S+", text)
    return _tail_repeats(words) or _mostly_repeated(words) or _char_loop(text.rstrip())


def answer_flags(text: str, finish: str) -> list[str]:
    """The flags of a finished answer: `looped`, `token_limit` (the finish reason was `length`)."""
    flags = [LOOPED] if looks_looped(text) else []
    if finish == "length":
        flags.append(TOKEN_LIMIT)
    return flags


def hit_token_limit(finish: str) -> bool:
    """An answer cut by max_new_tokens, not closed by the model's end-of-turn token."""
    return finish == "length"


def _tail_repeats(words: list[str]) -> bool:
    """The answer ends in one unit of 1..MAX_PERIOD_WORDS words said MIN_REPEATS+ times (the
    last copy may be cut short by the token limit)."""
    for period in range(1, min(MAX_PERIOD_WORDS, len(words) // MIN_REPEATS) + 1):
        looped = _repeating_tail(words, period)
        if looped >= max(MIN_REPEATS * period, MIN_LOOP_WORDS):
            return True
    return False


def _repeating_tail(words: list[str], period: int) -> int:
    """How many trailing words repeat with this period (the first copy counted)."""
    count = 0
    for i in range(len(words) - 1, period - 1, -1):
        if words[i] != words[i - period]:
            break
        count += 1
    return count + period if count else 0


def _mostly_repeated(words: list[str]) -> bool:
    if len(words) < MIN_WORDS_FOR_SHARE:
        return False
    grams = [tuple(w.lower() for w in words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)]
    counts = Counter(grams)
    seen_before = sum(c - 1 for c in counts.values())
    return seen_before / len(grams) >= REPEATED_SHARE


def _char_loop(text: str) -> bool:
    """A short run of characters repeated to the end ("!!!!!!", "ababab", "哈哈哈哈")."""
    for period in range(1, MAX_PERIOD_CHARS + 1):
        span = max(MIN_LOOP_CHARS, period * (MIN_REPEATS + 2))
        if len(text) < span:
            break
        tail = text[-span:]
        unit = tail[-period:]
        if unit.strip() and tail == (unit * (span // period + 1))[-span:]:
            return True
    return False
