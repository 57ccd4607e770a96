"""Grading answers and totalling papers: pure functions, no Flask, no database.

A question type maps to a grader in `GRADERS`; each grader turns a candidate's response
into the fraction of the question's points earned. `grade` scales and rounds that once,
so a question's points are never lost to per-blank or per-choice rounding.
"""

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction

CENT = Decimal("0.01")
FAIL_LABEL = "不合格"
# Dropped from the end of a fill-in answer: a candidate who ends "15日" with a full stop
# still means "15日". ． and ｡ become . and 。 under NFKC before this applies.
TRAILING_PUNCTUATION = "。.;；"


class MultiplePolicy(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"
    PARTIAL = "partial"  # 少选得部分分、错选不得分


class AttemptRule(StrEnum):
    """Which submitted attempt counts for an exam taken more than once."""

    BEST = "best"
    LAST = "last"
    FIRST = "first"


@dataclass(frozen=True)
class Key:
    """What grading needs of a frozen question version."""

    type: str  # "single" | "multiple" | "true_false" | "fill_blank"
    answer: tuple[int, ...] = ()  # correct choice indices, in the original choice order
    blanks: tuple[tuple[str, ...], ...] = ()  # fill_blank: accepted answers per blank

    def __post_init__(self) -> None:
        # A bad key is a programming or data error: fail when it is built, not while a
        # candidate's paper is being marked.
        if self.type not in GRADERS:
            raise ValueError(f"unknown question type {self.type!r}")
        if self.type == "fill_blank":
            if not self.blanks or not all(self.blanks):
                raise ValueError("a fill_blank key needs at least one accepted answer per blank")
        elif not self.answer or not all(_is_index(i) for i in self.answer):
            raise ValueError(f"a {self.type} key needs non-negative choice indices")
        elif self.type in ("single", "true_false") and len(set(self.answer)) != 1:
            raise ValueError(f"a {self.type} key has exactly one correct choice")


@dataclass(frozen=True)
class Result:
    score: Decimal
    max_score: Decimal
    passed: bool
    grade_label: str


def _is_index(value: object) -> bool:
    # bool is an int subclass: True must not pass for choice 1.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _chosen(response: object) -> frozenset[int] | None:
    """The set of chosen indices; None when the response is malformed."""
    if response is None:
        return frozenset()
    if not isinstance(response, list | tuple) or not all(_is_index(i) for i in response):
        return None
    return frozenset(response)


def _grade_exact(key: Key, response: object, policy: MultiplePolicy) -> Fraction:
    chosen = _chosen(response)
    return Fraction(1) if chosen == frozenset(key.answer) else Fraction(0)


def _grade_multiple(key: Key, response: object, policy: MultiplePolicy) -> Fraction:
    chosen = _chosen(response)
    correct = frozenset(key.answer)
    if not chosen:  # unanswered or malformed
        return Fraction(0)
    if chosen == correct:
        return Fraction(1)
    if policy is MultiplePolicy.PARTIAL and chosen < correct:
        return Fraction(len(chosen), len(correct))
    return Fraction(0)  # a wrong choice, or a subset under all-or-nothing


def _grade_fill_blank(key: Key, response: object, policy: MultiplePolicy) -> Fraction:
    if response is None:
        return Fraction(0)
    if not isinstance(response, list | tuple) or len(response) > len(key.blanks):
        return Fraction(0)
    if not all(isinstance(text, str) for text in response):
        return Fraction(0)
    # A response shorter than the key leaves the last blanks unanswered.
    right = sum(
        _blank_matches(text, accepted) for text, accepted in zip(response, key.blanks, strict=False)
    )
    return Fraction(right, len(key.blanks))


def _blank_matches(text: str, accepted: tuple[str, ...]) -> bool:
    given = normalise_blank(text)
    # An empty blank never matches, even if an alternative normalises to nothing.
    return bool(given) and any(given == normalise_blank(a) for a in accepted)


Grader = Callable[[Key, object, MultiplePolicy], Fraction]

GRADERS: dict[str, Grader] = {
    "single": _grade_exact,
    "multiple": _grade_multiple,
    "true_false": _grade_exact,
    "fill_blank": _grade_fill_blank,
}


def grade(key: Key, response: object, points: Decimal, policy: MultiplePolicy) -> Decimal:
    """Points earned for one response, rounded half up to 2 places.

    Choice types take a list of original choice indices, fill_blank a list of strings, one
    per blank; None or [] is unanswered. A malformed response earns 0 and never raises.
    """
    try:
        grader = GRADERS[key.type]
    except KeyError:
        raise ValueError(f"unknown question type {key.type!r}") from None
    credit = grader(key, response, MultiplePolicy(policy))
    return (points * credit.numerator / credit.denominator).quantize(CENT, ROUND_HALF_UP)


def normalise_blank(text: str) -> str:
    """Fill-in answers compare equal up to width, case, whitespace and a final full stop."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in text if not ch.isspace())
    return text.rstrip(TRAILING_PUNCTUATION)


def total(
    earned: Iterable[Decimal],
    max_score: Decimal,
    pass_mark: Decimal,
    bands: Sequence[tuple[Decimal, str]],
) -> Result:
    """Sum a paper. pass_mark and band thresholds are points on the paper's own scale;
    the label is that of the highest threshold reached, else 不合格."""
    score = sum(earned, Decimal(0)).quantize(CENT, ROUND_HALF_UP)
    reached = [(threshold, label) for threshold, label in bands if score >= threshold]
    label = max(reached, key=lambda band: band[0])[1] if reached else FAIL_LABEL
    return Result(
        score=score,
        max_score=max_score.quantize(CENT, ROUND_HALF_UP),
        passed=score >= pass_mark,
        grade_label=label,
    )


def counted_attempt(scores: Sequence[tuple[int, Decimal]], rule: str) -> int | None:
    """The number of the submitted attempt that counts under rule best, last or first.

    best: highest score, the earliest attempt on a tie. None when nothing was submitted.
    """
    rule = AttemptRule(rule)
    if not scores:
        return None
    if rule is AttemptRule.FIRST:
        return min(number for number, _ in scores)
    if rule is AttemptRule.LAST:
        return max(number for number, _ in scores)
    return min(scores, key=lambda attempt: (-attempt[1], attempt[0]))[0]
