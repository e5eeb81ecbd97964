"""Write the data of the built-in `forgetting` evaluation suite: tui_ft/data/forgetting/.

    python tools/make_forgetting_suite.py          # rewrite the four .jsonl files
    python tools/make_forgetting_suite.py --check  # exit 1 when the shipped files differ

Four lm-eval tasks (their YAML files sit beside the data, written by hand):

- knowledge_mc: general-knowledge questions written here by hand, four choices each, exactly
  one right (the distractors are wrong answers to the same question, never near-synonyms).
- knowledge_num: general-knowledge questions whose answer is one whole number, asked for as the
  number alone (exact answer).
- arithmetic_mc: sums, differences and products of small numbers, four choices each; the wrong
  choices lie a few to a dozen away from the right one (off-by-one slips are beyond what a
  135M-parameter model tells apart: the demo model scored at chance on them).
- arithmetic: the same kind of questions, answered with the number alone (exact answer).

Questions that a small instruction-tuned model mostly gets right, so that a fine-tune that
broke what the model knew shows as a drop. The arithmetic is drawn with a fixed seed and the
right choice's place is drawn too, so the output is the same on every run: the shipped files
are this script's output, and `--check` (run by tests/test_forgetting_suite.py) keeps them so.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from make_demo_preference import jsonl, write_or_check

OUT = Path(__file__).resolve().parent.parent / "tui_ft" / "data" / "forgetting"
SEED = 23
ARITHMETIC_MC = 40
ARITHMETIC = 40

# (question, the right answer, three wrong ones)
KNOWLEDGE_MC: list[tuple[str, str, tuple[str, str, str]]] = [
    ("What is the capital of France?", "Paris", ("Rome", "Madrid", "Berlin")),
    ("What is the capital of Japan?", "Tokyo", ("Beijing", "Seoul", "Bangkok")),
    ("What is the capital of Italy?", "Rome", ("Milan", "Vienna", "Athens")),
    ("What is the capital of Spain?", "Madrid", ("Lisbon", "Barcelona", "Paris")),
    ("What is the capital of Germany?", "Berlin", ("Vienna", "Munich", "Prague")),
    ("What is the capital of Egypt?", "Cairo", ("Nairobi", "Rabat", "Tunis")),
    ("What is the capital of Canada?", "Ottawa", ("Toronto", "Vancouver", "Chicago")),
    ("What is the capital of Russia?", "Moscow", ("Kyiv", "Warsaw", "Minsk")),
    ("What is the capital of the United Kingdom?", "London", ("Dublin", "Edinburgh", "Paris")),
    ("What is the capital of Greece?", "Athens", ("Sofia", "Rome", "Istanbul")),
    ("What is the capital of China?", "Beijing", ("Shanghai", "Tokyo", "Hanoi")),
    ("What is the capital of Portugal?", "Lisbon", ("Porto", "Madrid", "Seville")),
    ("Which planet is closest to the Sun?", "Mercury", ("Venus", "Mars", "Jupiter")),
    ("Which planet is known as the Red Planet?", "Mars", ("Venus", "Saturn", "Neptune")),
    ("What is the largest planet in the Solar System?", "Jupiter", ("Saturn", "Earth", "Mars")),
    ("Which planet has the most famous rings?", "Saturn", ("Mercury", "Mars", "Venus")),
    (
        "What is the star at the centre of the Solar System?",
        "the Sun",
        ("the Moon", "Sirius", "Mars"),
    ),
    ("Which natural satellite orbits the Earth?", "the Moon", ("the Sun", "Mars", "Venus")),
    ("What is the chemical formula of water?", "H2O", ("CO2", "NaCl", "O2")),
    ("What is the chemical symbol for gold?", "Au", ("Ag", "Fe", "Go")),
    ("What is the chemical symbol for iron?", "Fe", ("Ir", "In", "Au")),
    ("What is the chemical symbol for sodium?", "Na", ("So", "Sd", "S")),
    (
        "Which gas do plants take in to make their food?",
        "carbon dioxide",
        ("helium", "neon", "argon"),
    ),
    (
        "Which gas do people need to breathe to stay alive?",
        "oxygen",
        ("helium", "neon", "chlorine"),
    ),
    (
        "At what temperature in degrees Celsius does water freeze at sea level?",
        "0",
        ("10", "100", "-40"),
    ),
    (
        "At what temperature in degrees Celsius does water boil at sea level?",
        "100",
        ("50", "0", "200"),
    ),
    ("What is the hardest natural substance?", "diamond", ("gold", "iron", "glass")),
    ("What is frozen water called?", "ice", ("steam", "sand", "salt")),
    ("What colour is the sky on a clear day?", "blue", ("green", "red", "brown")),
    ("What colour are ripe bananas?", "yellow", ("blue", "purple", "black")),
    ("What colour do you get by mixing blue and yellow paint?", "green", ("red", "white", "black")),
    ("What colour is fresh snow?", "white", ("green", "orange", "purple")),
    ("How many legs does a spider have?", "eight", ("six", "four", "ten")),
    ("How many legs does an insect have?", "six", ("eight", "four", "ten")),
    ("What is the largest mammal?", "the blue whale", ("the elephant", "the giraffe", "the lion")),
    ("What is the tallest animal?", "the giraffe", ("the mouse", "the horse", "the dog")),
    (
        "Which animal is known as the king of the jungle?",
        "the lion",
        ("the mouse", "the rabbit", "the frog"),
    ),
    ("What do bees make?", "honey", ("milk", "silk", "wool")),
    ("Which animal says 'moo'?", "a cow", ("a cat", "a dog", "a duck")),
    ("Which animal barks?", "a dog", ("a cow", "a fish", "a snake")),
    ("What is a baby cat called?", "a kitten", ("a puppy", "a calf", "a foal")),
    ("What is a baby dog called?", "a puppy", ("a kitten", "a lamb", "a chick")),
    ("Where do fish live?", "in water", ("in trees", "in deserts", "in the clouds")),
    (
        "Which organ pumps blood through the body?",
        "the heart",
        ("the lungs", "the liver", "the stomach"),
    ),
    ("Which organ do people think with?", "the brain", ("the heart", "the liver", "the kidneys")),
    (
        "Which organs do people breathe with?",
        "the lungs",
        ("the kidneys", "the stomach", "the ears"),
    ),
    ("What do people use their eyes for?", "seeing", ("hearing", "smelling", "tasting")),
    ("What do people use their ears for?", "hearing", ("seeing", "smelling", "tasting")),
    ("How many days are in a week?", "seven", ("five", "six", "ten")),
    ("How many months are in a year?", "twelve", ("ten", "eleven", "thirteen")),
    ("How many hours are in a day?", "24", ("12", "60", "100")),
    ("How many minutes are in an hour?", "60", ("100", "24", "30")),
    ("Which month comes after January?", "February", ("March", "December", "June")),
    ("Which day comes after Monday?", "Tuesday", ("Sunday", "Friday", "Thursday")),
    ("Which season is the coldest of the year?", "winter", ("summer", "spring", "autumn")),
    ("What is the first letter of the English alphabet?", "A", ("Z", "B", "M")),
    ("What is the last letter of the English alphabet?", "Z", ("A", "Y", "X")),
    (
        "Who wrote 'Romeo and Juliet'?",
        "William Shakespeare",
        ("Charles Dickens", "Jane Austen", "Mark Twain"),
    ),
    (
        "Who painted the Mona Lisa?",
        "Leonardo da Vinci",
        ("Pablo Picasso", "Vincent van Gogh", "Claude Monet"),
    ),
    (
        "Who developed the theory of relativity?",
        "Albert Einstein",
        ("Isaac Newton", "Charles Darwin", "Marie Curie"),
    ),
    (
        "Who proposed the theory of evolution by natural selection?",
        "Charles Darwin",
        ("Albert Einstein", "Isaac Newton", "Galileo Galilei"),
    ),
    (
        "Who was the first person to walk on the Moon?",
        "Neil Armstrong",
        ("Yuri Gagarin", "Buzz Aldrin", "John Glenn"),
    ),
    (
        "Who was the first president of the United States?",
        "George Washington",
        ("Abraham Lincoln", "Thomas Jefferson", "John Adams"),
    ),
    (
        "What is the largest ocean on Earth?",
        "the Pacific Ocean",
        ("the Atlantic Ocean", "the Indian Ocean", "the Arctic Ocean"),
    ),
    (
        "What is the longest river in South America?",
        "the Amazon",
        ("the Nile", "the Thames", "the Danube"),
    ),
    (
        "What is the largest desert of hot sand in Africa?",
        "the Sahara",
        ("the Gobi", "the Atacama", "the Mojave"),
    ),
    (
        "What is the highest mountain on Earth?",
        "Mount Everest",
        ("Mont Blanc", "Mount Fuji", "Kilimanjaro"),
    ),
    ("On which continent is Egypt?", "Africa", ("Europe", "Asia", "South America")),
    ("On which continent is Brazil?", "South America", ("Africa", "Europe", "Asia")),
    ("On which continent is France?", "Europe", ("Asia", "Africa", "Australia")),
    ("Which country has the city of Sydney?", "Australia", ("Canada", "India", "Brazil")),
    ("Which country is famous for the Great Wall?", "China", ("Mexico", "Egypt", "Italy")),
    ("In which city is the Eiffel Tower?", "Paris", ("London", "Rome", "New York")),
    ("In which country are the pyramids of Giza?", "Egypt", ("Mexico", "Peru", "Greece")),
    ("What language is mainly spoken in Brazil?", "Portuguese", ("Spanish", "French", "Italian")),
    ("What language is mainly spoken in Mexico?", "Spanish", ("Portuguese", "French", "German")),
    ("What is the currency of Japan?", "the yen", ("the euro", "the dollar", "the rupee")),
    (
        "What is the currency of the United States?",
        "the dollar",
        ("the yen", "the pound", "the euro"),
    ),
    ("What is the opposite of hot?", "cold", ("warm", "big", "fast")),
    ("What is the opposite of up?", "down", ("left", "over", "high")),
    ("What is the opposite of day?", "night", ("noon", "week", "sun")),
    ("What is the plural of 'mouse'?", "mice", ("mouses", "meese", "mousen")),
    ("What is the plural of 'child'?", "children", ("childs", "childes", "childer")),
    ("What shape has three sides?", "a triangle", ("a square", "a circle", "a pentagon")),
    (
        "What shape has four equal sides and four right angles?",
        "a square",
        ("a triangle", "a circle", "a hexagon"),
    ),
    ("How many sides does a hexagon have?", "six", ("five", "seven", "eight")),
    (
        "What is the boiling point of water in degrees Fahrenheit at sea level?",
        "212",
        ("100", "32", "180"),
    ),
    (
        "What do you call a word that means the same as another word?",
        "a synonym",
        ("an antonym", "a verb", "a rhyme"),
    ),
    ("What is the main ingredient of bread?", "flour", ("sugar", "rice", "salt")),
    ("Which fruit is dried to make raisins?", "grapes", ("plums", "apples", "cherries")),
    ("What do cows give that people drink?", "milk", ("honey", "juice", "oil")),
    (
        "Which instrument has black and white keys?",
        "the piano",
        ("the drum", "the flute", "the trumpet"),
    ),
    (
        "How many players from one team are on the pitch in a football (soccer) match?",
        "eleven",
        ("nine", "five", "fifteen"),
    ),
    ("What do you call a doctor who treats teeth?", "a dentist", ("a vet", "a pilot", "a baker")),
    ("What do you call a doctor who treats animals?", "a vet", ("a dentist", "a chef", "a lawyer")),
    ("Which vehicle travels on rails?", "a train", ("a bicycle", "a boat", "a plane")),
    ("What does a thermometer measure?", "temperature", ("weight", "distance", "time")),
    ("What does a clock measure?", "time", ("weight", "temperature", "speed")),
    ("What force pulls objects towards the Earth?", "gravity", ("magnetism", "friction", "wind")),
    ("What is the largest country by area?", "Russia", ("Canada", "China", "Brazil")),
]

# (question, the answer: one whole number)
KNOWLEDGE_NUM: list[tuple[str, int]] = [
    ("How many days are in a week?", 7),
    ("How many months are in a year?", 12),
    ("How many hours are in a day?", 24),
    ("How many minutes are in an hour?", 60),
    ("How many seconds are in a minute?", 60),
    ("How many days are in a leap year?", 366),
    ("How many days are in a year that is not a leap year?", 365),
    ("How many legs does a spider have?", 8),
    ("How many legs does an insect have?", 6),
    ("How many legs does a dog have?", 4),
    ("How many legs does a bird have?", 2),
    ("How many sides does a triangle have?", 3),
    ("How many sides does a square have?", 4),
    ("How many sides does a pentagon have?", 5),
    ("How many sides does a hexagon have?", 6),
    ("How many sides does an octagon have?", 8),
    ("How many degrees are in a right angle?", 90),
    ("How many degrees are in a full circle?", 360),
    ("How many degrees do the angles of a triangle add up to?", 180),
    ("How many centimetres are in a metre?", 100),
    ("How many metres are in a kilometre?", 1000),
    ("How many grams are in a kilogram?", 1000),
    ("How many years are in a century?", 100),
    ("How many years are in a decade?", 10),
    ("How many days are in April?", 30),
    ("How many days does February have in a leap year?", 29),
    ("How many letters are in the English alphabet?", 26),
    ("How many planets are in the Solar System?", 8),
    ("How many strings does a standard guitar have?", 6),
    ("How many players from one team are on the pitch in a football (soccer) match?", 11),
    ("How many cards are in a standard deck, without jokers?", 52),
    ("How many squares are on a chessboard?", 64),
    ("How many fingers are on one human hand, counting the thumb?", 5),
    ("How many wheels does a bicycle have?", 2),
    ("How many wheels does a tricycle have?", 3),
    ("At what temperature in degrees Celsius does water boil at sea level?", 100),
    ("At what temperature in degrees Fahrenheit does water freeze at sea level?", 32),
    ("In what year did the Second World War end?", 1945),
    ("In what year did the First World War begin?", 1914),
    ("In what year did people first land on the Moon?", 1969),
]


def knowledge_mc_rows(rng: random.Random) -> list[dict[str, object]]:
    return [_mc(question, right, wrong, rng) for question, right, wrong in KNOWLEDGE_MC]


def knowledge_num_rows() -> list[dict[str, object]]:
    return [{"question": question, "answer": str(answer)} for question, answer in KNOWLEDGE_NUM]


def _mc(question: str, right: str, wrong: tuple[str, ...], rng: random.Random) -> dict[str, object]:
    choices = list(wrong)
    place = rng.randrange(len(choices) + 1)
    choices.insert(place, right)
    return {"question": question, "choices": choices, "answer": place}


def _problem(rng: random.Random) -> tuple[str, int, int, int]:
    """(operator, a, b, a op b): sums and differences of numbers up to 50 (differences never
    negative), products of numbers from 2 to 10."""
    op = rng.choice("+-*")
    if op == "*":
        a, b = rng.randint(2, 10), rng.randint(2, 10)
        return op, a, b, a * b
    a, b = rng.randint(2, 50), rng.randint(2, 50)
    if op == "-":
        a, b = max(a, b), min(a, b)
        return op, a, b, a - b
    return op, a, b, a + b


def _ask(op: str, a: int, b: int) -> str:
    word = {"+": "plus", "-": "minus", "*": "times"}[op]
    return f"What is {a} {word} {b}?"


def _wrong(right: int, rng: random.Random) -> list[int]:
    """Three wrong answers, each 3 to 12 away from the right one, never negative, all distinct."""
    out: list[int] = []
    while len(out) < 3:
        value = right + rng.choice((-1, 1)) * rng.randint(3, 12)
        if value >= 0 and value != right and value not in out:
            out.append(value)
    return out


def arithmetic_rows(
    rng: random.Random, count: int, mc: bool, taken: set[str]
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    while len(rows) < count:
        op, a, b, right = _problem(rng)
        question = _ask(op, a, b)
        if question in taken:
            continue  # each question once across both arithmetic tasks
        taken.add(question)
        if not mc:
            rows.append({"question": question, "answer": str(right)})
            continue
        wrong = _wrong(right, rng)
        rows.append(_mc(question, str(right), tuple(str(w) for w in wrong), rng))
    return rows


def files() -> dict[Path, str]:
    rng = random.Random(SEED)
    taken: set[str] = set()
    return {
        OUT / "knowledge_mc.jsonl": jsonl(knowledge_mc_rows(rng)),
        OUT / "knowledge_num.jsonl": jsonl(knowledge_num_rows()),
        OUT / "arithmetic_mc.jsonl": jsonl(arithmetic_rows(rng, ARITHMETIC_MC, True, taken)),
        OUT / "arithmetic.jsonl": jsonl(arithmetic_rows(rng, ARITHMETIC, False, taken)),
    }


def main() -> int:
    total = len(KNOWLEDGE_MC) + len(KNOWLEDGE_NUM) + ARITHMETIC_MC + ARITHMETIC
    return write_or_check(files(), OUT, f"wrote {total} questions to {OUT}", __doc__)


if __name__ == "__main__":
    sys.exit(main())
