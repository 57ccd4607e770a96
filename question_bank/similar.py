"""Near-duplicate questions: stems that read nearly the same, beside the exact duplicates
the fingerprint finds.

Two stems are similar when difflib's ratio of their squashed text (width, case, spaces and
punctuation ignored, as the fingerprint does) is at least 0.9. Comparing every pair is too
slow for a 5,000-question file against a large bank, so pairs are first found by their
character pairs (bigrams): a pair that similar shares about half of its bigrams or more
(Jaccard ≥ 0.5), and candidates are the stems sharing two of their rarest bigrams
(prefix filtering, capped: see MIN_PREFIX). Only those are compared character by
character (difflib, after its cheap upper bound).

Same stem, different key: two sources often hold the same question with different keys
after a law changed. Keys are compared by what they mean (the texts of the correct
choices, the blanks), not by letter, so reordered choices are not a conflict.
"""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import chain

from sqlalchemy import or_, select

from core.extensions import db
from question_bank.bank import search_key
from question_bank.drafts import QuestionDraft, fingerprint, squash
from question_bank.models import Question, QuestionStatus, QuestionVersion, is_current_version
from question_bank.types import TRUE_FALSE_CHOICES, TYPES, letter

THRESHOLD = 0.9
_CANDIDATE_JACCARD = 0.5
#: Prefix filtering guarantees every pair only when half of each stem's bigrams are indexed
#: and one shared bigram makes a candidate; that costs tens of seconds on templated banks.
#: Here a candidate shares SHARED_NEEDED of the MIN_PREFIX rarest, and of up to MAX_PREFIX
#: when the ones past MIN_PREFIX are rare (in at most RARE_SHARE of the stems: cheap to
#: index). Measured on 750 near-copies (1–4 characters changed, ratio ≥ 0.9) of real
#: JEC-QA stems among 6,000: six rarest found 95.1% of the pairs, this 99.5%, while a
#: templated bank (every bigram common) costs what six did. A pair whose rarest bigrams
#: differ can still be missed.
MIN_PREFIX = 6
MAX_PREFIX = 10
SHARED_NEEDED = 2
RARE_SHARE = 0.005
#: per question listed, at most this many similar ones (the most similar first)
PER_QUESTION = 3


@dataclass(frozen=True)
class Item:
    """A question to compare: a file row (row set) or a bank question (question_id set)."""

    draft: QuestionDraft
    row: int | None = None
    question_id: int | None = None
    #: the draft's fingerprint when already known (stored in the bank, computed by the
    #: parser): computing it again was a fifth of a large preview's time
    fingerprint: str | None = None


@dataclass(frozen=True)
class Similar:
    item: Item  # the question being checked (a file row, or the form's draft)
    other: Item  # an earlier row of the file, or a question in the bank
    similarity: float
    keys_differ: bool  # the keys mean different things (see key_meaning)
    exact: bool  # the same fingerprint: an exact duplicate

    @property
    def percent(self) -> int:
        return math.floor(self.similarity * 100)


def key_text(draft: QuestionDraft) -> str:
    """The key with the texts it stands for: `B．二年`, `正确`, `十五日/15日`."""
    if draft.type == "fill_blank":
        return "｜".join("/".join(blank) for blank in draft.blanks)
    if draft.type == "true_false":
        return "、".join(TRUE_FALSE_CHOICES[i] for i in draft.answer if i < 2)
    return "；".join(
        f"{letter(i)}．{draft.choices[i]}" for i in draft.answer if i < len(draft.choices)
    )


def key_meaning(draft: QuestionDraft) -> tuple:
    if draft.type == "fill_blank":
        return ("blanks", tuple(tuple(squash(a) for a in blank) for blank in draft.blanks))
    if draft.type == "true_false":
        return ("true_false", tuple(draft.answer))
    texts = frozenset(squash(draft.choices[i]) for i in draft.answer if i < len(draft.choices))
    return ("choices", texts)


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


def find_similar(
    items: list[Item], against: list[Item], *, include_exact: bool = False
) -> list[Similar]:
    """For each of `items`, the most similar of `against` and of the items before it
    (at most PER_QUESTION). Exact duplicates with the same key are left out unless
    `include_exact`: an import lists them as duplicates already."""
    texts = [squash(i.draft.stem) for i in against] + [squash(i.draft.stem) for i in items]
    everything = against + items
    grams = [_bigrams(text) for text in texts]
    frequency = Counter(gram for found in grams for gram in found)
    rare = RARE_SHARE * len(texts)
    index: dict[str, list[int]] = defaultdict(list)
    for position, found in enumerate(grams[: len(against)]):
        for gram in _prefix(found, frequency, rare):
            index[gram].append(position)
    fingerprints: dict[int, str] = {}
    meanings: dict[int, tuple] = {}

    def fingerprint_of(position: int) -> str:
        if position not in fingerprints:
            item = everything[position]
            fingerprints[position] = item.fingerprint or fingerprint(item.draft)
        return fingerprints[position]

    def meaning_of(position: int) -> tuple:
        if position not in meanings:
            meanings[position] = key_meaning(everything[position].draft)
        return meanings[position]

    lengths = [len(text) for text in texts]
    results = []
    matcher = SequenceMatcher(None, autojunk=False)
    for offset, item in enumerate(items):
        position = len(against) + offset
        prefix = _prefix(grams[position], frequency, rare)
        # Candidates share two of the rarest bigrams (one for a stem that short), counted
        # in C: in a templated bank even the rarest bigrams are common. The cheap tests
        # run as comprehensions: a templated bank gives each stem dozens of candidates.
        shared = Counter(chain.from_iterable(index.get(gram, ()) for gram in prefix))
        need = min(SHARED_NEEDED, len(prefix))
        a, found = texts[position], grams[position]
        # ratio ≥ THRESHOLD needs 2·min(len) ≥ THRESHOLD·(sum of lengths): lengths alone
        shortest = len(a) * THRESHOLD / (2 - THRESHOLD)
        longest = len(a) * (2 - THRESHOLD) / THRESHOLD
        candidates = [
            other
            for other, count in shared.items()
            if count >= need and shortest <= lengths[other] <= longest
        ]
        # Jaccard ≥ t: common ≥ t·(|a| + |b| − common)
        candidates = [
            other
            for other in candidates
            if (1 + _CANDIDATE_JACCARD) * len(found & grams[other])
            >= _CANDIDATE_JACCARD * (len(found) + len(grams[other]))
        ]
        matches = []
        a = texts[position]
        matcher.set_seq2(a)  # what difflib caches: the side that stays
        for other in candidates:
            b = texts[other]
            if a == b:
                ratio = 1.0
            else:
                matcher.set_seq1(b)
                if matcher.quick_ratio() < THRESHOLD:  # an upper bound of ratio(), cheaply
                    continue
                ratio = matcher.ratio()
                if ratio < THRESHOLD:
                    continue
            exact = fingerprint_of(position) == fingerprint_of(other)
            differ = meaning_of(position) != meaning_of(other)
            if include_exact or not exact or differ:
                matches.append(Similar(item, everything[other], ratio, differ, exact))
        matches.sort(key=lambda s: (-s.similarity, s.other.row or 0, s.other.question_id or 0))
        results.extend(matches[:PER_QUESTION])
        for gram in prefix:  # later rows are compared with this one too
            index[gram].append(position)
    return results


def _prefix(grams: set[str], frequency: Counter, rare: float) -> list[str]:
    # Two sets with Jaccard ≥ t share one of the rarest |x| - ceil(t·|x|) + 1 of each.
    ordered = sorted(grams, key=lambda gram: (frequency[gram], gram))
    length = min(len(ordered) - math.ceil(_CANDIDATE_JACCARD * len(ordered)) + 1, MAX_PREFIX)
    count = min(length, MIN_PREFIX)
    while count < length and frequency[ordered[count]] <= rare:
        count += 1  # a rare bigram costs little to index and finds pairs the others miss
    return ordered[:count]


def bank_items(exclude_id: int | None = None, *conditions) -> list[Item]:
    """The current version of every question not retired (that meets `conditions`)."""
    stmt = (
        select(
            Question.id,
            QuestionVersion.type,
            QuestionVersion.stem,
            QuestionVersion.choices,
            QuestionVersion.answer,
            QuestionVersion.blanks,
            Question.fingerprint,
        )
        .join(QuestionVersion, is_current_version())
        .where(Question.status != QuestionStatus.RETIRED.value, *conditions)
        .order_by(Question.id)
    )
    if exclude_id is not None:
        stmt = stmt.where(Question.id != exclude_id)
    return [
        Item(
            QuestionDraft(kind, stem, list(choices), list(answer), blanks),
            question_id=qid,
            fingerprint=stored,
        )
        for qid, kind, stem, choices, answer, blanks, stored in db.session.execute(stmt)
        if kind in TYPES
    ]


#: pieces of a stem looked up in the bank's search text to find the candidates of one draft
STEM_PIECES = 8


def similar_in_bank(draft: QuestionDraft, exclude_id: int | None = None) -> list[Similar]:
    """Questions in the bank whose stems read nearly as `draft`'s, for the question form.

    Reading the whole bank took seconds at 20,000 questions, on every save. A stem at least
    90% like this one shares most of its three-character pieces, so the candidates are the
    questions whose search text holds one of STEM_PIECES pieces spread over the stem
    (PostgreSQL answers that from the search text's trigram index), and exact duplicates."""
    pieces = _stem_pieces(draft.stem)
    matches = [Question.search_text.contains(piece, autoescape=True) for piece in pieces]
    candidates = bank_items(exclude_id, or_(Question.fingerprint == fingerprint(draft), *matches))
    return find_similar([Item(draft)], candidates, include_exact=True)


def _stem_pieces(stem: str) -> list[str]:
    """Three-character runs of the stem's search form with no space or punctuation in them,
    evenly spread."""
    text = search_key(stem)
    pieces = [text[i : i + 3] for i in range(len(text) - 2) if len(squash(text[i : i + 3])) == 3]
    if len(pieces) <= STEM_PIECES:
        return pieces
    step = len(pieces) / STEM_PIECES
    return [pieces[int(n * step)] for n in range(STEM_PIECES)]
