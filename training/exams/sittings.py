"""Running exams: batches (场次), rosters, time extensions and the live board.

Functions flush; the request commits once. Every change is audited. `scope` arguments are
the unit ids an administrator manages (accounts.manageable_unit_ids): None means all.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, exists, false, func, select, true
from sqlalchemy.orm import aliased, joinedload

from core import clock
from core.audit import Actor, record
from core.extensions import db
from core.roles import Role
from training.accounts import Act, find_active_people, require
from training.exams import attempts
from training.exams.models import (
    Attempt,
    AttemptStatus,
    Batch,
    BatchMember,
    Exam,
    ExamStatus,
)
from training.exams.setup import SetupError
from training.models import Unit, User, UserRole, subtree_ids, users_matching
from training.reports import summaries

# --- batches and rosters -----------------------------------------------------------


def create_batch(
    actor: Actor, exam: Exam, name: str, opens_at: datetime, closes_at: datetime
) -> Batch:
    if exam.status != ExamStatus.PUBLISHED.value:
        raise SetupError(f"考试当前为「{exam.status_label}」，只有已发布的考试可以新建场次。")
    if not name.strip():
        raise SetupError("请填写场次名称。")
    if opens_at >= closes_at:
        raise SetupError("场次结束时间应晚于开始时间。")
    if opens_at < exam.opens_at or closes_at > exam.closes_at:
        raise SetupError(
            f"场次时间应在考试开放时间之内（{clock.to_china_time(exam.opens_at)} 至 "
            f"{clock.to_china_time(exam.closes_at)}）。"
        )
    batch = Batch(exam=exam, name=name.strip(), opens_at=opens_at, closes_at=closes_at)
    db.session.add(batch)
    db.session.flush()
    record(
        actor,
        "batch.create",
        object_type="batch",
        object_id=batch.id,
        summary=f"{exam.title} / {batch.name}",
    )
    return batch


def _check_roster_open(batch: Batch) -> None:
    if batch.exam.status == ExamStatus.CLOSED.value:
        raise SetupError("考试已结束，不能再调整名单。")


def add_members(
    actor: Actor, batch: Batch, users: list[User], *, scope: set[int] | None = None
) -> int:
    """Put users on the roster (those already on it are left as they are); refused if any
    of them is outside `scope`."""
    _check_roster_open(batch)
    if scope is not None:
        outside = [user for user in users if user.unit_id not in scope]
        if outside:
            # Named by count only: their names are not this admin's to learn.
            raise SetupError(f"所选人员中有 {len(outside)} 人不在您管理的单位内，不能加入名单。")
    present = set(
        db.session.scalars(select(BatchMember.user_id).where(BatchMember.batch_id == batch.id))
    )
    added = [user for user in users if user.id not in present and user.is_active]
    counted_at = summaries.first_batches(batch.exam_id, [user.id for user in added])
    batch.members.extend(BatchMember(user_id=user.id) for user in added)
    db.session.flush()
    summaries.roster_changed(batch.exam_id, added, counted_at)
    record(
        actor,
        "batch.roster",
        object_type="batch",
        object_id=batch.id,
        summary=f"加入 {len(added)} 人",
        detail={"users": [user.id for user in added]},
    )
    return len(added)


def add_unit(actor: Actor, batch: Batch, unit_id: int, *, scope: set[int] | None = None) -> int:
    """Put every active learner of a unit and the units below it on the roster (an
    auditor or administrator of the unit does not sit its exams)."""
    if scope is not None and unit_id not in scope:
        raise SetupError("您无权管理该单位。")
    users = db.session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.unit_id.in_(subtree_ids(unit_id)), User.is_active)
        .where(UserRole.role == Role.LEARNER.value)
    ).all()
    return add_members(actor, batch, list(users), scope=scope)


def find_people(
    batch: Batch, scope: set[int] | None, keyword: str = "", unit_id: int | None = None, limit=50
) -> list[tuple[User, bool]]:
    """Active people an admin may put on the roster, with whether each is on it already."""
    people = find_active_people(scope, keyword, unit_id, limit)
    present = set(
        db.session.scalars(
            select(BatchMember.user_id).where(
                BatchMember.batch_id == batch.id,
                BatchMember.user_id.in_([user.id for user in people]),
            )
        )
    )
    return [(user, user.id in present) for user in people]


def remove_member(actor: Actor, member: BatchMember) -> None:
    """Take someone off a roster, unless they have started an attempt in the batch."""
    _check_roster_open(member.batch)
    started = db.session.scalar(
        select(
            exists().where(Attempt.batch_id == member.batch_id, Attempt.user_id == member.user_id)
        )
    )
    if started:
        raise SetupError(f"「{member.user.name}」已在本场次开始作答，不能移出名单。")
    batch_id, user = member.batch_id, member.user
    counted_at = summaries.first_batches(member.batch.exam_id, [user.id])
    db.session.delete(member)
    db.session.flush()
    summaries.roster_changed(member.batch.exam_id, [user], counted_at)
    record(
        actor,
        "batch.roster",
        object_type="batch",
        object_id=batch_id,
        summary=f"移出 {user.name}（{user.login}）",
        detail={"removed": [user.id]},
    )


def extend_time(
    actor: Actor, admin: User, member: BatchMember, minutes: int, *, maximum: int
) -> Attempt | None:
    """Give one candidate more time; an attempt in progress gets it at once. Never one's
    own (accounts.can_act), at most `maximum` minutes in total per person and batch, and
    not past the batch's close unless a system admin gives it."""
    require(admin, member.user, Act.EXTEND)
    if minutes <= 0:
        raise SetupError("延长时间应为正整数分钟。")
    if member.extra_minutes + minutes > maximum:
        left = maximum - member.extra_minutes
        more = f"最多还可延长 {left} 分钟" if left > 0 else "不能再延长"
        raise SetupError(
            f"每人每场次累计最多延长 {maximum} 分钟，已延长 {member.extra_minutes} 分钟，{more}。"
        )
    past_close = Role.SYSTEM_ADMIN in admin.roles
    window_end = min(member.batch.closes_at, member.batch.exam.closes_at)
    writing = attempts.open_member_attempt(member)
    if (
        writing is not None
        and not past_close
        and writing.deadline_at + timedelta(minutes=minutes) > window_end
    ):
        raise SetupError(
            f"延长后将超过场次结束时间（{clock.to_china_time(window_end)}），"
            "只有系统管理员可以延长到场次结束之后。"
        )
    attempt = attempts.extend_time(member, minutes, past_close)
    db.session.flush()
    detail = {"minutes": minutes, "extra_minutes": member.extra_minutes, "past_close": past_close}
    if attempt is not None:
        detail |= {"attempt": attempt.id, "deadline_at": attempt.deadline_at.isoformat()}
    record(
        actor,
        "batch.extend",
        object_type="batch",
        object_id=member.batch_id,
        summary=f"{member.user.name}（{member.user.login}）延长 {minutes} 分钟"
        + ("，正在作答的答卷立即生效" if attempt is not None else ""),
        detail=detail,
    )
    return attempt


# --- a roster member's state ------------------------------------------------------

NOT_STARTED, IN_PROGRESS, SUBMITTED, ABSENT = "not_started", "in_progress", "submitted", "absent"
STATE_LABELS = {
    NOT_STARTED: "未开始",
    IN_PROGRESS: "进行中",
    SUBMITTED: "已交卷",
    ABSENT: "未参加",
}


def member_state(writing, submitted, closed):
    """The one rule for a roster member's state, used by the board, the results and their
    export. A SQL expression, so that pages count, filter and page by it in the database.

    `writing`: an attempt is in progress; `submitted`: one was handed in; `closed`: the
    window (batch or exam) is over. Someone writing a retake is 进行中; without any attempt
    a person is 未开始 while they still may start and 未参加 once they no longer can."""
    return case((writing, IN_PROGRESS), (submitted, SUBMITTED), (closed, ABSENT), else_=NOT_STARTED)


# --- the live board ----------------------------------------------------------------

BOARD_PAGE_SIZE = 50


@dataclass
class BoardFilter:
    state: str = ""
    #: the unit and every unit below it
    unit_id: int | None = None
    #: part of a name or login
    text: str = ""
    page: int = 1

    @property
    def narrows(self) -> bool:
        """Narrows the roster by more than its state (so the state counts do not say how
        many match)."""
        return bool(self.unit_id or self.text)


@dataclass
class BoardRow:
    member_id: int
    name: str
    login: str
    unit_name: str
    extra_minutes: int
    state: str
    score: Decimal | None
    max_score: Decimal | None
    passed: bool | None
    submitted_by: str | None
    deadline_at: datetime | None
    remaining_seconds: int | None = None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class Board:
    batch: Batch
    now: datetime
    #: the roster (within the admin's scope) by state
    counts: dict[str, int]
    passed: int
    #: one page of the people the filter matches
    rows: list[BoardRow]
    matched: int
    page: int
    pages: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count(self, state: str) -> int:
        return self.counts.get(state, 0)

    @property
    def failed(self) -> int:
        return self.count(SUBMITTED) - self.passed


def _board_rows(batch: Batch, now: datetime, scope: set[int] | None, *who):
    """Every roster member of the batch (`who`: conditions on User) with their newest
    attempt in it and their state, as a subquery: one row per member."""
    newest = (
        select(Attempt.user_id, func.max(Attempt.number).label("number"))
        .where(Attempt.batch_id == batch.id)
        .group_by(Attempt.user_id)
        .subquery("newest")
    )
    latest = aliased(Attempt, name="latest")
    closed = batch.closes_at <= now or batch.exam.status == ExamStatus.CLOSED.value
    state = member_state(
        latest.status == AttemptStatus.IN_PROGRESS.value,
        latest.status == AttemptStatus.SUBMITTED.value,
        true() if closed else false(),
    )
    stmt = (
        select(
            BatchMember.id.label("member_id"),
            User.name,
            User.login,
            User.unit_id,
            Unit.name.label("unit_name"),
            BatchMember.extra_minutes,
            state.label("state"),
            latest.score,
            latest.max_score,
            latest.passed,
            latest.submitted_by,
            latest.deadline_at,
        )
        .join(User, User.id == BatchMember.user_id)
        .join(Unit, Unit.id == User.unit_id)
        .outerjoin(newest, newest.c.user_id == BatchMember.user_id)
        .outerjoin(
            latest,
            and_(
                latest.exam_id == batch.exam_id,
                latest.user_id == newest.c.user_id,
                latest.number == newest.c.number,
            ),
        )
        .where(BatchMember.batch_id == batch.id)
    )
    if scope is not None:
        stmt = stmt.where(User.unit_id.in_(scope))
    return stmt.where(*who).subquery("board")


def board(
    batch: Batch,
    now: datetime,
    grace: timedelta,
    scope: set[int] | None = None,
    filters: BoardFilter | None = None,
) -> Board:
    """Counts by state (未开始, 进行中 and how long is left, 已交卷 and how they did), and one
    page of the people the filter picks, in a fixed number of queries whatever the roster's
    size. Attempts past deadline + grace are submitted first, so the board shows them as
    they will stay."""
    filters = filters or BoardFilter()
    attempts.finalize_expired(now, grace, Attempt.batch_id == batch.id)
    rows = _board_rows(batch, now, scope)
    counts, passed = {}, 0
    for state, number, passing in db.session.execute(
        select(rows.c.state, func.count(), func.count(case((rows.c.passed.is_(True), 1)))).group_by(
            rows.c.state
        )
    ):
        counts[state] = number
        passed += passing if state == SUBMITTED else 0
    picked = rows
    if filters.narrows:
        who = [users_matching(filters.text)] if filters.text else []
        if filters.unit_id:
            who.append(User.unit_id.in_(subtree_ids(filters.unit_id)))
        picked = _board_rows(batch, now, scope, *who)
    conditions = [picked.c.state == filters.state] if filters.state else []
    if filters.narrows:
        matched = db.session.scalar(select(func.count()).select_from(picked).where(*conditions))
    elif filters.state:
        matched = counts.get(filters.state, 0)
    else:
        matched = sum(counts.values())
    pages = max(1, -(-matched // BOARD_PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    shown = []
    for values in db.session.execute(
        select(picked)
        .where(*conditions)
        .order_by(picked.c.unit_id, picked.c.name, picked.c.member_id)
        .limit(BOARD_PAGE_SIZE)
        .offset((page - 1) * BOARD_PAGE_SIZE)
    ).mappings():
        row = BoardRow(**{name: values[name] for name in values if name != "unit_id"})
        if row.state == IN_PROGRESS:
            row.remaining_seconds = max(0, int((row.deadline_at - now).total_seconds()))
        shown.append(row)
    return Board(batch, now, counts, passed, shown, matched, page, pages)


def _members(batch: Batch, scope: set[int] | None):
    stmt = (
        select(BatchMember)
        .join(User, User.id == BatchMember.user_id)
        .options(joinedload(BatchMember.user).joinedload(User.unit))
        .where(BatchMember.batch_id == batch.id)
        .order_by(User.unit_id, User.name, User.id)
    )
    if scope is not None:
        stmt = stmt.where(User.unit_id.in_(scope))
    return db.session.scalars(stmt).all()


@dataclass
class RosterRow:
    member: BatchMember
    #: has an attempt in this batch: can no longer be taken off the roster
    started: bool

    @property
    def user(self) -> User:
        return self.member.user


def roster(batch: Batch, scope: set[int] | None = None) -> list[RosterRow]:
    """The roster as the admin may see it, with whether each person has started."""
    started = set(db.session.scalars(select(Attempt.user_id).where(Attempt.batch_id == batch.id)))
    return [RosterRow(member, member.user_id in started) for member in _members(batch, scope)]
