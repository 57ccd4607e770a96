"""Article by article, what a new version of a statute did to the old one.

Articles are matched by their text, not their number: a revision that inserts an article
moves every later one, and the question citing old 第37条 must follow its text to new 第38条.
First identical texts pair up (the same number when there is a choice, else the nearest
position); then the rest pair by similarity (difflib's ratio), best pairs first, above
SIMILAR. Unpaired old articles were removed, unpaired new ones added.
"""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher

UNCHANGED, CHANGED, ADDED, REMOVED, RENUMBERED = (
    "unchanged",
    "changed",
    "added",
    "removed",
    "renumbered",
)
#: below this ratio two articles are different articles, not one article revised
SIMILAR = 0.5
#: candidates checked with difflib per unpaired old article
CANDIDATES = 5

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Match:
    kind: str
    old: int | None  # index into the old list
    new: int | None  # index into the new list
    similarity: int  # 0-100


def _norm(text: str) -> str:
    return _SPACE.sub("", text)


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


def similarity(old: str, new: str) -> float:
    return SequenceMatcher(None, _norm(old), _norm(new), autojunk=False).ratio()


def diff_articles(old: list[tuple[tuple, str]], new: list[tuple[tuple, str]]) -> list[Match]:
    """`old` and `new` are (key, text) in statute order, key the article's number."""
    old_texts = [_norm(text) for _, text in old]
    new_texts = [_norm(text) for _, text in new]
    by_text: dict[str, list[int]] = defaultdict(list)
    for j, text in enumerate(new_texts):
        by_text[text].append(j)
    paired_new: set[int] = set()
    matches: list[Match] = []
    unpaired_old = []
    for i, text in enumerate(old_texts):
        free = [j for j in by_text.get(text, ()) if j not in paired_new]
        if not free:
            unpaired_old.append(i)
            continue
        j = next((j for j in free if new[j][0] == old[i][0]), None)
        if j is None:
            j = min(free, key=lambda j: abs(j - i))
        paired_new.add(j)
        matches.append(Match(UNCHANGED if new[j][0] == old[i][0] else RENUMBERED, i, j, 100))

    unpaired_new = [j for j in range(len(new)) if j not in paired_new]
    postings: dict[str, list[int]] = defaultdict(list)
    grams_new = {}
    for j in unpaired_new:
        grams_new[j] = _bigrams(new_texts[j])
        for gram in grams_new[j]:
            postings[gram].append(j)
    # A bigram most articles share (的, 或者) says nothing about which one is which.
    common = max(50, len(unpaired_new) // 10)
    useful = {gram: js for gram, js in postings.items() if len(js) <= common}
    same_number = {new[j][0]: j for j in unpaired_new}
    candidates = []
    for i in unpaired_old:
        grams = _bigrams(old_texts[i])
        shared = Counter(j for gram in grams for j in useful.get(gram, ()))
        scored = sorted(
            shared,
            key=lambda j: (-2 * shared[j] / (len(grams) + len(grams_new[j])), abs(j - i)),
        )[:CANDIDATES]
        same = same_number.get(old[i][0])
        if same is not None and same not in scored:
            scored.append(same)
        for j in scored:
            ratio = SequenceMatcher(None, old_texts[i], new_texts[j], autojunk=False).ratio()
            if ratio >= SIMILAR:
                candidates.append((ratio, new[j][0] == old[i][0], -abs(j - i), i, j))
    paired_old = set()
    for ratio, _, _, i, j in sorted(candidates, reverse=True):
        if i in paired_old or j in paired_new:
            continue
        paired_old.add(i)
        paired_new.add(j)
        kind = CHANGED if new[j][0] == old[i][0] else RENUMBERED
        matches.append(Match(kind, i, j, min(99, round(ratio * 100))))
    matches.extend(Match(REMOVED, i, None, 0) for i in unpaired_old if i not in paired_old)
    matches.extend(Match(ADDED, None, j, 0) for j in range(len(new)) if j not in paired_new)
    # In the new version's order; a removed article where its predecessor went.
    went = {m.old: m.new for m in matches if m.old is not None and m.new is not None}
    place, last = {}, -1
    for i in range(len(old)):
        last = went.get(i, last)
        place[i] = last + 0.5
    matches.sort(key=lambda m: m.new if m.new is not None else place[m.old])
    return matches


def marked(old: str, new: str) -> list[tuple[str, str]]:
    """The new text against the old as runs of ("same" | "del" | "ins", text)."""
    runs: list[tuple[str, str]] = []
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            runs.append(("same", old[i1:i2]))
            continue
        if op in ("delete", "replace"):
            runs.append(("del", old[i1:i2]))
        if op in ("insert", "replace"):
            runs.append(("ins", new[j1:j2]))
    return runs
