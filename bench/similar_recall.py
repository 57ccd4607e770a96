"""How many near-copies the near-duplicate search finds (question_bank.similar), on real
stems: plants a near-copy (1–4 characters replaced, inserted or dropped, difflib ratio
still ≥ 0.9) of N stems of a bank and counts the planted pairs found, with the time.

    python bench/similar_recall.py ../shared/data/jecqa-njec/questions.jsonl [--bank 6000]

The file is JSON lines with a "stem" field (the shared JEC-QA data); it is read, never
copied. No database.
"""

import argparse
import json
import random
import time
from difflib import SequenceMatcher

from question_bank.drafts import QuestionDraft, squash
from question_bank.similar import THRESHOLD, Item, find_similar

FILLERS = "的了和在是不人有法行政机关当事"


def near_copy(rng: random.Random, stem: str) -> str:
    text = list(stem)
    for _ in range(rng.randint(1, 4)):
        at, edit = rng.randrange(len(text)), rng.random()
        if edit < 0.4:
            text[at] = rng.choice(FILLERS)
        elif edit < 0.7:
            text.insert(at, rng.choice(FILLERS))
        else:
            del text[at]
    return "".join(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("stems")
    parser.add_argument("--bank", type=int, default=6000)
    parser.add_argument("--planted", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with open(args.stems, encoding="utf-8") as lines:
        stems = [json.loads(line).get("stem") for line in lines]
    stems = [stem for stem in stems if stem]
    rng.shuffle(stems)
    bank = stems[: args.bank]
    pairs = []
    for stem in rng.sample(bank, min(args.planted, len(bank))):
        copy = near_copy(rng, stem)
        ratio = SequenceMatcher(None, squash(stem), squash(copy), autojunk=False).ratio()
        if squash(copy) != squash(stem) and ratio >= THRESHOLD:
            pairs.append((stem, copy))

    def draft(text: str) -> QuestionDraft:
        return QuestionDraft("single", text, ["甲", "乙"], [0], [])

    against = [Item(draft(text), question_id=number) for number, text in enumerate(bank)]
    items = [Item(draft(copy), row=number) for number, (_, copy) in enumerate(pairs)]
    started = time.perf_counter()
    found = find_similar(items, against, include_exact=True)
    seconds = time.perf_counter() - started
    hits = {(f.item.row, f.other.question_id) for f in found}
    position = {text: number for number, text in enumerate(bank)}
    got = sum((n, position[stem]) in hits for n, (stem, _) in enumerate(pairs))
    print(
        f"{len(pairs)} near-copies planted among {len(bank)} stems: {got} found "
        f"({got / len(pairs):.1%}) in {seconds:.2f} s"
    )


if __name__ == "__main__":
    main()
