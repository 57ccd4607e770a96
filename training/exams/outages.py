"""Exams across a database outage: no answer is lost to time the server could not serve.

When the server records an outage (core.outages), every open attempt whose deadline fell
inside it gets the outage's length added, audited; an attempt submitted anyway (e.g. by a
server that did not see the outage) can be reopened by an administrator for the minutes
it lost. Only the server's own record of its outages counts, never a client's clock.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from core import outages
from core.audit import SYSTEM, Actor, record
from core.extensions import db
from core.outages import Outage
from training.exams.attempts import ExamError, open_attempt
from training.exams.models import Attempt, AttemptStatus
from training.reports import summaries

REOPEN_MAX_MINUTES = 60


def merged_spans(spans) -> list[tuple[datetime, datetime]]:
    """Overlapping spans (several processes saw the same outage) joined, in time order."""
    joined: list[list[datetime]] = []
    for start, end in sorted(spans):
        if joined and start <= joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], end)
        else:
            joined.append([start, end])
    return [(start, end) for start, end in joined]


def lost_to(deadline: datetime, grace: timedelta, start: datetime, end: datetime) -> bool:
    """Whether the time in which the server accepts answers (deadline to deadline + grace)
    overlapped the outage."""
    return deadline + grace >= start and deadline <= end


def moved_deadline(base: datetime, spans, grace: timedelta) -> datetime:
    """The deadline after every outage it fell into, in order: a deadline moved into a
    later outage moves again."""
    deadline = base
    for start, end in spans:
        if lost_to(deadline, grace, start, end):
            deadline += end - start
    return deadline


def extend_for_outages(grace: timedelta, actor: Actor = SYSTEM) -> dict[int, int]:
    """Move every open attempt's deadline by the outages it fell into; {attempt id: seconds
    added now}. Idempotent: the seconds already given are kept on the attempt."""
    oldest = (
        select(func.min(Attempt.started_at))
        .where(Attempt.status == AttemptStatus.IN_PROGRESS.value)
        .scalar_subquery()
    )
    spans = merged_spans(
        db.session.execute(
            select(Outage.started_at, Outage.ended_at).where(Outage.ended_at >= oldest)
        ).all()
    )
    if not spans:
        return {}
    rows = db.session.execute(
        select(Attempt.id, Attempt.deadline_at, Attempt.outage_seconds).where(
            Attempt.status == AttemptStatus.IN_PROGRESS.value,
            Attempt.deadline_at >= spans[0][0] - grace,
        )
    ).all()
    added = {}
    for attempt_id, deadline, given in rows:
        base = deadline - timedelta(seconds=given)
        owed = math.ceil((moved_deadline(base, spans, grace) - base).total_seconds())
        if owed > given:
            db.session.execute(
                update(Attempt)
                .where(Attempt.id == attempt_id, Attempt.status == AttemptStatus.IN_PROGRESS.value)
                .values(
                    deadline_at=base + timedelta(seconds=owed),
                    outage_seconds=owed,
                )
                .execution_options(synchronize_session=False)
            )
            added[attempt_id] = owed - given
    if added:
        record(
            actor,
            "attempt.outage_extend",
            object_type="attempt",
            summary=f"数据库中断，顺延 {len(added)} 份进行中答卷的截止时间",
            detail={
                "extended": [
                    {"attempt": attempt_id, "seconds": seconds}
                    for attempt_id, seconds in added.items()
                ]
            },
        )
    return added


def record_recovery(watch: outages.OutageWatch, now: datetime, grace: timedelta) -> list[Outage]:
    """Called when the database answers again (the first request's hook, the cron job):
    this host's outage markers become outages rows and the deadlines they hit move, in a
    transaction of its own (see OutageWatch.commit_record), before anything else is done."""
    return watch.commit_record(now, lambda claimed: record_outages(claimed, grace))


def record_outages(claimed, grace: timedelta) -> list[Outage]:
    """An outages row for each claimed marker (with its end), audited, and every open
    attempt whose deadline fell inside moved. Flushes; the caller commits."""
    rows = [
        Outage(started_at=marker.started_at, ended_at=end, source=marker.source)
        for marker, end in claimed
    ]
    db.session.add_all(rows)
    db.session.flush()
    for row in rows:
        record(
            SYSTEM,
            "outage.record",
            object_type="outage",
            object_id=row.id,
            summary=f"服务器 {row.source} 无法连接数据库 {row.seconds} 秒",
            detail={"started_at": row.started_at, "ended_at": row.ended_at},
        )
    extend_for_outages(grace)
    return rows


# --- reopening ---------------------------------------------------------------------


@dataclass
class Affected:
    """A submitted attempt whose deadline fell inside a recorded outage."""

    attempt: Attempt
    outage: Outage
    #: the minutes the candidate lost, offered as the reopening's length
    minutes: int


def missing_minutes(attempt: Attempt, outage: Outage, grace: timedelta) -> int:
    start = max(outage.started_at, attempt.started_at)
    lost = min(attempt.deadline_at + grace, outage.ended_at) - start
    return max(1, min(REOPEN_MAX_MINUTES, math.ceil(lost.total_seconds() / 60)))


def affected_attempts(grace: timedelta, unit_ids: set[int] | None, limit: int = 200):
    """Recorded outages, newest first, and the submitted attempts they cost time."""
    recent = list(
        db.session.scalars(select(Outage).order_by(Outage.started_at.desc()).limit(limit))
    )
    found = []
    for outage in recent:
        stmt = (
            select(Attempt)
            .where(
                Attempt.status == AttemptStatus.SUBMITTED.value,
                Attempt.deadline_at >= outage.started_at - grace,
                Attempt.deadline_at <= outage.ended_at,
                Attempt.submitted_at >= outage.started_at,
            )
            .options(joinedload(Attempt.user), joinedload(Attempt.exam))
            .order_by(Attempt.deadline_at)
        )
        for attempt in db.session.scalars(stmt).unique():
            if unit_ids is None or attempt.user.unit_id in unit_ids:
                found.append(Affected(attempt, outage, missing_minutes(attempt, outage, grace)))
    return recent, found


def reopen(
    actor: Actor,
    attempt: Attempt,
    outage: Outage,
    minutes: int,
    now: datetime,
    grace: timedelta,
) -> None:
    """Open a submitted attempt again for `minutes`, with its saved answers; the score is
    computed again when it is submitted."""
    if attempt.user_id == actor.id:
        raise ExamError("不能重新开放自己的答卷。")
    if attempt.status != AttemptStatus.SUBMITTED.value:
        raise ExamError("这份答卷尚未交卷，无需重新开放。")
    if not lost_to(attempt.deadline_at, grace, outage.started_at, outage.ended_at):
        raise ExamError("这份答卷的截止时间不在这次数据库中断之内。")
    if not 1 <= minutes <= REOPEN_MAX_MINUTES:
        raise ExamError(f"重新开放的时间应为 1–{REOPEN_MAX_MINUTES} 分钟。")
    if open_attempt(attempt.user_id, attempt.exam_id) is not None:
        raise ExamError("该考生已有一份进行中的答卷，不能再重新开放这一份。")
    outcome = summaries.outcomes(attempt.exam, [attempt.user_id]).get(attempt.user_id)
    before = {
        "score": attempt.score,
        "deadline_at": attempt.deadline_at,
        "submitted_at": attempt.submitted_at,
        "submitted_by": attempt.submitted_by,
    }
    attempt.status = AttemptStatus.IN_PROGRESS.value
    attempt.deadline_at = now + timedelta(minutes=minutes)
    attempt.submitted_at = None
    attempt.submitted_by = ""
    attempt.score = attempt.passed = None
    attempt.awaiting_marks = False
    attempt.grade_label = ""
    attempt.revision = Attempt.revision + 1
    db.session.flush()
    summaries.attempt_reopened(attempt, outcome)
    record(
        actor,
        "attempt.reopen",
        object_type="attempt",
        object_id=attempt.id,
        summary=f"因数据库中断重新开放 {attempt.user.name} 的答卷 {minutes} 分钟",
        detail={"outage": outage.id, "minutes": minutes, "before": before},
    )
