"""Totalling papers and choosing the attempt that counts: pure functions, no Flask, no
database. Grading one response is the question type's (question_bank.types.grade).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

CENT = Decimal("0.01")
FAIL_LABEL = "不合格"


class AttemptRule(StrEnum):
    """Which submitted attempt counts for an exam taken more than once."""

    BEST = "best"
    LAST = "last"
    FIRST = "first"


@dataclass(frozen=True)
class Result:
    score: Decimal
    max_score: Decimal
    passed: bool
    grade_label: str


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
    A score may be None (awaiting marks).
    """
    rule = AttemptRule(rule)
    if not scores:
        return None
    if rule is AttemptRule.FIRST:
        return min(number for number, _ in scores)
    if rule is AttemptRule.LAST:
        return max(number for number, _ in scores)
    # An attempt awaiting marks (no score yet) counts only when none has a score.
    return min(scores, key=lambda attempt: (attempt[1] is None, -(attempt[1] or 0), attempt[0]))[0]


def written_score(marks: dict[int, Decimal], double: bool, gap: Decimal | None) -> Decimal | None:
    """The points a written answer earns from its standing marks by round (1, 2, 3), or
    None while it needs another mark.

    One marker: their mark. Two: the mean of both (rounded half up to a cent) when they
    differ by at most `gap` points (no gap: always), else the third marker's mark."""
    first = marks.get(1)
    if first is None:
        return None
    if not double:
        return first
    second = marks.get(2)
    if second is None:
        return None
    if gap is None or abs(first - second) <= gap:
        return ((first + second) / 2).quantize(CENT, ROUND_HALF_UP)
    return marks.get(3)


def round_needed(marks: dict[int, Decimal], double: bool, gap: Decimal | None) -> int | None:
    """Which round of marking a written answer waits for (None: it is settled)."""
    if written_score(marks, double, gap) is not None:
        return None
    if 1 not in marks:
        return 1
    return 2 if 2 not in marks else 3
