"""Keeping exam_summaries right, in the transaction of each change: a submit (the
exam-day path: one upsert for a first attempt), a retake, a regrade, a reopened attempt,
roster changes; and rebuilding them all from the attempts (`flask reports
rebuild-summaries`).

A person's contribution is their Outcome: the counted attempt's batch and result under
their unit and leader flag. A change computes the outcome before and after and moves the
difference; each counter only ever moves by an increment in SQL, so concurrent changes
to the same row add up."""

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Integer, and_, bindparam, case, delete, func, insert, select
from sqlalchemy.orm import Session

from core import upserts
from core.extensions import db
from training import scoring
from training.exams.models import Attempt, AttemptStatus, Batch, BatchMember, Exam
from training.models import User
from training.reports.models import BUCKET_COLUMNS, BUCKETS, COUNTERS, ExamSummary

#: 优秀: at least this share of full marks
EXCELLENT = Decimal("0.9")


@dataclass(frozen=True)
class Outcome:
    """What one person adds to the summaries of an exam."""

    batch_id: int
    unit_id: int
    is_leader: bool
    passed: bool
    #: counted score as a percentage of full marks
    percent: Decimal
    #: attempts submitted, retakes included
    attempts: int = 1

    @property
    def key(self) -> tuple[int, int, bool]:
        return (self.batch_id, self.unit_id, self.is_leader)

    @property
    def bucket(self) -> int:
        return min(BUCKETS - 1, int(self.percent // 10))

    @property
    def excellent(self) -> bool:
        return self.percent >= EXCELLENT * 100

    def counters(self, sign: int) -> dict[str, object]:
        return {
            "took": sign,
            "passed": sign * self.passed,
            "excellent": sign * self.excellent,
            "percent_sum": sign * self.percent,
            "attempts": sign * self.attempts,
            f"b{self.bucket}": sign,
        }


def percent_of(score: Decimal | None, max_score: Decimal) -> Decimal:
    if not max_score:
        return Decimal(0)
    return (Decimal(score or 0) * 100 / max_score).quantize(Decimal("0.01"), ROUND_HALF_UP)


@functools.cache
def _upsert_statement(dialect_name: str):
    """INSERT one row of increments, or add them to the row already there."""
    table = ExamSummary.__table__
    values = {name: bindparam(name) for name in ["exam_id", "batch_id", "unit_id", "is_leader"]}
    values |= {name: bindparam(name) for name in COUNTERS}
    stmt = upserts.insert(table, dialect_name).values(values)
    return stmt.on_conflict_do_update(
        index_elements=["exam_id", "batch_id", "unit_id", "is_leader"],
        set_={name: table.c[name] + stmt.excluded[name] for name in COUNTERS},
    )


@functools.cache
def _first_attempt_statement(dialect_name: str):
    """The upsert of a first attempt: its increments under the unit and leader flag of the
    candidate, read in the same statement."""
    table = ExamSummary.__table__
    row = select(
        bindparam("exam_id", type_=table.c.exam_id.type),
        bindparam("batch_id", type_=table.c.batch_id.type),
        User.unit_id,
        User.is_leader,
        *[bindparam(name, type_=table.c[name].type) for name in COUNTERS],
    ).where(User.id == bindparam("user_id"))
    stmt = upserts.insert(table, dialect_name).from_select(
        ["exam_id", "batch_id", "unit_id", "is_leader", *COUNTERS], row
    )
    return stmt.on_conflict_do_update(
        index_elements=["exam_id", "batch_id", "unit_id", "is_leader"],
        set_={name: table.c[name] + stmt.excluded[name] for name in COUNTERS},
    )


def bump(exam_id: int, key: tuple[int, int, bool], changes: dict[str, object]) -> None:
    """Add `changes` (counter -> increment, negative to take away) to one summary row."""
    if not any(changes.values()):
        return
    batch_id, unit_id, is_leader = key
    params = dict.fromkeys(COUNTERS, 0) | changes
    params |= {"exam_id": exam_id, "batch_id": batch_id, "unit_id": unit_id}
    params["is_leader"] = is_leader
    db.session.execute(_upsert_statement(db.engine.dialect.name), params)


def move(exam_id: int, before: Outcome | None, after: Outcome | None) -> None:
    """Replace a person's contribution `before` with `after`."""
    if before == after:
        return
    changes: dict[tuple, Counter] = defaultdict(Counter)
    if before is not None:
        changes[before.key].update(before.counters(-1))
    if after is not None:
        changes[after.key].update(after.counters(+1))
    for key, counters in changes.items():
        bump(exam_id, key, dict(counters))


def outcomes(
    exam: Exam, user_ids: Iterable[int], excluding: int | None = None
) -> dict[int, Outcome]:
    """Each person's outcome now, from their submitted attempts as flushed (but for the
    attempt `excluding`)."""
    wanted = list(user_ids)
    if not wanted:
        return {}
    stmt = (
        select(
            Attempt.user_id,
            Attempt.number,
            Attempt.score,
            Attempt.max_score,
            Attempt.passed,
            Attempt.batch_id,
            User.unit_id,
            User.is_leader,
        )
        .join(User, User.id == Attempt.user_id)
        .where(Attempt.exam_id == exam.id, Attempt.user_id.in_(wanted))
        .where(Attempt.status == AttemptStatus.SUBMITTED.value)
    )
    if excluding is not None:
        stmt = stmt.where(Attempt.id != excluding)
    rows = db.session.execute(stmt).all()
    by_user = defaultdict(list)
    for row in rows:
        by_user[row.user_id].append(row)
    found = {}
    for user_id, attempts in by_user.items():
        number = scoring.counted_attempt([(a.number, a.score) for a in attempts], exam.counting)
        counted = next(a for a in attempts if a.number == number)
        found[user_id] = Outcome(
            counted.batch_id,
            counted.unit_id,
            counted.is_leader,
            bool(counted.passed),
            percent_of(counted.score, counted.max_score),
            len(attempts),
        )
    return found


def attempt_submitted(attempt: Attempt) -> None:
    """After `attempt` was submitted and scored (in this transaction): the person's
    contribution moves to their new outcome."""
    if attempt.number == 1:
        # The exam-day path: nothing was submitted before a first attempt, so its outcome
        # is all there is; one statement, the unit and leader flag read by it.
        outcome = Outcome(
            0, 0, False, bool(attempt.passed), percent_of(attempt.score, attempt.max_score)
        )
        params = dict.fromkeys(COUNTERS, 0) | outcome.counters(+1)
        params |= {
            "exam_id": attempt.exam_id,
            "batch_id": attempt.batch_id,
            "user_id": attempt.user_id,
        }
        db.session.execute(_first_attempt_statement(db.engine.dialect.name), params)
        return
    before = outcomes(attempt.exam, [attempt.user_id], excluding=attempt.id).get(attempt.user_id)
    move(attempt.exam_id, before, outcomes(attempt.exam, [attempt.user_id])[attempt.user_id])


def attempt_reopened(attempt: Attempt, before: Outcome | None) -> None:
    """After a submitted attempt was opened again: its result is withdrawn until it is
    submitted again. `before`: the person's outcome with it."""
    move(attempt.exam_id, before, outcomes(attempt.exam, [attempt.user_id]).get(attempt.user_id))


def regraded(exam: Exam, before: dict[int, Outcome]) -> None:
    """After a regrade re-scored the attempts of the people in `before` (their outcomes
    before it)."""
    after = outcomes(exam, before)
    for user_id, outcome in before.items():
        move(exam.id, outcome, after.get(user_id))


# --- rosters -------------------------------------------------------------------------


def first_batches(exam_id: int, user_ids: Iterable[int]) -> dict[int, int]:
    """Each person's first roster entry for the exam (the batch they count under as
    assigned)."""
    wanted = list(user_ids)
    if not wanted:
        return {}
    rows = db.session.execute(
        select(BatchMember.user_id, func.min(BatchMember.batch_id))
        .join(Batch, Batch.id == BatchMember.batch_id)
        .where(Batch.exam_id == exam_id, BatchMember.user_id.in_(wanted))
        .group_by(BatchMember.user_id)
    )
    return dict(rows.all())


def roster_changed(exam_id: int, users: list[User], before: dict[int, int]) -> None:
    """After people were put on or taken off rosters of the exam: move each one's
    `assigned` from the batch it counted under (`before`, from first_batches) to the one
    it counts under now."""
    after = first_batches(exam_id, [user.id for user in users])
    changes: Counter = Counter()
    for user in users:
        old, new = before.get(user.id), after.get(user.id)
        if old != new:
            if old is not None:
                changes[(old, user.unit_id, user.is_leader)] -= 1
            if new is not None:
                changes[(new, user.unit_id, user.is_leader)] += 1
    for key, count in changes.items():
        bump(exam_id, key, {"assigned": count})


# --- rebuilding ----------------------------------------------------------------------


def rebuild(exam_ids: Iterable[int] | None = None, session: Session | None = None) -> int:
    """Compute the summaries again from rosters and attempts, in SQL (after an upgrade, or
    if people moved between units); returns the number of rows written. `session`: the
    one to write with (a migration's, on its connection); the app's by default."""
    session = session or db.session
    where_exam = [] if exam_ids is None else [Exam.id.in_(list(exam_ids))]
    stmt = delete(ExamSummary)
    if exam_ids is not None:
        stmt = stmt.where(ExamSummary.exam_id.in_(list(exam_ids)))
    session.execute(stmt)
    # The counted attempt first, by the exam's rule (scoring.counted_attempt; best: the
    # earliest attempt on a tie, and one awaiting marks (no score) only when none has a
    # score: NULLs last, said outright, since SQLite sorts them first).
    counted_first = case(
        (Exam.counting == scoring.AttemptRule.FIRST.value, Attempt.number),
        (Exam.counting == scoring.AttemptRule.LAST.value, -Attempt.number),
        else_=-Attempt.score,
    )
    rank = func.row_number().over(
        partition_by=(Attempt.exam_id, Attempt.user_id),
        order_by=[counted_first.nulls_last(), Attempt.number],
    )
    ranked = (
        select(Attempt.exam_id, Attempt.user_id, Attempt.id, rank.label("rank"))
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(Attempt.status == AttemptStatus.SUBMITTED.value, *where_exam)
        .subquery("ranked")
    )
    tries = (
        select(Attempt.exam_id, Attempt.user_id, func.count().label("attempts"))
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(Attempt.status == AttemptStatus.SUBMITTED.value, *where_exam)
        .group_by(Attempt.exam_id, Attempt.user_id)
        .subquery("tries")
    )
    counted = db.aliased(Attempt, name="counted")
    percent = func.round(counted.score * 100 / func.nullif(counted.max_score, 0), 2)
    bucket = func.least if session.get_bind().dialect.name == "postgresql" else func.min
    bucket_of = bucket(func.cast(func.floor(percent / 10), Integer), BUCKETS - 1)
    outcome = (
        select(
            counted.exam_id,
            counted.batch_id,
            User.unit_id,
            User.is_leader,
            func.count().label("took"),
            func.sum(case((counted.passed.is_(True), 1), else_=0)).label("passed"),
            func.sum(case((percent >= EXCELLENT * 100, 1), else_=0)).label("excellent"),
            func.coalesce(func.sum(percent), 0).label("percent_sum"),
            func.sum(tries.c.attempts).label("attempts"),
            *[
                func.sum(case((bucket_of == index, 1), else_=0)).label(name)
                for index, name in enumerate(BUCKET_COLUMNS)
            ],
        )
        .select_from(ranked)
        .join(counted, and_(counted.id == ranked.c.id, ranked.c.rank == 1))
        .join(tries, and_(tries.c.exam_id == counted.exam_id, tries.c.user_id == counted.user_id))
        .join(User, User.id == counted.user_id)
        .group_by(counted.exam_id, counted.batch_id, User.unit_id, User.is_leader)
    )
    first = (
        select(Batch.exam_id, BatchMember.user_id, func.min(Batch.id).label("batch_id"))
        .join(BatchMember, BatchMember.batch_id == Batch.id)
        .join(Exam, Exam.id == Batch.exam_id)
        .where(*where_exam)
        .group_by(Batch.exam_id, BatchMember.user_id)
        .subquery("first")
    )
    assigned = (
        select(first.c.exam_id, first.c.batch_id, User.unit_id, User.is_leader, func.count())
        .join(User, User.id == first.c.user_id)
        .group_by(first.c.exam_id, first.c.batch_id, User.unit_id, User.is_leader)
    )
    rows: dict[tuple, dict] = {}
    for row in session.execute(outcome).mappings():
        key = (row["exam_id"], row["batch_id"], row["unit_id"], row["is_leader"])
        rows[key] = {name: row[name] for name in COUNTERS if name != "assigned"}
    for exam_id, batch_id, unit_id, is_leader, count in session.execute(assigned):
        rows.setdefault((exam_id, batch_id, unit_id, is_leader), {})["assigned"] = count
    if rows:
        session.execute(
            insert(ExamSummary),
            [
                dict.fromkeys(COUNTERS, 0)
                | values
                | dict(zip(["exam_id", "batch_id", "unit_id", "is_leader"], key, strict=True))
                for key, values in rows.items()
            ],
        )
    return len(rows)
