"""A learner's own progress: mastery per law from their FSRS memory states, due reviews,
the notebook, completed modules and hours, and a readiness estimate for the
enforcement-certificate exam from recent practice. Seen by the learner alone.

Readiness, exactly as the page states it: take the person's practice answers of the last
READINESS_DAYS days, keep the latest answer to each question (so a question answered ten
times counts once, as it would on a paper), at most READINESS_QUESTIONS of them, newest
first. The share answered right, p, estimates the share of bank questions they would get
right on a paper; times the mock's full marks (the deployment's format) it is the expected
mock score. Its 95% Wilson score interval [low, high] says how sure that is. Verdict: low ≥
pass mark / full marks → likely to pass; high < it → not yet; otherwise too close to call;
fewer than READINESS_MINIMUM
questions → not enough practice to say. It cannot know that the person chose easy
questions, nor how the real paper's parts weigh laws, and it treats answers as independent.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from fsrs import State
from sqlalchemy import DateTime, Integer, and_, bindparam, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from core.extensions import db
from question_bank import queries
from training.study import learning, memory, mock, notebook, practice
from training.study.models import MemoryCard

READINESS_DAYS = 60
READINESS_QUESTIONS = 300
READINESS_MINIMUM = 30
Z95 = 1.959964


@dataclass(frozen=True)
class Readiness:
    questions: int
    right: int
    #: the mock's full marks and pass mark (the deployment's format)
    total: Decimal = Decimal(100)
    pass_mark: Decimal = Decimal(60)
    #: None when there is too little practice to say
    share: float | None = None
    low: float | None = None
    high: float | None = None
    verdict: str = "insufficient"

    @property
    def verdict_label(self) -> str:
        return {
            "insufficient": "练习还太少，无法估计",
            "likely": "按目前水平，较有把握通过",
            "unlikely": "按目前水平，尚难通过",
            "uncertain": "接近合格线，尚不确定",
        }[self.verdict]

    def score(self, value: float | None) -> str:
        return "—" if value is None else f"{value * float(self.total):.0f}"


def wilson(right: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion."""
    if total == 0:
        return 0.0, 1.0
    p = right / total
    centre = p + z * z / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    denominator = 1 + z * z / total
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


def readiness(
    outcomes: list[bool], total: Decimal = Decimal(100), pass_mark: Decimal = Decimal(60)
) -> Readiness:
    """The estimate from one answer per question (True: right), against a mock of `total`
    points passed at `pass_mark`."""
    pass_fraction = float(pass_mark / total)
    answered, right = len(outcomes), sum(outcomes)
    if answered < READINESS_MINIMUM:
        return Readiness(answered, right, total, pass_mark)
    low, high = wilson(right, answered)
    if low >= pass_fraction:
        verdict = "likely"
    elif high < pass_fraction:
        verdict = "unlikely"
    else:
        verdict = "uncertain"
    return Readiness(answered, right, total, pass_mark, right / answered, low, high, verdict)


def recent_outcomes(user_id: int, now: datetime) -> list[bool]:
    """The latest practice answer to each question in the window, newest first: each
    card's last review (one card per person and question, so the question breaks ties;
    on PostgreSQL all of it is in the index of the person's cards)."""
    return list(
        db.session.scalars(
            select(MemoryCard.last_correct)
            .where(MemoryCard.user_id == user_id, MemoryCard.last_correct.is_not(None))
            .where(MemoryCard.last_review >= now - timedelta(days=READINESS_DAYS))
            .order_by(MemoryCard.last_review.desc(), MemoryCard.question_id.desc())
            .limit(READINESS_QUESTIONS)
        )
    )


@dataclass
class LawMastery:
    law_id: int
    name: str
    questions: int
    practised: int
    mastered: int

    @property
    def share(self) -> float:
        return self.mastered / self.questions if self.questions else 0.0


@dataclass
class Progress:
    retention: float
    laws: list[LawMastery]
    due: int
    mistakes: int
    record: learning.StudyRecord
    readiness: Readiness
    cards: int
    mocks: list = field(default_factory=list)


class whole_days_since(FunctionElement):
    """SQL: the whole days from a stored time to `now` (a bound value), as the library
    counts them: floor((now − then) / 1 day)."""

    type = Integer()
    inherit_cache = True


@compiles(whole_days_since, "postgresql")
def _whole_days_postgresql(element, compiler, **kw):
    then, now = list(element.clauses)
    # date_part, not extract: extract gives numeric, several times slower over a person's
    # thousands of cards than date_part's double precision.
    return (
        f"floor(date_part('epoch', {compiler.process(now, **kw)} - "
        f"{compiler.process(then, **kw)}) / 86400)"
    )


@compiles(whole_days_since, "sqlite")
def _whole_days_sqlite(element, compiler, **kw):
    then, now = list(element.clauses)
    # Never negative here (a review is never after now), so truncation is floor.
    return (
        f"CAST(julianday({compiler.process(now, **kw)}) - "
        f"julianday({compiler.process(then, **kw)}) AS INTEGER)"
    )


@dataclass(frozen=True)
class CardCounts:
    #: law id → (its questions in use, those the person has practised, of those the ones
    #: learnt and recalled today)
    laws: dict[int, tuple[int, int, int]]
    cards: int
    due: int


def card_counts(user_id: int, now: datetime, retention: float) -> CardCounts:
    """One statement: the bank's questions in use per law (from the partial index of the
    practised questions) beside the person's cards (on PostgreSQL from the index of their
    cards alone, ix_practice_cards_user_due), full-joined: per law how many questions it
    has, how many of them the person has practised and how many of those are learnt (FSRS
    state Review) and recalled today with at least `retention` probability; and all their
    cards, and those due today. Cards of questions retired since, or citing no law, fall in
    the group of no law: they count as cards (and as due), towards no law.

    A card still being learnt (or relearnt after a wrong answer) is not mastered, whatever
    its retrievability on the day (the library counts whole days, so any card answered
    today has retrievability 1). Recalled today: whole days since the review within
    recall_days(stability), the library's formula solved for the days."""
    laws = queries.question_laws()
    table = MemoryCard.__table__
    cards = (
        select(
            table.c.question_id,
            table.c.state,
            table.c.stability,
            table.c.last_review,
            table.c.due,
        )
        .where(table.c.user_id == user_id)
        .subquery()
    )
    within = memory.recall_days(1.0, retention)  # days per unit of stability
    recalled = and_(
        laws.c.question_id.is_not(None),
        cards.c.state == State.Review.value,
        cards.c.stability > 0,
        whole_days_since(cards.c.last_review, bindparam("now", now, type_=DateTime()))
        <= cards.c.stability * within,
    )
    practised = and_(laws.c.question_id.is_not(None), cards.c.question_id.is_not(None))
    due_today = cards.c.due < practice.end_of_today(now)
    rows = db.session.execute(
        select(
            laws.c.law_id,
            func.count(laws.c.question_id),
            func.sum(case((practised, 1), else_=0)),
            func.sum(case((recalled, 1), else_=0)),
            func.count(cards.c.question_id),
            func.sum(case((due_today, 1), else_=0)),
        )
        .select_from(laws.join(cards, laws.c.question_id == cards.c.question_id, full=True))
        .group_by(laws.c.law_id)
    ).all()
    return CardCounts(
        laws={row[0]: (row[1], int(row[2]), int(row[3])) for row in rows if row[0]},
        cards=sum(row[4] for row in rows),
        due=sum(int(row[5]) for row in rows),
    )


def mastery(user_id: int, now: datetime, retention: float, counts=None) -> list[LawMastery]:
    """Per law with questions in use: its questions, how many of them the person has
    practised and how many they have mastered (card_counts)."""
    mine = (counts or card_counts(user_id, now, retention)).laws
    return [LawMastery(law.id, law.name, *mine[law.id]) for law in queries.laws() if law.id in mine]


def progress(user_id: int, now: datetime, fmt: mock.MockFormat) -> Progress:
    """The page's figures."""
    retention = practice.settings(user_id).desired_retention
    counts = card_counts(user_id, now, retention)
    return Progress(
        retention=retention,
        laws=mastery(user_id, now, retention, counts),
        due=counts.due,
        mistakes=notebook.count(user_id, now),
        record=learning.study_record(user_id),
        readiness=readiness(recent_outcomes(user_id, now), fmt.total, fmt.pass_mark),
        cards=counts.cards,
        mocks=mock.my_mocks(user_id, limit=5),
    )
