"""An exam's results, a report: the attempt that counts per person, pass rates by unit,
and the audited export.

`scope` arguments are the unit ids an administrator manages
(accounts.manageable_unit_ids): None means all.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from core import clock
from core.audit import Actor, record
from core.extensions import db
from core.spreadsheets import Sheet, write_csv, write_xlsx
from training import scoring
from training.exams.models import (
    Attempt,
    AttemptStatus,
    Batch,
    BatchMember,
    Exam,
)
from training.exams.setup import SetupError
from training.models import Unit, User


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


def export_results(actor: Actor, exam: Exam, fmt: str, scope: set[int] | None = None) -> bytes:
    """The results as a file; an export of personal data, so it is audited."""
    if fmt not in EXPORT_FORMATS:
        raise SetupError("不支持该导出格式。")
    table = result_table(results(exam, scope))
    if fmt == "csv":
        data = write_csv(RESULT_COLUMNS, table)
    else:
        data = write_xlsx([Sheet("考试成绩", RESULT_COLUMNS, table, caption=exam.title)])
    record(
        actor,
        "exam.export",
        object_type="exam",
        object_id=exam.id,
        summary=f"{exam.title}：导出 {len(table)} 人的成绩（{fmt}）",
        detail={"format": fmt, "rows": len(table), "all_units": scope is None},
    )
    return data
