"""What a candidate sees: the exams assigned to them and where they stand, the paper
without its key, and results as the exam's review policy allows.

Functions may submit an expired attempt (with what was saved); the request commits.
"""

import enum
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from core import clock
from core.extensions import db
from question_bank import queries, types
from question_bank.types import LETTERS
from training import scoring
from training.exams import attempts
from training.exams.models import (
    CASE_SECTION,
    CASE_SECTION_LABEL,
    Attempt,
    AttemptStatus,
    Batch,
    BatchMember,
    Blueprint,
    Exam,
    ExamKind,
    ExamStatus,
    PaperItem,
    ReviewPolicy,
)
from training.models import User


class ExamState(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    OPEN = "open"
    UPCOMING = "upcoming"
    SUBMITTED = "submitted"
    ENDED = "ended"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    ExamState.IN_PROGRESS: "进行中",
    ExamState.OPEN: "可参加",
    ExamState.UPCOMING: "未开始",
    ExamState.SUBMITTED: "已交卷",
    ExamState.ENDED: "已结束",
}
STATE_ORDER = list(ExamState)


@dataclass
class Assigned:
    """One exam on the candidate's list."""

    exam: Exam
    state: ExamState
    #: the batch that matters now: open, next, or the last one
    batch: Batch | None
    #: the attempt in progress (进行中)
    attempt: Attempt | None = None
    #: the submitted attempt that counts (best, last or first, as the exam says)
    counted: Attempt | None = None
    #: a later batch on the roster where a 补考 may be taken
    retake_batch: Batch | None = None
    #: why the candidate cannot start now, when that is the case
    note: str = ""

    @property
    def shows_score(self) -> bool:
        return self.exam.shows_score

    @property
    def startable(self) -> bool:
        return self.state in (ExamState.OPEN, ExamState.IN_PROGRESS)


def _roster_batches(user: User, exam_id: int | None = None) -> dict[Exam, list[Batch]]:
    stmt = (
        select(Exam, Batch)
        .join(Batch, Batch.exam_id == Exam.id)
        .join(BatchMember, BatchMember.batch_id == Batch.id)
        .where(BatchMember.user_id == user.id)
        .where(Exam.status.in_([ExamStatus.PUBLISHED.value, ExamStatus.CLOSED.value]))
        .order_by(Batch.opens_at, Batch.id)
    )
    if exam_id is not None:
        stmt = stmt.where(Exam.id == exam_id)
    batches: dict[Exam, list[Batch]] = {}
    for exam, batch in db.session.execute(stmt):
        batches.setdefault(exam, []).append(batch)
    return batches


def assigned_exams(user: User, now: datetime, grace: timedelta) -> list[Assigned]:
    """Every exam whose roster holds the candidate, open and in-progress ones first."""
    found = [
        exam_standing(user, exam, batches, now, grace)
        for exam, batches in _roster_batches(user).items()
    ]
    found.sort(
        key=lambda entry: (
            STATE_ORDER.index(entry.state),
            entry.batch.opens_at if entry.batch else entry.exam.opens_at,
        )
    )
    return found


def assigned_exam(user: User, exam_id: int, now: datetime, grace: timedelta) -> Assigned | None:
    """The candidate's standing in one exam; None if they are on none of its rosters."""
    for exam, batches in _roster_batches(user, exam_id).items():
        return exam_standing(user, exam, batches, now, grace)
    return None


def open_exam_count(user: User, now: datetime, grace: timedelta) -> int:
    """Exams the candidate can start or continue now."""
    return sum(entry.startable for entry in assigned_exams(user, now, grace))


def counted_attempt(exam: Exam, submitted: list[Attempt]) -> Attempt | None:
    number = scoring.counted_attempt(
        [(attempt.number, attempt.score) for attempt in submitted], exam.counting
    )
    return next((attempt for attempt in submitted if attempt.number == number), None)


def exam_standing(
    user: User, exam: Exam, batches: list[Batch], now: datetime, grace: timedelta
) -> Assigned:
    tried = attempts.attempts_at(user.id, exam.id)
    current = next((a for a in tried if a.status == AttemptStatus.IN_PROGRESS.value), None)
    if current is not None and attempts.finalize_if_expired(current, now, grace):
        current = None
    submitted = [a for a in tried if a.status == AttemptStatus.SUBMITTED.value]
    counted = counted_attempt(exam, submitted)
    open_batch = next((b for b in batches if b.opens_at <= now < b.closes_at), None)
    later = next((b for b in batches if b.opens_at > now), None)
    entry = Assigned(exam, ExamState.ENDED, open_batch or later or batches[-1], counted=counted)
    if current is not None:
        entry.state, entry.attempt, entry.batch = ExamState.IN_PROGRESS, current, current.batch
        return entry
    member = attempts.open_batch(user, exam, now, submitted)
    problem = attempts.why_cannot_start(user, exam, member, submitted)
    if problem is None:
        entry.state, entry.batch = ExamState.OPEN, member.batch
        return entry
    entry.note = problem
    published = exam.status == ExamStatus.PUBLISHED.value
    if submitted:
        entry.state = ExamState.SUBMITTED
        passed = any(attempt.passed for attempt in submitted)
        may_retake = len(submitted) < exam.attempts_allowed and (
            exam.retake_after_pass or not passed
        )
        if published and may_retake and later is not None:
            entry.retake_batch = later
    elif published and later is not None:
        entry.state, entry.batch = ExamState.UPCOMING, later
    return entry


@dataclass(frozen=True)
class Waiting:
    """候考: the batch the candidate waits for, the seconds until it opens, and over how
    many seconds after that the page may spread the starts."""

    batch: Batch
    seconds: int
    spread: int


def waiting_for(
    entry: Assigned, now: datetime, waiting_room: timedelta, most_spread: int = 0
) -> Waiting | None:
    """The candidate's next batch (a first sitting or a 补考) when it opens within
    `waiting_room`: the exam's page then counts down and opens the paper at the start.

    Starts are spread over at most `most_spread` seconds, and only over the time the batch
    leaves beyond the time limit: a candidate started late in a batch exactly as long as
    the exam would lose those seconds at its close."""
    if entry.state == ExamState.UPCOMING:
        batch = entry.batch
    elif entry.state == ExamState.SUBMITTED:
        batch = entry.retake_batch
    else:
        return None
    wait = batch.opens_at - now if batch is not None else timedelta(0)
    if not timedelta(0) < wait <= waiting_room:
        return None
    exam = entry.exam
    window = min(batch.closes_at, exam.closes_at) - batch.opens_at
    slack = window - timedelta(minutes=exam.time_limit_minutes)
    spread = max(0, min(most_spread, int(slack.total_seconds())))
    return Waiting(batch, math.ceil(wait.total_seconds()), spread)


# --- the paper, without its key -----------------------------------------------------


@dataclass(frozen=True)
class PaperPart:
    """All the questions of one type on a paper, however many sections draw them."""

    label: str
    count: int
    #: points per question; None when the type's sections give different points
    points: Decimal | None
    total: Decimal


def paper_outline(blueprint: Blueprint) -> list[PaperPart]:
    """The paper by question type in the registry's order, cases last: 单选 26 题，每题 2
    分；… 案例分析 2 题（每题一个案例），每题 10 分"""
    parts = []
    labels = {type_id: kind.label for type_id, kind in types.TYPES.items()}
    for type_id, label in (labels | {CASE_SECTION: CASE_SECTION_LABEL}).items():
        sections = [s for s in blueprint.sections if s.question_type == type_id]
        if not sections:
            continue
        points = {section.points for section in sections}
        parts.append(
            PaperPart(
                label=label,
                count=sum(section.count for section in sections),
                points=points.pop() if len(points) == 1 else None,
                total=sum((section.count * section.points for section in sections), Decimal(0)),
            )
        )
    return parts


def remaining_seconds(deadline: datetime, now: datetime) -> int:
    return max(0, int((deadline - now).total_seconds()))


def item_payload(item) -> dict:
    """What the browser needs to show one question, and nothing that tells the key: the
    choices carry their original index as value, in this candidate's order. `item` is a
    row of attempts.paper_to_show."""
    kind = types.of(item.type)
    return {
        "item_id": item.id,
        "position": item.position,
        "type": item.type,
        "type_label": kind.label,
        "stem": item.stem,
        "points": float(item.points),
        "case": item.case_version_id,
        **kind.paper(item, item.choice_order),
    }


def material_payload(version) -> dict:
    """A case's material as the exam page shows it above its sub-questions."""
    return {"title": version.title, "material": version.material, "table": version.table}


def paper_payload(attempt: Attempt, now: datetime) -> dict:
    responses = attempts.responses_of(attempt)
    items = attempts.paper_to_show(attempt.id)
    materials = queries.case_versions(
        item.case_version_id for item in items if item.case_version_id
    )
    return {
        "attempt_id": attempt.id,
        "title": attempt.exam.title,
        "server_now": clock.epoch_ms(now),
        "deadline": clock.epoch_ms(attempt.deadline_at),
        "remaining_seconds": remaining_seconds(attempt.deadline_at, now),
        "status": attempt.status,
        "items": [item_payload(item) for item in items],
        "cases": {str(key): material_payload(version) for key, version in materials.items()},
        "responses": {
            str(item_id): {"answer": response.answer, "seq": response.seq}
            for item_id, response in responses.items()
        },
        "flags": attempt.flags,
    }


# --- results ------------------------------------------------------------------------


@dataclass
class ReviewChoice:
    letter: str
    text: str
    chosen: bool
    correct: bool


@dataclass
class ReviewItem:
    position: int
    type_label: str
    stem: str
    points: Decimal
    earned: Decimal | None
    choices: list[ReviewChoice] = field(default_factory=list)
    #: fill_blank: what the candidate wrote, and the accepted answers per blank
    given: list[str] = field(default_factory=list)
    accepted: list[list[str]] = field(default_factory=list)
    explanation: str = ""
    #: the case material to show above this item: set on a case's first sub-question
    material: object = None
    #: 简答/论述: the model answer and the marking points [[text, points], ...]
    written: bool = False
    model_answer: str = ""
    marking_points: list = field(default_factory=list)


@dataclass
class Review:
    attempt: Attempt
    shows_score: bool
    shows_answers: bool
    #: when answers will be shown, if the policy shows them later
    answers_from: datetime | None
    oath_eligible: bool
    items: list[ReviewItem]


def answers_visible(exam: Exam, now: datetime, grace: timedelta) -> bool:
    """Keys and explanations only after the exam closes and nobody can still write it
    (an extension can run past the close)."""
    if exam.review_policy != ReviewPolicy.ANSWERS_AFTER_CLOSE.value or now < exam.closes_at:
        return False
    still_writing = db.session.scalar(
        select(Attempt.id)
        .where(Attempt.exam_id == exam.id, Attempt.status == AttemptStatus.IN_PROGRESS.value)
        .where(Attempt.deadline_at >= now - grace)
        .limit(1)
    )
    return still_writing is None


def review(attempt: Attempt, now: datetime, grace: timedelta) -> Review:
    """What the result page may show of a submitted attempt."""
    exam = attempt.exam
    shows_score = exam.shows_score
    # Nothing of the key (model answers, marking points) while marks are awaited.
    shows_answers = answers_visible(exam, now, grace) and not attempt.awaiting_marks
    items = []
    if shows_answers:
        responses = attempts.responses_of(attempt)
        paper = attempts.paper_items(attempt)
        items = [_review_item(item, responses.get(item.id)) for item in paper]
        _add_materials(paper, items)
    return Review(
        attempt=attempt,
        shows_score=shows_score,
        shows_answers=shows_answers,
        answers_from=(
            exam.closes_at
            if exam.review_policy == ReviewPolicy.ANSWERS_AFTER_CLOSE.value and not shows_answers
            else None
        ),
        oath_eligible=(
            shows_score and bool(attempt.passed) and exam.kind == ExamKind.PRE_APPOINTMENT.value
        ),
        items=items,
    )


def _add_materials(paper: list[PaperItem], items: list[ReviewItem]) -> None:
    """Each case's material on the first of its sub-questions (they follow one another)."""
    materials = queries.case_versions(
        item.case_version_id for item in paper if item.case_version_id
    )
    previous = None
    for item, entry in zip(paper, items, strict=True):
        if item.case_version_id and item.case_version_id != previous:
            entry.material = materials[item.case_version_id]
        previous = item.case_version_id


def _review_item(item: PaperItem, response) -> ReviewItem:
    version = item.question_version
    kind = types.of(version.type)
    answer = response.answer if response is not None else []
    entry = ReviewItem(
        position=item.position,
        type_label=kind.label,
        stem=version.stem,
        points=item.points,
        earned=item.earned,
        explanation=version.explanation,
    )
    if kind.marked:
        entry.written = True
        entry.given = [text for text in answer if isinstance(text, str)][:1]
        entry.model_answer = version.model_answer
        entry.marking_points = [list(point) for point in version.marking_points]
    elif kind.input == "text":
        entry.given = [text if isinstance(text, str) else "" for text in answer]
        entry.accepted = [list(blank) for blank in version.blanks]
    else:
        chosen = set(answer)
        entry.choices = [
            ReviewChoice(
                LETTERS[shown], version.choices[index], index in chosen, index in version.answer
            )
            for shown, index in enumerate(item.choice_order)
        ]
    return entry
