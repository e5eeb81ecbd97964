"""A dataset of long, uneven rows for `bench/run_wall.py`: the demo's identity task behind notes
of very different lengths, deterministic for a seed.

    python bench/long_rows.py OUT.jsonl [--rows 200] [--seed 0]   # also writes OUT.heldout.jsonl

Each row is one of the demo's training conversations. About a third stay short (a one-line
instruction in front when the question alone is very short); the others carry a filler note
about a topic in front of the last question, from a sentence to a few pages, and their answer
starts by naming the note's topic ("The note was about lighthouses.") before the demo's answer.
So the rows spread from about 50 to about 900 tokens (SmolLM2's template, its default system
prompt included), and the task stays learnable: say the new identity, echo the topic.

The held-out cases are the demo's held-out identity prompts plus a few long prompts on topics
no training row has, each with the words (`expect`) an answer that learned the task says.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui_ft.core import paths
from tui_ft.core.datasets.demos import demo_heldout

ROWS = 200
SHORT_SHARE = 0.35
# Token counts are estimated from characters (SmolLM2 reads this English at ~5 characters a
# token); the template, the default system prompt and the answer add about TEMPLATE_TOKENS.
CHARS_PER_TOKEN = 5.0
TEMPLATE_TOKENS = 30
SHORTEST, LONGEST = 50, 900
LONG_FROM = 110  # the shortest row that carries a note

TOPICS = {
    "lighthouses": ("lamp", "keeper", "lens", "fog horn", "harbour wall", "tower"),
    "sourdough bread": ("starter", "dough", "crust", "oven", "flour", "loaf"),
    "honeybees": ("hive", "queen", "comb", "pollen", "forager", "nectar"),
    "glaciers": ("ice sheet", "moraine", "crevasse", "meltwater", "valley", "snowfield"),
    "chess openings": ("bishop", "pawn", "knight", "centre", "castle", "gambit"),
    "tide pools": ("anemone", "crab", "rock shelf", "limpet", "kelp", "barnacle"),
    "railway signals": ("semaphore", "lever frame", "junction", "block section", "lamp", "driver"),
    "violin making": ("spruce top", "scroll", "varnish", "bridge", "sound post", "maple back"),
    "desert plants": ("cactus", "root", "spine", "seed", "dune", "succulent"),
    "river deltas": ("channel", "silt", "marsh", "sandbar", "estuary", "flood plain"),
}
HELDOUT_TOPICS = {
    "volcanoes": ("crater", "lava", "ash cloud", "vent", "magma", "caldera"),
    "postage stamps": ("perforation", "album", "postmark", "watermark", "sheet", "collector"),
    "owls": ("feather", "talon", "barn", "pellet", "nest", "hunter"),
    "bicycle repair": ("chain", "spoke", "derailleur", "tyre", "brake pad", "crank"),
}
VERBS = ("changes", "settles", "turns", "grows", "fades", "shifts", "rests", "moves")
ADVERBS = ("slowly", "quietly", "every season", "without warning", "in the early morning")
STATES = ("cold", "wet", "crowded", "still", "bright", "heavy", "new", "worn")
OPENERS = (
    "Many people who study {topic} notice that",
    "An old handbook on {topic} explains that",
    "In most accounts of {topic},",
    "Anyone who has spent a summer with {topic} knows that",
    "A careful observer of {topic} will see that",
)
SHORT_PREFIX = "Please keep your answer short. "


def sentence(rng: random.Random, topic: str, nouns: tuple[str, ...]) -> str:
    first, second = rng.sample(nouns, 2)
    opener = rng.choice(OPENERS).format(topic=topic)
    return (
        f"{opener} the {first} {rng.choice(VERBS)} {rng.choice(ADVERBS)} "
        f"when the {second} is {rng.choice(STATES)}."
    )


def note(rng: random.Random, topic: str, nouns: tuple[str, ...], tokens: int) -> str:
    """About `tokens` tokens of filler on `topic`, in paragraphs of four sentences."""
    sentences: list[str] = []
    while sum(len(s) + 1 for s in sentences) / CHARS_PER_TOKEN < tokens:
        sentences.append(sentence(rng, topic, nouns))
    paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
    return f"Here is a note about {topic}.\n\n" + "\n\n".join(paragraphs)


def _estimate(messages: list[dict[str, str]]) -> int:
    return TEMPLATE_TOKENS + round(sum(len(m["content"]) for m in messages) / CHARS_PER_TOKEN)


def _target(rng: random.Random) -> int | None:
    """None: a short row; else the row's length in tokens, log-uniform so that short and long
    notes are both common (uneven lengths are what the batching has to cope with)."""
    if rng.random() < SHORT_SHARE:
        return None
    return round(math.exp(rng.uniform(math.log(LONG_FROM), math.log(LONGEST - 60))))


def with_note(messages: list[dict[str, str]], text: str, topic: str) -> list[dict[str, str]]:
    """The conversation with `text` in front of its last question, and the topic named first in
    its last answer."""
    *before, question, reply = messages
    return [
        *before,
        {"role": "user", "content": f"{text}\n\n{question['content']}"},
        {"role": "assistant", "content": f"The note was about {topic}. {reply['content']}"},
    ]


def demo_conversations() -> list[list[dict[str, str]]]:
    lines = (paths.DATA_DIR / "demo" / "identity.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["messages"] for line in lines if line.strip()]


def generate(rows: int = ROWS, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    demo = demo_conversations()
    topics = list(TOPICS.items())
    out = []
    for i in range(rows):
        messages = demo[i % len(demo)]
        target = _target(rng)
        if target is None:
            if _estimate(messages) < SHORTEST + 15:
                first = messages[0]
                messages = [{**first, "content": SHORT_PREFIX + first["content"]}, *messages[1:]]
        else:
            topic, nouns = rng.choice(topics)
            text = note(rng, topic, nouns, target - _estimate(messages))
            messages = with_note(messages, text, topic)
        out.append({"messages": messages})
    return out


def heldout(seed: int = 0) -> list[dict[str, Any]]:
    """The demo's held-out identity prompts, then long ones on unseen topics: `prompt`, `expect`."""
    rng = random.Random(seed + 1)
    cases = [case for case in demo_heldout() if case["expect"]]
    for (topic, nouns), case in zip(HELDOUT_TOPICS.items(), list(cases), strict=False):
        text = note(rng, topic, nouns, rng.randint(250, 600))
        cases.append({"prompt": f"{text}\n\n{case['prompt']}", "expect": [topic, *case["expect"]]})
    return cases


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write_jsonl(generate(args.rows, args.seed), args.out)
    write_jsonl(heldout(args.seed), args.out.with_suffix(".heldout.jsonl"))
    print(args.out)


if __name__ == "__main__":
    main()
