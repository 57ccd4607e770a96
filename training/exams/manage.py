"""Setting exams up and running them: blueprints, exams and their lifecycle, batches and
rosters, time extensions, the live board, results and their export, regrading after a
key correction.

Functions flush; the request commits once. Every change is audited. `scope` arguments are
the unit ids an administrator manages (accounts.manageable_unit_ids): None means all.
"""

import csv
import io
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from openpyxl import Workbook
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import joinedload, selectinload

from core import clock
from core.audit import Actor, record
from core.extensions import db
from core.roles import Role
from question_bank import bank
from question_bank.models import Law, Question, QuestionVersion, Topic
from training import scoring
from training.exams import attempts
from training.exams.assembly import BlueprintError, draw, section_pools
from training.exams.models import (
    Attempt,
    AttemptStatus,
    Batch,
    BatchMember,
    Blueprint,
    BlueprintSection,
    Exam,
    ExamStatus,
    PaperItem,
    Response,
)
from training.models import Unit, User, UserRole, subtree_ids

MAX_SECTION_COUNT = 500
MAX_SECTION_POINTS = Decimal(100)
CENT = Decimal("0.01")


class SetupError(ValueError):
    """A rule of exam set-up was broken; the message is shown as is."""


# --- blueprints --------------------------------------------------------------------


@dataclass
class SectionData:
    question_type: str
    count: int
    points: Decimal
    law_id: int | None = None
    topic_id: int | None = None
    difficulty_min: int | None = None
    difficulty_max: int | None = None


@dataclass
class BlueprintData:
    name: str
    sections: list[SectionData]
    random_per_candidate: bool = False
    shuffle_questions: bool = False
    shuffle_choices: bool = False


def _section(position: int, data: SectionData) -> BlueprintSection:
    """A section with its law and topic loaded, so a shortfall message can name them."""
    where = f"第{position}部分"
    if data.question_type not in ("single", "multiple", "true_false", "fill_blank"):
        raise SetupError(f"{where}：题型不正确。")
    if not 1 <= data.count <= MAX_SECTION_COUNT:
        raise SetupError(f"{where}：题数应为 1–{MAX_SECTION_COUNT}。")
    if not Decimal(0) < data.points <= MAX_SECTION_POINTS:
        raise SetupError(f"{where}：每题分值应大于 0 且不超过 {MAX_SECTION_POINTS}。")
    if data.points != data.points.quantize(CENT):
        raise SetupError(f"{where}：每题分值最多两位小数。")
    low, high = data.difficulty_min, data.difficulty_max
    if any(value is not None and not 1 <= value <= 5 for value in (low, high)):
        raise SetupError(f"{where}：难度应为 1–5。")
    if low is not None and high is not None and low > high:
        raise SetupError(f"{where}：最低难度不能高于最高难度。")
    law = db.session.get(Law, data.law_id) if data.law_id else None
    if data.law_id and law is None:
        raise SetupError(f"{where}：所选法律不存在。")
    topic = db.session.get(Topic, data.topic_id) if data.topic_id else None
    if data.topic_id and topic is None:
        raise SetupError(f"{where}：所选知识点不存在。")
    return BlueprintSection(
        position=position,
        question_type=data.question_type,
        count=data.count,
        points=data.points.quantize(CENT),
        # Both the key (the pool query reads it before any flush) and the object (for
        # the section's label in a shortfall message).
        law_id=data.law_id,
        law=law,
        topic_id=data.topic_id,
        topic=topic,
        difficulty_min=low,
        difficulty_max=high,
    )


def save_blueprint(
    actor: Actor, data: BlueprintData, blueprint: Blueprint | None = None
) -> Blueprint:
    """Create or replace a blueprint; refused, naming the shortfall, if the bank cannot
    fill it. A blueprint that a published exam uses is not changed."""
    if not data.name.strip():
        raise SetupError("请填写组卷规则名称。")
    if not data.sections:
        raise SetupError("组卷规则至少需要一个部分。")
    if blueprint is not None and blueprint.id in blueprints_in_use([blueprint.id]):
        raise SetupError("该组卷规则已被已发布的考试使用，不能修改；请复制为新规则。")
    with db.session.no_autoflush:
        sections = [
            _section(position, section) for position, section in enumerate(data.sections, 1)
        ]
        blueprint = blueprint or Blueprint(created_by=actor.id)
        blueprint.name = data.name.strip()
        blueprint.random_per_candidate = data.random_per_candidate
        blueprint.shuffle_questions = data.shuffle_questions
        blueprint.shuffle_choices = data.shuffle_choices
        blueprint.sections = sections
        try:
            section_pools(blueprint)
        except BlueprintError as error:
            raise SetupError(f"题库不足，无法按此规则组卷：{error}") from error
    db.session.add(blueprint)
    db.session.flush()
    record(
        actor,
        "blueprint.save",
        object_type="blueprint",
        object_id=blueprint.id,
        summary=f"{blueprint.name}：{blueprint.question_count} 题，满分 {blueprint.max_score}",
    )
    return blueprint


def blueprints_in_use(blueprint_ids: list[int]) -> set[int]:
    """Which of the blueprints a published or closed exam uses (they can no longer change)."""
    return set(
        db.session.scalars(
            select(Exam.blueprint_id)
            .where(Exam.blueprint_id.in_(blueprint_ids))
            .where(Exam.status != ExamStatus.DRAFT.value)
        )
    )


def blueprint_data_of(blueprint: Blueprint) -> BlueprintData:
    """A blueprint as data, to fill an edit form or copy it into a new one."""
    return BlueprintData(
        name=blueprint.name,
        sections=[
            SectionData(
                question_type=s.question_type,
                count=s.count,
                points=s.points,
                law_id=s.law_id,
                topic_id=s.topic_id,
                difficulty_min=s.difficulty_min,
                difficulty_max=s.difficulty_max,
            )
            for s in blueprint.sections
        ],
        random_per_candidate=blueprint.random_per_candidate,
        shuffle_questions=blueprint.shuffle_questions,
        shuffle_choices=blueprint.shuffle_choices,
    )


# --- exams -------------------------------------------------------------------------


@dataclass
class ExamData:
    title: str
    kind: str
    blueprint_id: int
    time_limit_minutes: int
    pass_mark: Decimal
    opens_at: datetime
    closes_at: datetime
    grade_bands: list = field(default_factory=list)
    attempts_allowed: int = 1
    counting: str = "best"
    one_attempt_per_batch: bool = False
    retake_after_pass: bool = False
    review_policy: str = "score"
    multiple_policy: str = "all_or_nothing"
    instructions: str = ""


EXAM_FIELDS = tuple(ExamData.__dataclass_fields__)


def exam_data_of(exam: Exam) -> ExamData:
    return ExamData(**{name: getattr(exam, name) for name in EXAM_FIELDS})


def check_exam_data(data: ExamData) -> dict[str, str]:
    errors = {}
    blueprint = db.session.get(Blueprint, data.blueprint_id)
    if not data.title.strip():
        errors["title"] = "请填写考试名称。"
    if blueprint is None:
        errors["blueprint_id"] = "组卷规则不存在。"
    elif not Decimal(0) < data.pass_mark <= blueprint.max_score:
        errors["pass_mark"] = f"合格分应在 0 到满分 {blueprint.max_score} 之间。"
    if data.opens_at >= data.closes_at:
        errors["closes_at"] = "结束时间应晚于开始时间。"
    if not 1 <= data.time_limit_minutes <= 600:
        errors["time_limit_minutes"] = "考试时长应为 1–600 分钟。"
    if not 1 <= data.attempts_allowed <= 20:
        errors["attempts_allowed"] = "可参加次数应为 1–20 次。"
    thresholds = [Decimal(str(threshold)) for threshold, _ in data.grade_bands]
    if any(threshold < data.pass_mark for threshold in thresholds):
        errors["grade_bands"] = "等级分数线不应低于合格分。"
    elif blueprint is not None and any(t > blueprint.max_score for t in thresholds):
        errors["grade_bands"] = f"等级分数线不应高于满分 {blueprint.max_score}。"
    return errors


def save_exam(actor: Actor, data: ExamData, exam: Exam | None = None) -> Exam:
    """Create an exam, or change one still in draft."""
    if exam is not None and exam.status != ExamStatus.DRAFT.value:
        raise SetupError("考试已发布，不能再修改设置。")
    if errors := check_exam_data(data):
        raise SetupError("；".join(errors.values()))
    exam = exam or Exam(created_by=actor.id)
    for name, value in vars(data).items():
        setattr(exam, name, value.strip() if isinstance(value, str) else value)
    db.session.add(exam)
    db.session.flush()
    record(actor, "exam.save", object_type="exam", object_id=exam.id, summary=exam.title)
    return exam


TRANSITIONS = {
    ExamStatus.DRAFT: {ExamStatus.PUBLISHED},
    ExamStatus.PUBLISHED: {ExamStatus.CLOSED},
    ExamStatus.CLOSED: set(),
}


def _check_move(exam: Exam, target: ExamStatus) -> None:
    current = ExamStatus(exam.status)
    if target not in TRANSITIONS[current]:
        raise SetupError(f"考试当前为「{current.label}」，不能改为「{target.label}」。")


def _move(exam: Exam, target: ExamStatus) -> None:
    _check_move(exam, target)
    exam.status = target.value


def publish(actor: Actor, exam: Exam, rng: random.Random | None = None) -> None:
    """Freeze what the exam draws from; a fixed-paper exam draws its one paper now."""
    _check_move(exam, ExamStatus.PUBLISHED)
    # The blueprint may have changed since the exam was saved.
    if exam.pass_mark > exam.blueprint.max_score:
        raise SetupError(
            f"合格分 {exam.pass_mark} 高于组卷规则的满分 {exam.blueprint.max_score}，"
            "请先修改考试设置。"
        )
    try:
        pools = section_pools(exam.blueprint)
    except BlueprintError as error:
        raise SetupError(f"题库不足，无法发布：{error}") from error
    if not exam.blueprint.random_per_candidate:
        paper = draw(exam.blueprint, pools, rng or random.Random())
        # Each section keeps exactly the questions drawn for it: with overlapping filters
        # a shared pool would let a question move between sections (and their points).
        chosen = {(item.section, item.version_id) for item in paper}
        pools = [
            [entry for entry in pool if (number, entry[1]) in chosen]
            for number, pool in enumerate(pools)
        ]
    exam.pools = [[list(entry) for entry in pool] for pool in pools]
    _move(exam, ExamStatus.PUBLISHED)
    record(actor, "exam.publish", object_type="exam", object_id=exam.id, summary=exam.title)


def close(actor: Actor, exam: Exam) -> None:
    _move(exam, ExamStatus.CLOSED)
    record(actor, "exam.close", object_type="exam", object_id=exam.id, summary=exam.title)


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
            names = "、".join(user.name for user in outside[:5])
            more = f"等 {len(outside)} 人" if len(outside) > 5 else ""
            raise SetupError(f"{names}{more}不在您管理的单位内，不能加入名单。")
    present = set(
        db.session.scalars(select(BatchMember.user_id).where(BatchMember.batch_id == batch.id))
    )
    added = [user for user in users if user.id not in present and user.is_active]
    batch.members.extend(BatchMember(user_id=user.id) for user in added)
    db.session.flush()
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
    stmt = (
        select(User)
        .options(joinedload(User.unit))
        .where(User.is_active)
        .order_by(User.unit_id, User.name, User.id)
        .limit(limit)
    )
    if scope is not None:
        stmt = stmt.where(User.unit_id.in_(scope))
    if unit_id:
        stmt = stmt.where(User.unit_id.in_(subtree_ids(unit_id)))
    if keyword.strip():
        pattern = f"%{keyword.strip()}%"
        stmt = stmt.where(or_(User.name.like(pattern), User.login.like(pattern)))
    people = db.session.scalars(stmt).all()
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
    db.session.delete(member)
    db.session.flush()
    record(
        actor,
        "batch.roster",
        object_type="batch",
        object_id=batch_id,
        summary=f"移出 {user.name}（{user.login}）",
        detail={"removed": [user.id]},
    )


def extend_time(actor: Actor, member: BatchMember, minutes: int) -> Attempt | None:
    """Give one candidate more time; an attempt in progress gets it at once."""
    try:
        attempt = attempts.extend_time(member, minutes)
    except attempts.ExamError as error:
        raise SetupError(str(error)) from error
    db.session.flush()
    detail = {"minutes": minutes, "extra_minutes": member.extra_minutes}
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


# --- the live board ----------------------------------------------------------------

NOT_STARTED, IN_PROGRESS, SUBMITTED = "not_started", "in_progress", "submitted"
STATE_LABELS = {NOT_STARTED: "未开始", IN_PROGRESS: "进行中", SUBMITTED: "已交卷"}


@dataclass
class BoardRow:
    member: BatchMember
    #: the candidate's newest attempt in this batch
    attempt: Attempt | None
    remaining_seconds: int | None = None

    @property
    def user(self) -> User:
        return self.member.user

    @property
    def state(self) -> str:
        if self.attempt is None:
            return NOT_STARTED
        if self.attempt.status == AttemptStatus.IN_PROGRESS.value:
            return IN_PROGRESS
        return SUBMITTED

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class Board:
    batch: Batch
    rows: list[BoardRow]
    now: datetime

    def count(self, state: str) -> int:
        return sum(row.state == state for row in self.rows)

    @property
    def passed(self) -> int:
        return sum(row.state == SUBMITTED and bool(row.attempt.passed) for row in self.rows)

    @property
    def failed(self) -> int:
        return self.count(SUBMITTED) - self.passed


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


def board(batch: Batch, now: datetime, grace: timedelta, scope: set[int] | None = None) -> Board:
    """Who has not started, who is writing (and how long they have left), who has
    submitted (and how they did). Attempts past deadline + grace are submitted first,
    so the board shows them as they will stay."""
    members = _members(batch, scope)
    stmt = (
        select(Attempt)
        .where(Attempt.batch_id == batch.id)
        .order_by(Attempt.user_id, Attempt.number)
    )
    if scope is not None:
        stmt = stmt.join(User, User.id == Attempt.user_id).where(User.unit_id.in_(scope))
    newest = {}
    for attempt in db.session.scalars(stmt):
        attempts.finalize_if_expired(attempt, now, grace)
        newest[attempt.user_id] = attempt
    rows = []
    for member in members:
        attempt = newest.get(member.user_id)
        row = BoardRow(member, attempt)
        if row.state == IN_PROGRESS:
            row.remaining_seconds = max(0, int((attempt.deadline_at - now).total_seconds()))
        rows.append(row)
    return Board(batch, rows, now)


# --- results and their export ------------------------------------------------------


@dataclass
class ResultRow:
    user: User
    #: the submitted attempts, in order
    submitted: list[Attempt]
    #: the one that counts under the exam's counting rule
    counted: Attempt | None

    @property
    def state_label(self) -> str:
        if self.counted is None:
            return "未参加"
        return "合格" if self.counted.passed else "不合格"


@dataclass
class UnitRate:
    unit: Unit
    assigned: int = 0
    took: int = 0
    passed: int = 0

    @property
    def rate(self) -> str:
        return percent(self.passed, self.took)


def percent(part: int, whole: int) -> str:
    if not whole:
        return "—"
    value = (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{value}%"


@dataclass
class ExamResults:
    exam: Exam
    rows: list[ResultRow]
    units: list[UnitRate]

    @property
    def took(self) -> int:
        return sum(row.counted is not None for row in self.rows)

    @property
    def passed(self) -> int:
        return sum(row.counted is not None and bool(row.counted.passed) for row in self.rows)

    @property
    def rate(self) -> str:
        return percent(self.passed, self.took)


def results(exam: Exam, scope: set[int] | None = None) -> ExamResults:
    """Per person on a roster (or with an attempt): the attempt that counts under the
    exam's rule; per unit: how many were assigned, took it and passed (合格率 = 合格/参考)."""
    assigned = (
        select(BatchMember.user_id)
        .join(Batch, Batch.id == BatchMember.batch_id)
        .where(Batch.exam_id == exam.id)
    )
    attempted = select(Attempt.user_id).where(Attempt.exam_id == exam.id)
    users_stmt = (
        select(User)
        .options(joinedload(User.unit))
        .where(or_(User.id.in_(assigned), User.id.in_(attempted)))
        .order_by(User.unit_id, User.name, User.id)
    )
    submitted_stmt = (
        select(Attempt)
        .options(joinedload(Attempt.batch))
        .where(Attempt.exam_id == exam.id, Attempt.status == AttemptStatus.SUBMITTED.value)
        .order_by(Attempt.user_id, Attempt.number)
    )
    if scope is not None:
        users_stmt = users_stmt.where(User.unit_id.in_(scope))
        submitted_stmt = submitted_stmt.join(User, User.id == Attempt.user_id).where(
            User.unit_id.in_(scope)
        )
    by_user = defaultdict(list)
    for attempt in db.session.scalars(submitted_stmt):
        by_user[attempt.user_id].append(attempt)
    rows, units = [], {}
    for user in db.session.scalars(users_stmt):
        done = by_user.get(user.id, [])
        number = scoring.counted_attempt([(a.number, a.score) for a in done], exam.counting)
        counted = next((a for a in done if a.number == number), None)
        row = ResultRow(user, done, counted)
        rows.append(row)
        rate = units.setdefault(user.unit_id, UnitRate(user.unit))
        rate.assigned += 1
        rate.took += counted is not None
        rate.passed += counted is not None and bool(counted.passed)
    return ExamResults(exam, rows, list(units.values()))


RESULT_COLUMNS = [
    "姓名",
    "账号",
    "单位",
    "场次",
    "作答次数",
    "计分答卷",
    "成绩",
    "满分",
    "是否合格",
    "等级",
    "交卷时间（北京时间）",
]
EXPORT_FORMATS = ("csv", "xlsx")
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def result_table(exam_results: ExamResults) -> list[list[str]]:
    table = []
    for row in exam_results.rows:
        counted = row.counted
        table.append(
            [
                row.user.name,
                row.user.login,
                row.user.unit.path,
                counted.batch.name if counted else "",
                str(len(row.submitted)),
                f"第{counted.number}次" if counted else "",
                str(counted.score) if counted else "",
                str(counted.max_score) if counted else "",
                row.state_label,
                counted.grade_label if counted else "",
                clock.to_china_time(counted.submitted_at) if counted else "",
            ]
        )
    return table


def _safe_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _csv(table: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(RESULT_COLUMNS)
    writer.writerows([_safe_cell(cell) for cell in row] for row in table)
    # With a BOM, Excel opens UTF-8 Chinese text correctly.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx(table: list[list[str]], title: str) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("考试成绩")
    sheet.append([title])
    sheet.append(RESULT_COLUMNS)
    for row in table:
        sheet.append([_safe_cell(cell) for cell in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_results(actor: Actor, exam: Exam, fmt: str, scope: set[int] | None = None) -> bytes:
    """The results as a file; an export of personal data, so it is audited."""
    if fmt not in EXPORT_FORMATS:
        raise SetupError("不支持该导出格式。")
    table = result_table(results(exam, scope))
    data = _csv(table) if fmt == "csv" else _xlsx(table, exam.title)
    record(
        actor,
        "exam.export",
        object_type="exam",
        object_id=exam.id,
        summary=f"{exam.title}：导出 {len(table)} 人的成绩（{fmt}）",
        detail={"format": fmt, "rows": len(table), "all_units": scope is None},
    )
    return data


# --- regrading after a key correction ----------------------------------------------


@dataclass
class RegradeCandidate:
    """A question an exam used that has a newer version since."""

    question: Question
    used: list[QuestionVersion]
    current: QuestionVersion
    #: fields changed between each used version and the current one
    changed: list[str]

    @property
    def key_only(self) -> bool:
        return self.changed == ["答案"]


@dataclass
class RegradeRow:
    attempt: Attempt
    old_points: Decimal
    new_points: Decimal
    old_score: Decimal
    new_score: Decimal
    old_passed: bool
    new_passed: bool
    old_grade: str
    new_grade: str

    @property
    def score_changed(self) -> bool:
        return self.old_score != self.new_score

    @property
    def pass_changed(self) -> bool:
        return self.old_passed != self.new_passed


@dataclass
class RegradePlan:
    exam: Exam
    question: Question
    old_versions: list[QuestionVersion]
    new_version: QuestionVersion
    #: every submitted attempt that has the question
    rows: list[RegradeRow]
    #: paper items (of submitted and open attempts) that move to the corrected version
    items: list[PaperItem]
    in_progress: int

    @property
    def score_changes(self) -> int:
        return sum(row.score_changed for row in self.rows)

    @property
    def pass_changes(self) -> int:
        return sum(row.pass_changed for row in self.rows)


def _used_version_ids(exam: Exam) -> set[int]:
    in_pools = {entry[1] for pool in exam.pools or [] for entry in pool}
    on_papers = set(
        db.session.scalars(
            select(PaperItem.question_version_id)
            .join(Attempt, Attempt.id == PaperItem.attempt_id)
            .where(Attempt.exam_id == exam.id)
            .distinct()
        )
    )
    return in_pools | on_papers


# Topics are tagged in bulk without a new version, so the next edit's version carries
# tags the old one lacks; they are no part of what a candidate saw or how it is marked.
IGNORED_FOR_REGRADE = ("知识点",)


def _changed(old: QuestionVersion, new: QuestionVersion) -> list[str]:
    changed = bank.changed_fields(bank.draft_of(old), bank.draft_of(new))
    return [name for name in changed if name not in IGNORED_FOR_REGRADE]


def regrade_candidates(exam: Exam) -> list[RegradeCandidate]:
    """Questions the exam used (in its pools or on a paper) that have a newer version."""
    versions = db.session.scalars(
        select(QuestionVersion)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(QuestionVersion.id.in_(_used_version_ids(exam)))
        .where(QuestionVersion.number < Question.current_number)
        .order_by(QuestionVersion.question_id, QuestionVersion.number)
    ).all()
    by_question = defaultdict(list)
    for version in versions:
        by_question[version.question].append(version)
    found = []
    for question, used in by_question.items():
        current = question.current_version
        changed = []
        for version in used:
            changed += [name for name in _changed(version, current) if name not in changed]
        found.append(RegradeCandidate(question, used, current, changed))
    return found


def regrade_preview(exam: Exam, question_id: int) -> RegradePlan:
    """What correcting the key of `question_id` would do to the exam's attempts: the
    items and totals before and after. Writes nothing.

    Only a newer version whose sole change is the key qualifies: the candidates saw the
    same stem and choices, so only the marking may change."""
    if exam.status == ExamStatus.DRAFT.value:
        raise SetupError("考试尚未发布，没有需要重新评分的答卷。")
    question = db.session.get(Question, question_id)
    if question is None:
        raise SetupError("试题不存在。")
    new = question.current_version
    old_versions = db.session.scalars(
        select(QuestionVersion)
        .where(QuestionVersion.id.in_(_used_version_ids(exam)))
        .where(QuestionVersion.question_id == question.id, QuestionVersion.id != new.id)
        .order_by(QuestionVersion.number)
    ).all()
    if not old_versions:
        raise SetupError(f"本考试没有使用试题 #{question.id} 的旧版本，无需重新评分。")
    for old in old_versions:
        changed = _changed(old, new)
        if changed != ["答案"]:
            others = "、".join(name for name in changed if name != "答案") or "无"
            raise SetupError(
                f"试题 #{question.id} 第{old.number}版到第{new.number}版的修改不只是答案"
                f"（还修改了：{others}），不能按更正答案重新评分。"
            )
    old_ids = {version.id for version in old_versions}
    items = db.session.scalars(
        select(PaperItem)
        .join(Attempt, Attempt.id == PaperItem.attempt_id)
        .where(Attempt.exam_id == exam.id, PaperItem.question_version_id.in_(old_ids))
        .order_by(PaperItem.attempt_id, PaperItem.position)
    ).all()
    answers = {
        response.item_id: response.answer
        for response in db.session.scalars(
            select(Response).where(Response.item_id.in_([item.id for item in items]))
        )
    }
    key = attempts.key_of(new)
    policy = scoring.MultiplePolicy(exam.multiple_policy)
    bands = [(Decimal(str(threshold)), label) for threshold, label in exam.grade_bands]
    new_points = {
        item.id: scoring.grade(key, answers.get(item.id), item.points, policy) for item in items
    }
    affected = db.session.scalars(
        select(Attempt)
        .options(selectinload(Attempt.items), joinedload(Attempt.user))
        .where(Attempt.id.in_({item.attempt_id for item in items}))
        .order_by(Attempt.id)
        .execution_options(populate_existing=True)
    ).all()
    rows, in_progress = [], 0
    for attempt in affected:
        if attempt.status != AttemptStatus.SUBMITTED.value:
            in_progress += 1
            continue
        mine = [item for item in attempt.items if item.id in new_points]
        earned = [new_points.get(item.id, _earned(item)) for item in attempt.items]
        result = scoring.total(earned, attempt.max_score, exam.pass_mark, bands)
        rows.append(
            RegradeRow(
                attempt=attempt,
                old_points=sum((_earned(item) for item in mine), Decimal(0)),
                new_points=sum((new_points[item.id] for item in mine), Decimal(0)),
                old_score=attempt.score or Decimal(0),
                new_score=result.score,
                old_passed=bool(attempt.passed),
                new_passed=result.passed,
                old_grade=attempt.grade_label,
                new_grade=result.grade_label,
            )
        )
    return RegradePlan(exam, question, list(old_versions), new, rows, list(items), in_progress)


def _earned(item: PaperItem) -> Decimal:
    # Not `item.earned or 0`: Decimal("0.00") is falsy and would lose its two places.
    return Decimal("0.00") if item.earned is None else item.earned


def apply_regrade(actor: Actor, exam: Exam, question_id: int) -> RegradePlan:
    """Move the exam's papers (and what later attempts draw) to the corrected version and
    re-score every submitted attempt that had the question; one audit entry."""
    # Hold the attempts that have the question, so a candidate submitting right now is
    # scored either before the move (and re-scored here) or after it (with the new key).
    db.session.execute(
        select(Attempt.id)
        .where(Attempt.exam_id == exam.id)
        .where(
            Attempt.id.in_(
                select(PaperItem.attempt_id)
                .join(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
                .where(QuestionVersion.question_id == question_id)
            )
        )
        .with_for_update()
    )
    plan = regrade_preview(exam, question_id)
    old_ids = {version.id for version in plan.old_versions}
    for item in plan.items:
        item.question_version = plan.new_version
    if exam.pools:
        exam.pools = [
            [
                [entry[0], plan.new_version.id if entry[1] in old_ids else entry[1], entry[2]]
                for entry in pool
            ]
            for pool in exam.pools
        ]
    for row in plan.rows:
        attempts.score_attempt(row.attempt)
    db.session.flush()
    old_numbers = "、".join(f"第{version.number}版" for version in plan.old_versions)
    record(
        actor,
        "exam.regrade",
        object_type="exam",
        object_id=exam.id,
        summary=(
            f"{exam.title}：试题 #{plan.question.id} {old_numbers}→第{plan.new_version.number}版，"
            f"重新评分 {len(plan.rows)} 份答卷，{plan.score_changes} 份成绩变化，"
            f"{plan.pass_changes} 人合格情况变化"
        ),
        detail={
            "question": plan.question.id,
            "from_versions": sorted(old_ids),
            "to_version": plan.new_version.id,
            "attempts": len(plan.rows),
            "score_changes": plan.score_changes,
            "pass_changes": plan.pass_changes,
            "in_progress": plan.in_progress,
            "items": len(plan.items),
            "changes": [
                {
                    "attempt": row.attempt.id,
                    "score": [str(row.old_score), str(row.new_score)],
                    "passed": [row.old_passed, row.new_passed],
                }
                for row in plan.rows
                if row.score_changed or row.pass_changed
            ],
        },
    )
    return plan
