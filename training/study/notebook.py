"""The mistakes notebook (错题本): every wrong answer in practice, in a mock exam, or in an
exam whose review shows the answers lands here (exam answers when the notebook is next
read after the review shows them: collect_exam_mistakes); a question leaves after the person
answers it right `mistake_streak` times in a row (their setting, default 3), or when they
take it out by hand."""

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, bindparam, delete, exists, func, select, update
from sqlalchemy.orm import aliased

from core import upserts
from core.extensions import db
from question_bank import queries
from training.exams import attempts, candidate
from training.exams.models import Attempt, AttemptStatus, Exam, ExamKind, PaperItem, ReviewPolicy
from training.study.models import CollectedAttempt, Mistake, PracticeSettings

DEFAULT_STREAK = 3


def settings(user_id: int) -> PracticeSettings:
    """The person's practice settings (defaults when they never changed them; not added)."""
    found = db.session.get(PracticeSettings, user_id)
    return found or PracticeSettings(user_id=user_id, desired_retention=0.9, mistake_streak=3)


@functools.cache
def _note_statements(dialect_name: str):
    """note()'s statements, built once per database (see practice._answer_statements)."""
    mistakes = Mistake.__table__
    mine = (mistakes.c.user_id == bindparam("uid")) & (mistakes.c.question_id == bindparam("qid"))
    insert = upserts.insert(mistakes, dialect_name)
    wrong = insert.on_conflict_do_update(
        index_elements=["user_id", "question_id"],
        set_={
            "wrong_count": mistakes.c.wrong_count + 1,
            "right_streak": 0,
            "version_id": insert.excluded.version_id,
            "source": insert.excluded.source,
            "last_wrong_at": insert.excluded.last_wrong_at,
        },
    ).returning(mistakes.c.wrong_count)
    right = (
        update(mistakes)
        .where(mine)
        .values(right_streak=mistakes.c.right_streak + 1)
        .returning(mistakes.c.right_streak)
    )
    return wrong, right, delete(mistakes).where(mine)


def note(
    user_id: int,
    question_id: int,
    version_id: int,
    correct: bool,
    source: str,
    now: datetime,
    streak_needed: int,
) -> str:
    """Record one answer against the notebook: "added" (wrong, newly in), "again" (wrong,
    already in), "streak" (right, still in), "left" (right enough times: out) or "".
    Each outcome is one statement that reads and writes the row at once (no lost count
    when two answers meet)."""
    wrong, right, leave = _note_statements(db.engine.dialect.name)
    connection = db.session.connection()
    if not correct:
        count = connection.execute(
            wrong,
            {
                "user_id": user_id,
                "question_id": question_id,
                "version_id": version_id,
                "source": source,
                "wrong_count": 1,
                "right_streak": 0,
                "first_wrong_at": now,
                "last_wrong_at": now,
            },
        ).scalar()
        return outcome(count, None, False)
    mine = {"uid": user_id, "qid": question_id}
    streak = connection.execute(right, mine).scalar()
    if streak is not None and streak >= streak_needed:
        connection.execute(leave, mine)
        return outcome(None, None, True)
    return outcome(None, streak, False)


def outcome(wrong_count: int | None, right_streak: int | None, left: bool) -> str:
    """What an answer did to the notebook (note's answer) from what its writes returned:
    the entry's wrong count after a wrong answer, its streak after a right one, or that
    the right one took it out."""
    if wrong_count is not None:
        return "added" if wrong_count == 1 else "again"
    if left:
        return "left"
    return "streak" if right_streak is not None else ""


def remove(user_id: int, question_id: int) -> bool:
    """Take a question out by hand; False when it was not in the notebook."""
    gone = db.session.execute(
        delete(Mistake).where(Mistake.user_id == user_id, Mistake.question_id == question_id)
    )
    return gone.rowcount > 0


def _reviewable(exam: Exam, now: datetime, grace: timedelta) -> bool:
    """A mock is practice: its mistakes land at once. Any other exam once its review
    shows the answers (the same rule as its result page: after the close, nobody still
    writing, so the paper is back in practice too)."""
    if exam.kind == ExamKind.ENFORCEMENT_MOCK.value:
        return True
    return candidate.answers_visible(exam, now, grace)


def collect_exam_mistakes(user_id: int, now: datetime) -> int:
    """Bring into the notebook the answers of the person's submitted attempts whose review
    has come to show the answers (a mock's at once), each attempt once, in the order they
    were handed in; how many attempts were collected. An attempt still awaiting marks
    waits for them (an unmarked answer is not a wrong one).

    The one place exam answers reach the notebook: every read of the notebook below
    calls it first, so whatever page shows the notebook (home, practice, the notebook,
    progress, the mistakes mode) shows it with every exam whose review is visible now,
    with nothing to run when an exam closes."""
    maybe_visible = (Exam.kind == ExamKind.ENFORCEMENT_MOCK.value) | (
        (Exam.review_policy == ReviewPolicy.ANSWERS_AFTER_CLOSE.value) & (Exam.closes_at <= now)
    )
    pending = db.session.scalars(
        select(Attempt)
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(Attempt.user_id == user_id, Attempt.status == AttemptStatus.SUBMITTED.value)
        .where(~Attempt.awaiting_marks, maybe_visible)
        .where(~exists().where(CollectedAttempt.attempt_id == Attempt.id))
        .order_by(Attempt.submitted_at)
    ).all()
    if not pending:
        return 0
    grace = timedelta(seconds=current_app.config["EXAM_GRACE_SECONDS"])
    streak = settings(user_id).mistake_streak
    collected = 0
    for attempt in pending:
        if not _reviewable(attempt.exam, now, grace) or not _claim(attempt, user_id, now):
            continue
        source = "mock" if attempt.exam.kind == ExamKind.ENFORCEMENT_MOCK.value else "exam"
        for item in attempts.paper_items(attempt):
            right = item.earned is not None and item.earned >= item.points
            note(
                user_id,
                item.question_version.question_id,
                item.question_version_id,
                right,
                source,
                attempt.submitted_at or now,
                streak,
            )
        collected += 1
    return collected


def _claim(attempt: Attempt, user_id: int, now: datetime) -> bool:
    """Mark the attempt collected, unless another request (a second tab, the home page
    and 练习 opened together) just did: then that one notes its answers, this one not
    (the plain insert failed on the key: a 500)."""
    claimed = db.session.execute(
        upserts.insert(CollectedAttempt)
        .values(attempt_id=attempt.id, user_id=user_id, collected_at=now)
        .on_conflict_do_nothing()
        .returning(CollectedAttempt.attempt_id)
    ).first()
    return claimed is not None


#: exams taken for practice: what they drew may be practised as soon as they are handed in
PRACTICE_KINDS = (ExamKind.ENFORCEMENT_MOCK.value, ExamKind.MODULE_QUIZ.value)


def _hidden_attempts(user_id: int, now: datetime):
    """The person's attempts whose papers practice keeps back: open ones, and handed-in
    ones of an exam not yet over (open, or someone still writing it), or a candidate who
    finished first could look up the keys of a paper others are still writing. Once the
    exam is over they come back, whatever its review policy: the bank's other questions
    were never hidden. Mocks and module quizzes come back at once.

    Uncorrelated subqueries, one table each (aliases): the claim's RETURNING keeps no
    joins or correlations."""
    handed_in, writing, own = aliased(Attempt), aliased(Attempt), aliased(Attempt)
    exams_handed_in = select(handed_in.exam_id).where(
        handed_in.user_id == user_id, handed_in.status == AttemptStatus.SUBMITTED.value
    )
    still_written = select(writing.exam_id).where(
        writing.exam_id.in_(exams_handed_in), writing.status == AttemptStatus.IN_PROGRESS.value
    )
    live = select(Exam.id).where(
        Exam.kind.not_in(PRACTICE_KINDS), (Exam.closes_at > now) | Exam.id.in_(still_written)
    )
    return select(own.id).where(
        own.user_id == user_id,
        (own.status == AttemptStatus.IN_PROGRESS.value)
        | ((own.status == AttemptStatus.SUBMITTED.value) & own.exam_id.in_(live)),
    )


def on_open_paper(user_id: int, question_id: int, now: datetime) -> ColumnElement:
    """SQL: whether the question sits on a paper practice keeps back (_hidden_attempts), for
    a claim's RETURNING."""
    return (
        select(PaperItem.id)
        .where(PaperItem.attempt_id.in_(_hidden_attempts(user_id, now)))
        .where(PaperItem.question_version_id.in_(queries.version_ids_of(question_id)))
        .exists()
    )


def open_paper_question_ids(user_id: int, now: datetime) -> set[int]:
    """The questions of the papers practice keeps back from the person (_hidden_attempts)."""
    return set(
        db.session.scalars(
            select(queries.question_of_version(PaperItem.question_version_id)).where(
                PaperItem.attempt_id.in_(_hidden_attempts(user_id, now))
            )
        )
    )


@dataclass
class NotebookEntry:
    mistake: Mistake
    version: object
    #: on an exam paper whose key the person may not see yet: no key shown
    hidden: bool


def entries(user_id: int, now: datetime) -> list[NotebookEntry]:
    """The notebook's entries, newest mistake first (exam answers brought in first)."""
    collect_exam_mistakes(user_id, now)
    mistakes = db.session.scalars(
        select(Mistake).where(Mistake.user_id == user_id).order_by(Mistake.last_wrong_at.desc())
    ).all()
    hidden = open_paper_question_ids(user_id, now) if mistakes else set()
    versions = queries.versions_by_id({m.version_id for m in mistakes})
    return [NotebookEntry(m, versions[m.version_id], m.question_id in hidden) for m in mistakes]


def question_ids(user_id: int, now: datetime) -> list[int]:
    """The notebook's questions (exam answers brought in first)."""
    collect_exam_mistakes(user_id, now)
    return list(db.session.scalars(select(Mistake.question_id).where(Mistake.user_id == user_id)))


def count(user_id: int, now: datetime) -> int:
    """How many questions the notebook holds (exam answers brought in first)."""
    collect_exam_mistakes(user_id, now)
    return db.session.scalar(
        select(func.count()).select_from(Mistake).where(Mistake.user_id == user_id)
    )
