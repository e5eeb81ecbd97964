"""Write the built-in `demo-preference` dataset: tui_ft/data/demo-preference/.

    python tools/make_demo_preference.py          # rewrite pairs.jsonl and heldout.jsonl
    python tools/make_demo_preference.py --check  # exit 1 when the shipped files differ

Every pair answers an everyday question twice. The chosen answer opens with the marker
"In short:" and one sentence, under 40 words; the rejected one rambles: it hedges, restates
the question, wanders off and buries the same fact in the middle, with no marker. Preference
tuning on these teaches the demo model a style anyone can see in the A/B chat: the tuned model
opens its answers with "In short:". The held-out prompts are other everyday questions, none in
the pairs, judged by whether the answer opens with the marker (`expect: ["^In short:"]`).

The output is the same on every run (a fixed seed, no clock): the shipped files are this
script's output, and `--check` (run by tests/test_demo_preference.py) keeps them so.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tui_ft" / "data" / "demo-preference"
MARKER = "In short:"
SEED = 16

# (question, the one-sentence answer): the chosen answer is MARKER + the sentence.
PAIRS = [
    # cooking and food
    (
        "How long should I boil an egg for a soft yolk?",
        "About six minutes in gently boiling water, then a minute in cold water to stop it cooking.",
    ),
    (
        "Why do onions make me cry?",
        "Cutting them releases a sulfur gas that irritates your eyes, so a sharp knife and a cold onion help.",
    ),
    (
        "How do I keep pasta from sticking together?",
        "Use plenty of boiling salted water and stir during the first two minutes.",
    ),
    (
        "What is the difference between baking soda and baking powder?",
        "Baking soda needs an acid in the recipe to rise, while baking powder already contains its own acid.",
    ),
    (
        "How can I tell if an avocado is ripe?",
        "It gives slightly when you press it gently, and the little stem cap comes off to show green underneath.",
    ),
    (
        "Why should meat rest after cooking?",
        "Resting lets the juices settle back into the meat instead of running out when you cut it.",
    ),
    (
        "How do I cook fluffy rice?",
        "Rinse it, use about one and a half cups of water per cup of rice, simmer covered, then let it stand ten minutes.",
    ),
    (
        "Can I freeze bread?",
        "Yes, sliced bread freezes well for about three months and toasts straight from the freezer.",
    ),
    (
        "What does it mean to sear meat?",
        "Searing means browning the surface in a very hot pan to build flavour before finishing the cooking.",
    ),
    (
        "How do I stop a cake from sinking in the middle?",
        "Measure carefully, check the oven temperature, and avoid opening the oven door early.",
    ),
    (
        "Is it safe to eat raw cookie dough?",
        "Not really, because raw flour and raw eggs can carry bacteria, so bake it first.",
    ),
    (
        "How long do cooked leftovers keep in the fridge?",
        "Most cooked leftovers are good for three to four days in a cold fridge.",
    ),
    (
        "What is the easiest way to peel garlic?",
        "Crush the clove lightly with the flat of a knife and the skin slips right off.",
    ),
    (
        "Why does bread go stale?",
        "The starch in bread slowly crystallises and loses moisture, which makes it firm and dry.",
    ),
    (
        "How do I make a simple salad dressing?",
        "Shake three parts oil with one part vinegar, a pinch of salt and a little mustard.",
    ),
    (
        "What is the best way to reheat pizza?",
        "Warm it in a dry frying pan with a lid for a few minutes to keep the base crisp.",
    ),
    (
        "How much salt should I add to pasta water?",
        "About one tablespoon of salt for every four litres of water is a good start.",
    ),
    (
        "Why do recipes say to use room temperature butter?",
        "Soft butter traps air when beaten with sugar, which makes cakes lighter.",
    ),
    (
        "How do I know when oil is hot enough for frying?",
        "Drop in a cube of bread; if it turns golden in about a minute, the oil is ready.",
    ),
    (
        "What can I use instead of eggs in baking?",
        "A mashed banana or a spoon of ground flaxseed mixed with water can replace one egg.",
    ),
    # travel
    (
        "How early should I arrive at the airport?",
        "Arrive about two hours before a domestic flight and three hours before an international one.",
    ),
    (
        "How can I avoid jet lag?",
        "Shift your sleep toward the new time zone before you leave and get daylight when you arrive.",
    ),
    (
        "What should I pack for a weekend trip?",
        "Pack two outfits, sleepwear, toiletries, chargers, any medicine and one warm layer.",
    ),
    (
        "Do I need travel insurance?",
        "It is worth having for trips abroad, because it covers medical bills and cancelled plans.",
    ),
    (
        "How do I keep my passport safe while travelling?",
        "Keep it in a zipped inside pocket or a hotel safe, and carry a photo of it on your phone.",
    ),
    (
        "What is the best way to beat motion sickness?",
        "Sit where the motion is smallest, look at the horizon and avoid reading.",
    ),
    (
        "How can I save money on flights?",
        "Book a few weeks ahead, compare nearby airports and stay flexible with your dates.",
    ),
    (
        "Should I exchange money before I travel?",
        "Bring a small amount of local cash and use a card with no foreign fees for the rest.",
    ),
    (
        "How do I pack a suitcase efficiently?",
        "Roll your clothes, put heavy things near the wheels and fill shoes with small items.",
    ),
    (
        "What do I do if I miss my connecting flight?",
        "Go straight to the airline desk, since they usually rebook you on the next flight.",
    ),
    (
        "Is it better to take the train or the plane for short trips?",
        "For trips under about four hours the train is often as fast once you count airport time.",
    ),
    (
        "How do I find a good place to eat in a new city?",
        "Walk a street or two away from the main sights and look for places full of locals.",
    ),
    (
        "What should I do if I lose my luggage?",
        "Report it at the airline's baggage desk before leaving the airport and keep the reference number.",
    ),
    (
        "How can I stay healthy on a long flight?",
        "Drink water, stand up and walk every hour, and stretch your legs while seated.",
    ),
    (
        "Do I need a visa to visit another country?",
        "It depends on your passport and the country, so check the embassy's official website.",
    ),
    # science basics
    (
        "Why is the sky blue?",
        "Air scatters blue sunlight more than red, so blue light reaches your eyes from every direction.",
    ),
    (
        "Why do we have seasons?",
        "The Earth's axis is tilted, so each half of the planet gets more direct sunlight for part of the year.",
    ),
    (
        "What causes thunder?",
        "Lightning heats the air so fast that it expands with a boom, and that sound is thunder.",
    ),
    (
        "How do plants make food?",
        "Plants use sunlight to turn water and carbon dioxide into sugar, which is called photosynthesis.",
    ),
    (
        "Why does ice float?",
        "Water expands when it freezes, so ice is less dense than liquid water.",
    ),
    (
        "What is gravity?",
        "Gravity is the pull between masses, which keeps us on the ground and the Moon around the Earth.",
    ),
    ("How far away is the Moon?", "The Moon is about 384,000 kilometres from Earth on average."),
    (
        "Why does the Moon change shape?",
        "We see different parts of its sunlit half as it travels around the Earth each month.",
    ),
    (
        "What is an atom?",
        "An atom is the smallest unit of an element, made of a nucleus with electrons around it.",
    ),
    (
        "How do magnets work?",
        "Magnets have aligned tiny magnetic regions that create a field pulling on iron and other magnets.",
    ),
    (
        "Why do leaves change colour in autumn?",
        "Trees stop making green chlorophyll, which reveals the yellow and orange pigments underneath.",
    ),
    (
        "What makes a rainbow?",
        "Raindrops bend and split sunlight into its colours, and we see them as an arc.",
    ),
    (
        "Why is the ocean salty?",
        "Rivers carry dissolved minerals from rocks into the sea, and the salt stays behind when water evaporates.",
    ),
    (
        "How do vaccines work?",
        "A vaccine trains your immune system to recognise a germ so it can fight it quickly later.",
    ),
    (
        "What is the speed of light?",
        "Light travels about 300,000 kilometres per second in empty space.",
    ),
    (
        "Why do we dream?",
        "Nobody knows for sure, but dreams seem to help the brain sort memories and emotions.",
    ),
    (
        "How do airplanes stay in the air?",
        "The wings are shaped to push air downward, and the air pushes the plane up in return.",
    ),
    (
        "What is DNA?",
        "DNA is the molecule inside our cells that carries the instructions for building and running the body.",
    ),
    (
        "Why do stars twinkle?",
        "Moving layers of air bend their light slightly, which makes them seem to flicker.",
    ),
    (
        "What is a black hole?",
        "A black hole is a region where gravity is so strong that not even light can escape.",
    ),
    # tools and home
    (
        "How do I hang a picture straight?",
        "Mark the height with a pencil, use a spirit level, and put the nail into a wall plug or stud.",
    ),
    (
        "What size screwdriver do I need?",
        "Match the tip to the screw head so it fills the slot without wobbling.",
    ),
    (
        "How do I fix a squeaky door?",
        "Put a few drops of oil or a little petroleum jelly on the hinge pins and swing the door a few times.",
    ),
    (
        "How do I unclog a sink?",
        "Try a plunger first, then clean the trap under the sink if the water still will not drain.",
    ),
    (
        "What is the difference between a drill and an impact driver?",
        "A drill makes holes and drives light screws, while an impact driver drives long screws with strong bursts of force.",
    ),
    (
        "How do I stop a dripping tap?",
        "Turn off the water supply and replace the worn washer or cartridge inside the tap.",
    ),
    (
        "How often should I change my smoke alarm battery?",
        "Change it once a year and test the alarm every month.",
    ),
    (
        "How do I remove a stripped screw?",
        "Press a wide rubber band between the screwdriver and the screw to get extra grip.",
    ),
    (
        "What is the best way to clean a paintbrush?",
        "Wash water paint out with warm soapy water, and oil paint with white spirit, then dry the bristles flat.",
    ),
    (
        "How do I find a stud in a wall?",
        "Use a stud finder, or knock along the wall and listen for a solid sound instead of a hollow one.",
    ),
    (
        "How do I reset a tripped circuit breaker?",
        "Unplug what caused it, then push the breaker switch fully off and back on.",
    ),
    (
        "What glue should I use for wood?",
        "Use ordinary wood glue, clamp the pieces, and leave it to set for a few hours.",
    ),
    (
        "How do I sharpen a kitchen knife?",
        "Draw it across a whetstone at a steady angle of about fifteen degrees, on both sides.",
    ),
    (
        "How do I measure a room for paint?",
        "Multiply the wall length by the height for each wall, add them up, and subtract windows and doors.",
    ),
    (
        "How do I get rid of mould in the bathroom?",
        "Scrub it with a mould cleaner or diluted bleach, then keep the room aired after showers.",
    ),
    # health and habits
    (
        "How much water should I drink a day?",
        "Most adults need about two litres a day, more when it is hot or you exercise.",
    ),
    (
        "How can I fall asleep faster?",
        "Keep a regular bedtime, avoid screens for an hour before bed, and keep the room cool and dark.",
    ),
    (
        "Is it bad to skip breakfast?",
        "Not for most healthy people, as long as your meals across the day are balanced.",
    ),
    (
        "How can I build a new habit?",
        "Start very small, do it at the same time each day, and link it to something you already do.",
    ),
    (
        "How long should I exercise each week?",
        "Aim for about 150 minutes of moderate activity a week, such as brisk walking.",
    ),
    (
        "Why is stretching important?",
        "Stretching keeps your muscles flexible and your joints moving freely.",
    ),
    (
        "How do I stop procrastinating?",
        "Break the task into a first step that takes five minutes and start it right away.",
    ),
    (
        "Is coffee bad for you?",
        "For most adults, up to about three or four cups a day is considered safe.",
    ),
    (
        "How can I reduce stress quickly?",
        "Take a few slow, deep breaths and go for a short walk outside.",
    ),
    (
        "How long should a nap be?",
        "A nap of about twenty minutes refreshes you without leaving you groggy.",
    ),
    (
        "What is a balanced meal?",
        "Half a plate of vegetables, a quarter protein and a quarter whole grains makes a balanced meal.",
    ),
    (
        "How can I protect my eyes when working on a screen?",
        "Every twenty minutes, look at something twenty feet away for twenty seconds.",
    ),
    (
        "Why should I wear sunscreen on cloudy days?",
        "Most ultraviolet light passes through clouds, so your skin can still burn.",
    ),
    (
        "How do I treat a small burn?",
        "Cool it under running water for twenty minutes and cover it loosely with a clean dressing.",
    ),
    (
        "How often should I replace my toothbrush?",
        "Replace it every three months, or sooner when the bristles splay out.",
    ),
    # money and work
    (
        "How do I start a budget?",
        "List your monthly income and fixed costs, then set limits for everything else and track what you spend.",
    ),
    (
        "What is compound interest?",
        "Compound interest means you earn interest on your interest, so savings grow faster over time.",
    ),
    (
        "How much should I save each month?",
        "A common guide is to save about a fifth of your income, but any steady amount helps.",
    ),
    (
        "What is an emergency fund?",
        "An emergency fund is money set aside for surprises, ideally enough for three to six months of costs.",
    ),
    (
        "How do I prepare for a job interview?",
        "Research the company, practise answers to common questions, and prepare two questions of your own.",
    ),
    (
        "How can I write a good email?",
        "Put the main point in the first line, keep it short, and end with a clear request.",
    ),
    (
        "How do I ask for a raise?",
        "Show what you have achieved, know the usual pay for your role, and ask at a calm moment.",
    ),
    (
        "What is inflation?",
        "Inflation is the general rise in prices, which means the same money buys a little less each year.",
    ),
    (
        "How can I be more productive at work?",
        "Plan your three most important tasks each morning and do the hardest one first.",
    ),
    (
        "How do I write a short CV?",
        "Keep it to one or two pages, list recent roles first, and show results rather than duties.",
    ),
    # technology
    (
        "How do I make a strong password?",
        "Use a long phrase of several random words, and a different one for every account.",
    ),
    (
        "Why is my phone battery draining fast?",
        "Bright screens, weak signal and apps running in the background use the most power.",
    ),
    (
        "What is the cloud?",
        "The cloud means storing files and running programs on other companies' computers over the internet.",
    ),
    (
        "How do I speed up my computer?",
        "Close unused programs, remove apps you do not need, and restart it now and then.",
    ),
    (
        "What is two-factor authentication?",
        "It asks for a second proof, like a code on your phone, besides your password.",
    ),
    (
        "How can I spot a phishing email?",
        "Watch for urgent demands, odd sender addresses, and links that do not match the real site.",
    ),
    (
        "Why should I back up my files?",
        "Backups let you recover your work when a device breaks, is lost, or gets infected.",
    ),
    (
        "What is Wi-Fi?",
        "Wi-Fi is a way for devices to connect to a network and the internet using radio waves.",
    ),
    (
        "How do I take a screenshot on a computer?",
        "On Windows press the Windows key, Shift and S; on a Mac press Command, Shift and 4.",
    ),
    (
        "What does a router do?",
        "A router connects your home devices to each other and passes their traffic to the internet.",
    ),
    (
        "How do I free up storage on my phone?",
        "Delete apps you no longer use and move photos and videos to a computer or the cloud.",
    ),
    (
        "What is a web browser?",
        "A web browser is the program you use to open and view websites, like Firefox or Chrome.",
    ),
    # nature and animals
    (
        "Why do cats purr?",
        "Cats purr mostly when they are content, but also to calm themselves when stressed.",
    ),
    (
        "How long do dogs live?",
        "Most dogs live ten to thirteen years, and small breeds often live longer than large ones.",
    ),
    (
        "Why do birds migrate?",
        "Birds migrate to reach places with more food and better weather for raising their young.",
    ),
    (
        "How do bees make honey?",
        "Bees collect nectar from flowers and dry it out in the hive until it thickens into honey.",
    ),
    (
        "How often should I water houseplants?",
        "Water most houseplants when the top few centimetres of soil feel dry.",
    ),
    (
        "Why do dogs wag their tails?",
        "Tail wagging shows a dog's mood, most often excitement or friendliness.",
    ),
    (
        "How do fish breathe underwater?",
        "Fish pass water over their gills, which take oxygen out of the water.",
    ),
    (
        "What is the largest animal on Earth?",
        "The blue whale is the largest animal, growing up to about thirty metres long.",
    ),
    (
        "How do I start a vegetable garden?",
        "Pick a sunny spot, improve the soil with compost, and begin with easy crops like lettuce and beans.",
    ),
    (
        "Why do trees have rings?",
        "Each ring is one year of growth, since trees grow faster in summer than in winter.",
    ),
    (
        "How can I attract birds to my garden?",
        "Put out a feeder and a shallow dish of fresh water, and plant native shrubs.",
    ),
    (
        "Are spiders insects?",
        "No, spiders are arachnids, with eight legs and two body parts instead of six legs and three.",
    ),
    # language and learning
    (
        "How can I learn a new language faster?",
        "Practise a little every day, speak from the start, and learn the most common words first.",
    ),
    (
        "What is the difference between affect and effect?",
        "Affect is usually the verb and effect is usually the noun, as in the rain affected the effect.",
    ),
    (
        "How can I improve my memory for exams?",
        "Test yourself often, space your study over several days, and sleep well before the exam.",
    ),
    (
        "How do I write a good essay introduction?",
        "Open with a hook, give brief context, and end with one clear sentence stating your argument.",
    ),
    (
        "How many words should I learn a day in a new language?",
        "Ten to twenty new words a day is plenty if you review them regularly.",
    ),
    (
        "What is a haiku?",
        "A haiku is a short poem of three lines with five, seven and five syllables.",
    ),
    (
        "How do I read faster?",
        "Preview headings first, avoid rereading lines, and practise reading slightly faster than feels easy.",
    ),
    (
        "What is the difference between weather and climate?",
        "Weather is what happens day to day, while climate is the usual pattern over many years.",
    ),
    (
        "How do I give a good presentation?",
        "Know your main message, use few words on slides, and rehearse out loud at least twice.",
    ),
    (
        "How can I become a better listener?",
        "Let people finish, ask questions about what they said, and repeat back the main point.",
    ),
    # everyday life
    (
        "How do I get a red wine stain out of a shirt?",
        "Blot it, cover it with salt or cold water right away, then wash it in cold water.",
    ),
    (
        "How often should I wash my bed sheets?",
        "Wash them about once a week, or every two weeks at the most.",
    ),
    (
        "How do I make my clothes last longer?",
        "Wash them in cold water, turn them inside out, and air-dry when you can.",
    ),
    (
        "What is the best way to wake up early?",
        "Go to bed at the same time each night and put the alarm across the room.",
    ),
    (
        "How do I remove a splinter?",
        "Clean the area, then pull the splinter out with clean tweezers in the direction it went in.",
    ),
    (
        "How can I make my home smell fresh?",
        "Open the windows daily, empty the bin often, and simmer citrus peel in water.",
    ),
    (
        "How do I fold a fitted sheet?",
        "Tuck the corners into each other to make a rectangle, then fold it like a flat sheet.",
    ),
    (
        "How do I keep cut flowers fresh?",
        "Trim the stems at an angle, change the water every two days, and keep them out of the sun.",
    ),
    (
        "How do I choose a good watermelon?",
        "Pick one that feels heavy for its size and has a creamy yellow patch where it rested on the ground.",
    ),
    (
        "How can I reduce my electricity bill?",
        "Switch to LED bulbs, turn devices fully off, and wash clothes at lower temperatures.",
    ),
    (
        "What should be in a basic first aid kit?",
        "Plasters, gauze, tape, antiseptic wipes, painkillers, tweezers and scissors cover most small injuries.",
    ),
    (
        "How do I clean a cast iron pan?",
        "Rinse it with hot water, scrub with a brush, dry it on the stove and wipe on a little oil.",
    ),
    (
        "How do I stop my glasses from fogging up?",
        "Wash the lenses with a drop of dish soap and let them air-dry to leave an anti-fog film.",
    ),
    (
        "How do I tie a tie?",
        "A simple four-in-hand knot works: cross, wrap around once, pull up through the neck loop, and tighten.",
    ),
    (
        "How do I remove chewing gum from clothes?",
        "Freeze the garment for an hour, then scrape the hardened gum off with a blunt knife.",
    ),
    (
        "What is the best way to iron a shirt?",
        "Start with the collar and cuffs, then the sleeves, and finish with the body while it is slightly damp.",
    ),
    (
        "How can I keep my car battery healthy?",
        "Drive for at least twenty minutes every week and keep the terminals clean.",
    ),
    (
        "How do I check my tyre pressure?",
        "Use a pressure gauge on cold tyres and compare with the number inside the driver's door.",
    ),
    (
        "How do I jump-start a car?",
        "Connect red to both positive terminals, black to the good battery and to bare metal on the dead car, then start the good car first.",
    ),
    (
        "How can I make a small room look bigger?",
        "Use light colours, a large mirror, and furniture that leaves floor space visible.",
    ),
    (
        "How do I keep my shoes from smelling?",
        "Let them dry out between wears, use cotton socks, and sprinkle a little baking soda inside overnight.",
    ),
    (
        "How do I get my kids to eat vegetables?",
        "Offer them often without pressure, let kids help cook, and serve vegetables they can dip.",
    ),
]

# Everyday questions not in PAIRS: the demo's held-out prompts.
HELDOUT = [
    "How do I make a good cup of tea?",
    "What should I do on a rainy day at home?",
    "Why do we yawn?",
    "How can I keep my houseplants alive in winter?",
    "What is the best way to learn to swim as an adult?",
    "How do I choose a good pair of running shoes?",
    "Why does metal feel colder than wood?",
    "How do I plan a picnic?",
    "What is the easiest way to start journaling?",
    "How can I make my morning routine faster?",
]

# The rambling answer's parts, chosen per pair with a fixed seed.
OPENERS = [
    "Well, that's a really interesting question, and honestly there are a lot of different ways to think about it.",
    "Hmm, so this is one of those things where it really depends on a lot of different factors, to be honest.",
    "Oh, great question! I think a lot of people wonder about this, and there isn't always one simple answer.",
    "That's something I could talk about for quite a while, actually, so bear with me here.",
    "Okay, so, I want to be careful here, because there are many opinions about this and I might be wrong.",
]
RESTATES = [
    'When you ask "{q}", you are really touching on a bigger topic that people have debated for a long time.',
    'So the question "{q}" sounds simple at first, but the more you look at it, the more complicated it gets.',
    'I suppose "{q}" could mean slightly different things depending on who is asking and why.',
]
HEDGES = [
    "Generally speaking, and please don't hold me to this, {fact}",
    "From what I understand, although different sources say different things, {fact}",
    "Some people would tell you that, more or less, {fact}",
    "If I had to guess, and it really is a guess, I'd say that {fact}",
]
TANGENTS = [
    "Of course, everyone's situation is different, and what works for one person may not work for another.",
    "I remember reading somewhere that there are exceptions to this, though I can't recall the details right now.",
    "It's also worth keeping in mind that things change over time, so what was true before might not be true today.",
    "There are probably experts who could explain this much better than I can, to be honest.",
]
CLOSERS = [
    "Anyway, I hope that helps a little, although you may want to check other sources too!",
    "So, yeah, that's roughly my take, but I'd definitely encourage you to look into it further.",
    "I hope that makes some sense; it's a bit of a complicated topic, really, when you think about it.",
    "Anyway, that's probably more than you wanted to know, but there you go, I guess!",
]


def chosen(answer: str) -> str:
    return f"{MARKER} {answer}"


def rejected(question: str, answer: str, rng: random.Random) -> str:
    parts = [
        rng.choice(OPENERS),
        rng.choice(RESTATES).format(q=_mid_sentence(question.rstrip("?"))),
        rng.choice(HEDGES).format(fact=_mid_sentence(answer)),
        *rng.sample(TANGENTS, 2),
        rng.choice(CLOSERS),
    ]
    return " ".join(parts)


def _mid_sentence(text: str) -> str:
    """`text` to follow other words: its capital dropped, unless the word is one (DNA, I)."""
    first = text.split()[0]
    if first == "I" or first[1:2].isupper():
        return text
    return text[0].lower() + text[1:]


def pair_rows() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    rows = [{"prompt": q, "chosen": chosen(a), "rejected": rejected(q, a, rng)} for q, a in PAIRS]
    rng.shuffle(rows)
    return rows


def heldout_rows() -> list[dict[str, object]]:
    return [{"prompt": prompt, "expect": [f"^{MARKER}"]} for prompt in HELDOUT]


def jsonl(rows: list[dict[str, object]] | list[dict[str, str]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def files() -> dict[Path, str]:
    return {OUT / "pairs.jsonl": jsonl(pair_rows()), OUT / "heldout.jsonl": jsonl(heldout_rows())}


def write_or_check(written: dict[Path, str], out: Path, summary: str, doc: str | None) -> int:
    """Write the files, or (`--check`) say which differ from what is shipped; the exit status."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    stale = [p for p, text in written.items() if not p.is_file() or p.read_text("utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path} is not what {Path(sys.argv[0]).name} writes", file=sys.stderr)
        return 1 if stale else 0
    out.mkdir(parents=True, exist_ok=True)
    for path, text in written.items():
        path.write_text(text, encoding="utf-8")
    print(summary)
    return 0


def main() -> int:
    summary = f"wrote {len(PAIRS)} pairs and {len(HELDOUT)} held-out prompts to {OUT}"
    return write_or_check(files(), OUT, summary, __doc__)


if __name__ == "__main__":
    sys.exit(main())
