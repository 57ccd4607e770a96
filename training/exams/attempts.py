"""Taking an exam: start (freezing the paper), save answers, submit and score.

The server owns the clock: callers pass `now` from core.clock. Saves carry a sequence
number and the newest wins; a submit scores once however often it arrives.
"""

import functools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Integer,
    and_,
    bindparam,
    exists,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import contains_eager, joinedload

from core import outages, upserts
from core.errors import ServiceError
from core.extensions import db
from core.roles import Role
from question_bank import queries, types
from training import scoring
from training.exams.assembly import draw
from training.exams.models import (
    Attempt,
    AttemptStatus,
    Batch,
    BatchMember,
    Exam,
    ExamStatus,
    Mark,
    PaperItem,
    Points,
    Response,
)
from training.models import User
from training.reports import summaries


class ExamError(ServiceError):
    """The candidate cannot do this now; the message says why, in Chinese."""

    code = "exam_unavailable"


class AnswerRefused(ServiceError):
    """The answer cannot be one for its question (the code says how); nothing is saved."""

    code = "invalid_answer"


# --- starting ----------------------------------------------------------------------


def open_batch(
    user: User, exam: Exam, now: datetime, submitted: list[Attempt]
) -> BatchMember | None:
    """The candidate's roster entry (its batch loaded with it) in a batch of `exam` that is
    open now.

    When several are open (a 补考 batch inside a longer one), one the candidate has not
    yet sat (`submitted`: their submitted attempts at the exam) wins, so a retake is not
    refused because of the batch already taken."""
    members = db.session.scalars(
        select(BatchMember)
        .join(BatchMember.batch)
        .options(contains_eager(BatchMember.batch))
        .where(BatchMember.user_id == user.id, Batch.exam_id == exam.id)
        .where(Batch.opens_at <= now, Batch.closes_at > now)
        .order_by(Batch.opens_at, Batch.id)
    ).all()
    sat = {attempt.batch_id for attempt in submitted}
    members.sort(key=lambda member: member.batch_id in sat)  # stable: earliest first
    return members[0] if members else None


def attempts_at(user_id: int, exam_id: int) -> list[Attempt]:
    """Every attempt of the user at the exam, in order: one read tells the open one, the
    submitted ones and the next number."""
    return list(
        db.session.scalars(
            select(Attempt)
            .where(Attempt.user_id == user_id, Attempt.exam_id == exam_id)
            .order_by(Attempt.number)
        )
    )


def open_attempt(user_id: int, exam_id: int) -> Attempt | None:
    return db.session.scalar(
        select(Attempt).where(
            Attempt.user_id == user_id,
            Attempt.exam_id == exam_id,
            Attempt.status == AttemptStatus.IN_PROGRESS.value,
        )
    )


def writing_any_exam(user_id: int) -> bool:
    """Whether the user has an attempt open (at any exam)."""
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Attempt.user_id == user_id, Attempt.status == AttemptStatus.IN_PROGRESS.value
                )
            )
        )
    )


def is_candidate(user_id: int, exam: Exam) -> bool:
    """On a roster of the exam, or has an attempt at it."""
    on_roster = exists().where(
        BatchMember.user_id == user_id,
        BatchMember.batch_id.in_(select(Batch.id).where(Batch.exam_id == exam.id)),
    )
    attempted = exists().where(Attempt.user_id == user_id, Attempt.exam_id == exam.id)
    return bool(db.session.scalar(select(or_(on_roster, attempted))))


TRAINERS_DO_NOT_SIT = (
    "您有培训出题人员权限，能在题库中看到试题和答案，不能参加考试；"
    "如需参加，请联系安全管理员调整您的角色。"
)


def why_cannot_start(
    user: User, exam: Exam, member: BatchMember | None, submitted: list[Attempt]
) -> str | None:
    if exam.status != ExamStatus.PUBLISHED.value:
        return "考试未发布或已结束。"
    if Role.TRAINER in user.roles:
        # Whoever can read the bank (and its keys) does not sit exams drawn from it.
        return TRAINERS_DO_NOT_SIT
    if member is None:
        return "您不在本考试当前开放场次的名单中，或场次尚未开始/已经结束。"
    done = submitted
    if len(done) >= exam.attempts_allowed:
        return f"本考试最多可参加 {exam.attempts_allowed} 次，您已用完。"
    if exam.one_attempt_per_batch and any(a.batch_id == member.batch_id for a in done):
        return "您已参加过本场次，补考请在后续场次进行。"
    if not exam.retake_after_pass and any(a.passed for a in done):
        return "您已通过本考试，无需再考。"
    return None


# Parsed pools of published exams, per process (parsing a 20,000-question pool on every
# start was two fifths of a start's cost), keyed on the revision that publish and regrade
# bump in the database, so a worker never draws from pools another worker has replaced.
_POOLS: dict[tuple[int, int], list[list[tuple[int, int, int]]]] = {}


def exam_pools(exam: Exam) -> list[list[tuple[int, int, int]]]:
    pools = _POOLS.get((exam.id, exam.pools_revision))
    if pools is None:
        # The revision and the pools in one read, so the copy is filed under its own revision.
        revision, stored = db.session.execute(
            select(Exam.pools_revision, Exam.pools).where(Exam.id == exam.id)
        ).one()
        pools = [[tuple(entry) for entry in pool] for pool in stored]
        if len(_POOLS) >= 64:
            _POOLS.clear()
        _POOLS[(exam.id, revision)] = pools
    return pools


def start_attempt(
    user: User, exam: Exam, now: datetime, rng: random.Random, grace: timedelta = timedelta(0)
) -> Attempt:
    """Resume the open attempt, or start one with a freshly frozen paper.

    An open attempt past its deadline + `grace` is submitted first (the caller commits
    even when ExamError says so)."""
    tried = attempts_at(user.id, exam.id)
    current = next((a for a in tried if a.status == AttemptStatus.IN_PROGRESS.value), None)
    if current is not None:
        if finalize_if_expired(current, now, grace):
            raise ExamError("上一次作答已到时间，已按已保存的答案自动交卷。")
        return current
    submitted = [a for a in tried if a.status == AttemptStatus.SUBMITTED.value]
    member = open_batch(user, exam, now, submitted)
    if problem := why_cannot_start(user, exam, member, submitted):
        raise ExamError(problem)
    batch = member.batch
    # The extension ends with the window, but for the minutes a system admin gave past it.
    window_end = min(batch.closes_at, exam.closes_at)
    within = exam.time_limit_minutes + member.extra_minutes - member.past_close_minutes
    deadline = min(now + timedelta(minutes=within), window_end)
    deadline += timedelta(minutes=member.past_close_minutes)
    paper = draw(exam.blueprint, exam_pools(exam), rng)
    # A conflict means two tabs pressed 开始 at once and the database let the other through
    # (one open attempt per candidate and exam): no savepoint round trips on the way.
    attempt = db.session.scalar(
        upserts.insert(Attempt)
        .values(
            exam_id=exam.id,
            batch_id=batch.id,
            user_id=user.id,
            number=1 + max((a.number for a in tried), default=0),
            status=AttemptStatus.IN_PROGRESS.value,
            started_at=now,
            deadline_at=deadline,
            max_score=sum((item.points for item in paper), Decimal(0)),
        )
        .on_conflict_do_nothing()
        .returning(Attempt)
    )
    if attempt is None:
        existing = open_attempt(user.id, exam.id)
        if existing is None:
            raise ExamError("开始考试未成功，请刷新页面后重试。")
        return existing
    paper_rows = [
        {
            "position": position,
            "version_id": item.version_id,
            "points": str(item.points),
            "choice_order": list(item.choice_order),
            "case_version_id": item.case_version_id,
        }
        for position, item in enumerate(paper, start=1)
    ]
    db.session.connection().execute(
        _paper_insert(db.session.get_bind().dialect.name),
        {"attempt_id": attempt.id, "paper": paper_rows},
    )
    return attempt


@functools.cache
def _paper_insert(dialect_name: str):
    """The paper's items in one statement that unpacks them from one JSON parameter: 60
    rows bound one by one were a fifth of a start's CPU (psycopg dumps each value), and a
    multi-row VALUES list is compiled anew for each paper."""
    rows, fields = upserts.json_rows(
        "paper",
        {
            "position": Integer,
            "version_id": Integer,
            "points": Points,
            "choice_order": JSON,
            "case_version_id": Integer,
        },
        dialect_name,
    )
    return PaperItem.__table__.insert().from_select(
        [
            "attempt_id",
            "position",
            "question_version_id",
            "points",
            "choice_order",
            "case_version_id",
        ],
        select(bindparam("attempt_id", type_=Integer), *fields).select_from(rows),
    )


# --- saving ------------------------------------------------------------------------


@dataclass(frozen=True)
class SaveResult:
    saved: bool  # False: refused — `reason` and `message` say why
    seq: int = 0  # the newest sequence number the server holds for the item
    message: str = ""
    #: the attempt's deadline when the save got through (it moves with extensions)
    deadline: datetime | None = None
    #: why a save was refused: "closed" (submitted or too late), "missing" (no such
    #: attempt of this user) or "bad_item" (the item is not on this paper)
    reason: str = ""


@functools.cache
def _save_statements(dialect_name: str):
    """The claim and the upsert of a save, built once per database with bound parameters
    (building them per request was an eighth of a save's cost)."""
    attempts, items, responses = Attempt.__table__, PaperItem.__table__, Response.__table__
    # The item's question version (NULL when the item is not on this paper), and what an
    # answer to it may be, come back with the claim: checking the answer costs no round
    # trip. Qualified names: SQLAlchemy drops table names in the conditions of a subquery
    # inside RETURNING, where a bare `id` is ambiguous.
    item_version = (
        select(items.c.question_version_id)
        .where(
            literal_column("paper_items.id") == bindparam("claimed_item"),
            literal_column("paper_items.attempt_id") == literal_column("attempts.id"),
        )
        .scalar_subquery()
    )
    claim = (
        update(attempts)
        .where(
            attempts.c.id == bindparam("claimed_attempt"),
            attempts.c.user_id == bindparam("claimed_by"),
            attempts.c.status == AttemptStatus.IN_PROGRESS.value,
            attempts.c.deadline_at >= bindparam("earliest"),
        )
        .values(last_saved_at=bindparam("now"))
        .returning(attempts.c.deadline_at, *queries.answer_shape(item_version))
    )
    row = select(
        bindparam("attempt_id", type_=attempts.c.id.type),
        bindparam("item_id", type_=items.c.id.type),
        bindparam("answer", type_=responses.c.answer.type),
        bindparam("seq", type_=responses.c.seq.type),
        bindparam("now", type_=responses.c.saved_at.type),
    )
    insert = upserts.insert(responses, dialect_name).from_select(
        ["attempt_id", "item_id", "answer", "seq", "saved_at"], row
    )
    upsert = insert.on_conflict_do_update(
        index_elements=["attempt_id", "item_id"],
        set_={
            "answer": insert.excluded.answer,
            "seq": insert.excluded.seq,
            "saved_at": insert.excluded.saved_at,
        },
        where=responses.c.seq < insert.excluded.seq,
    ).returning(responses.c.seq)
    newest = select(responses.c.seq).where(
        responses.c.attempt_id == bindparam("attempt_id"),
        responses.c.item_id == bindparam("item_id"),
    )
    return claim, upsert, newest


def save_answer(
    user_id: int,
    attempt_id: int,
    item_id: int,
    answer: object,
    seq: int,
    now: datetime,
    grace: timedelta,
) -> SaveResult:
    """Keep `answer` unless the server already holds a newer one for the item.

    Two statements on the session's connection: claim the attempt row (refusing a closed
    or late attempt, and making a concurrent submit wait for this save), then an upsert
    that only a higher sequence number may overwrite. An answer its question cannot take
    raises AnswerRefused after the claim: the request's rollback then undoes the claim.
    """
    claim, upsert, newest = _save_statements(db.engine.dialect.name)
    connection = db.session.connection()
    claimed = connection.execute(
        claim,
        {
            "claimed_attempt": attempt_id,
            "claimed_by": user_id,
            "claimed_item": item_id,
            "earliest": now - grace,
            "now": now,
        },
    ).first()
    if claimed is None:
        reason, message = refusal(user_id, attempt_id, now, grace)
        return SaveResult(False, message=message, reason=reason)
    deadline, type_id, choices, blanks, max_chars = claimed
    if type_id is None:
        return SaveResult(False, message="该题不属于本试卷。", reason="bad_item")
    try:
        answer = types.of(type_id).parse_answer(answer, choices, blanks, max_chars or 0)
    except types.AnswerError as error:
        raise AnswerRefused(error.message, code=error.code) from None
    params = {
        "attempt_id": attempt_id,
        "item_id": item_id,
        "answer": answer,
        "seq": seq,
        "now": now,
    }
    # RETURNING, not rowcount: drivers need not report rowcount for an INSERT (psycopg
    # under SQLAlchemy gives -1), and -1 would acknowledge a save that changed nothing.
    if connection.execute(upsert, params).scalar() is not None:
        return SaveResult(True, seq, deadline=deadline)
    held = connection.execute(newest, params).scalar()
    # An older save arrived late: the newer one stays.
    return SaveResult(True, held, deadline=deadline)


MAX_FLAGS = 500


def save_flags(user_id: int, attempt_id: int, flags: list[int]) -> bool:
    """Keep the items the candidate flagged (标记) with the attempt, so they follow to
    another device; False when the attempt is not theirs or not open (see refusal)."""
    kept = db.session.execute(
        update(Attempt)
        .where(
            Attempt.id == attempt_id,
            Attempt.user_id == user_id,
            Attempt.status == AttemptStatus.IN_PROGRESS.value,
        )
        .values(flags=sorted(set(flags)))
        .execution_options(synchronize_session=False)
    )
    return kept.rowcount == 1


OUTAGE_NOT_RECORDED = (
    "服务器刚恢复连接，正在登记数据库中断的时间。答案已保存在您的设备上，稍后自动发送。"
)


def refusal(user_id: int, attempt_id: int, now: datetime, grace: timedelta) -> tuple[str, str]:
    """(reason, message) for a save that could not claim the attempt: "missing", "closed",
    or "outage" when the time is up only by a deadline that an outage not yet recorded
    (or recorded just now, by another process) moves: the client sends it again."""
    attempt = db.session.get(Attempt, attempt_id, populate_existing=True)
    if attempt is None or attempt.user_id != user_id:
        return "missing", "答卷不存在。"
    if attempt.status == AttemptStatus.SUBMITTED.value:
        return "closed", "本次作答已交卷，不能再修改答案。"
    if attempt.deadline_at + grace >= now or held_by_outage(attempt.deadline_at, grace):
        return "outage", OUTAGE_NOT_RECORDED
    return "closed", "考试时间已到，答案未能保存。已保存的答案将自动交卷。"


# --- submitting and scoring --------------------------------------------------------


def submit(attempt: Attempt, now: datetime, by: str) -> bool:
    """Close and score the attempt; False if it was already submitted (scored once)."""
    closed = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.status == AttemptStatus.IN_PROGRESS.value)
        .values(status=AttemptStatus.SUBMITTED.value, submitted_at=now, submitted_by=by)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(attempt)
    if not closed:
        return False
    score_attempt(attempt)
    summaries.attempt_submitted(attempt)
    return True


def finalize_if_expired(attempt: Attempt, now: datetime, grace=timedelta(0)) -> bool:
    """Submit an attempt whose time is up, with what was saved.

    Expired means past deadline + grace, the same instant from which save_answer refuses:
    an answer the server would still accept never meets a closed attempt."""
    if attempt.status != AttemptStatus.IN_PROGRESS.value or attempt.deadline_at + grace >= now:
        return False
    if held_by_outage(attempt.deadline_at, grace):
        return False
    return submit(attempt, now, "deadline")


def held_by_outage(deadline: datetime, grace: timedelta) -> bool:
    """An outage seen on this host is not recorded yet and the deadline may sit inside it:
    nothing is submitted by the clock until its record has moved the deadline."""
    since = outages.unrecorded_since()
    return since is not None and deadline + grace >= since


def finalize_expired(now: datetime, grace: timedelta, *where) -> int:
    """Submit every attempt past its deadline (`where`: only those of a batch or an exam),
    for `flask exams finalize`, the board and the results."""
    stale = db.session.scalars(
        select(Attempt).where(
            Attempt.status == AttemptStatus.IN_PROGRESS.value,
            Attempt.deadline_at < now - grace,
            *where,
        )
    ).all()
    return sum(finalize_if_expired(attempt, now, grace) for attempt in stale)


def responses_of(attempt: Attempt) -> dict[int, Response]:
    rows = db.session.scalars(select(Response).where(Response.attempt_id == attempt.id))
    return {response.item_id: response for response in rows}


def paper_items(attempt: Attempt) -> list[PaperItem]:
    """The attempt's paper in order, with its question versions, in one query."""
    return list(
        db.session.scalars(
            select(PaperItem)
            .where(PaperItem.attempt_id == attempt.id)
            .options(joinedload(PaperItem.question_version))
            .order_by(PaperItem.position)
        )
    )


@functools.cache
def _paper_to_show_query():
    items, versions = PaperItem.__table__, queries.versions_as_shown()
    return (
        select(
            items.c.id,
            items.c.position,
            items.c.points,
            items.c.choice_order,
            items.c.case_version_id,
            versions.c.type,
            versions.c.stem,
            versions.c.choices,
            versions.c.blanks,
            versions.c.max_chars,
        )
        .join(versions, versions.c.id == items.c.question_version_id)
        .where(items.c.attempt_id == bindparam("attempt_id"))
        .order_by(items.c.position)
    )


def paper_to_show(attempt_id: int) -> list:
    """The paper as the exam page shows it, in order: the items with what their question
    versions say, without the keys. Only the columns shown, on the tables: the ORM read
    every JSON column of each version (keys, topics, marking points), 360 JSON documents
    parsed per paper."""
    return list(db.session.connection().execute(_paper_to_show_query(), {"attempt_id": attempt_id}))


def score_attempt(attempt: Attempt) -> None:
    """(Re)compute every item's points and the total from the saved responses.

    A written answer (简答/论述) earns what its markers' standing marks settle on: until
    every one is settled the attempt has no score, no pass/fail (待阅卷)."""
    exam = attempt.exam
    policy = types.MultiplePolicy(exam.multiple_policy)
    answers = responses_of(attempt)
    items = paper_items(attempt)
    marks = standing_marks(attempt) if any(_marked(item) for item in items) else {}
    # In SQL: two markers settling answers of one attempt at once bump it twice.
    attempt.revision = Attempt.revision + 1
    earned = []
    for item in items:
        if _marked(item):
            item.earned = scoring.written_score(
                marks.get(item.id, {}), exam.double_marking, exam.marking_gap
            )
        else:
            response = answers.get(item.id)
            answer = response.answer if response else None
            item.earned = types.grade(
                types.Key.of(item.question_version), answer, item.points, policy
            )
            if item.question_version.type in types.CHOICE_TYPES:
                item.picked = answer
        earned.append(item.earned)
    if any(points is None for points in earned):
        attempt.awaiting_marks = True
        attempt.score, attempt.passed, attempt.grade_label = None, None, ""
        return
    bands = [(Decimal(str(threshold)), label) for threshold, label in exam.grade_bands]
    result = scoring.total(earned, attempt.max_score, exam.pass_mark, bands)
    attempt.awaiting_marks = False
    attempt.score, attempt.passed, attempt.grade_label = (
        result.score,
        result.passed,
        result.grade_label,
    )


def _marked(item: PaperItem) -> bool:
    return types.of(item.question_version.type).marked


def standing_marks(attempt: Attempt) -> dict[int, dict[int, Decimal]]:
    """item id -> round -> score of the marks that stand (not replaced by a correction)."""
    found: dict[int, dict[int, Decimal]] = {}
    for item_id, round_, score in db.session.execute(
        select(Mark.item_id, Mark.round, Mark.score).where(
            Mark.attempt_id == attempt.id, Mark.replaced.is_(False)
        )
    ):
        found.setdefault(item_id, {})[round_] = score
    return found


def extend_time(member: BatchMember, minutes: int, past_close: bool) -> Attempt | None:
    """Give a candidate `minutes` more (checked by sittings.extend_time); an attempt in
    progress gets them at once. `past_close`: they may run past the window's end."""
    member.extra_minutes += minutes
    if past_close:
        member.past_close_minutes += minutes
    attempt = open_member_attempt(member)
    if attempt is not None:
        attempt.deadline_at += timedelta(minutes=minutes)
    return attempt


def open_member_attempt(member: BatchMember) -> Attempt | None:
    return db.session.scalar(
        select(Attempt).where(
            and_(
                Attempt.batch_id == member.batch_id,
                Attempt.user_id == member.user_id,
                Attempt.status == AttemptStatus.IN_PROGRESS.value,
            )
        )
    )
