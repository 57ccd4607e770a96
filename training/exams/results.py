"""An exam's results, a report: the attempt that counts per person, pass rates by unit,
and the audited export. Counted, paged and summed in the database: a roster of 12,000
is never loaded as objects.

`scope` arguments are the unit ids an administrator manages
(accounts.manageable_unit_ids): None means all.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.orm import aliased

from core import clock
from core.audit import Actor, record
from core.extensions import db
from core.spreadsheets import Sheet, write_csv, write_xlsx
from training import units
from training.exams import attempts, sittings
from training.exams.models import (
    Attempt,
    AttemptStatus,
    Batch,
    BatchMember,
    Exam,
    ExamStatus,
)
from training.exams.setup import SetupError
from training.exams.sittings import STATE_LABELS, member_state
from training.models import Unit, User
from training.reports import figures
from training.reports.models import ExamSummary
from training.scoring import AttemptRule

RESULTS_PAGE_SIZE = 100
#: how figures by unit count a person who moved (exam_summaries keep the unit of the time)
BY_UNIT_AT_EXAM = "按考试时所在单位统计"


@dataclass
class ResultRow:
    user_id: int
    name: str
    login: str
    unit_id: int
    unit_name: str
    state: str
    #: how many attempts were handed in
    submitted: int
    #: the counted attempt (None: nothing handed in yet)
    number: int | None
    batch_name: str | None
    score: Decimal | None
    max_score: Decimal | None
    passed: bool | None
    grade_label: str | None
    submitted_at: datetime | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def result_label(self) -> str:
        if self.number is None:
            return ""
        if self.passed is None:
            return "待阅卷"
        return "合格" if self.passed else "不合格"


@dataclass
class UnitRate:
    unit_id: int
    path: str
    assigned: int = 0
    took: int = 0
    passed: int = 0

    @property
    def rate(self) -> str:
        return percent(self.passed, self.took)

    @property
    def fraction(self) -> float | None:
        return self.passed / self.took if self.took else None


def percent(part: int, whole: int) -> str:
    if not whole:
        return "—"
    value = (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{value}%"


@dataclass
class ExamResults:
    exam: Exam
    #: everyone (within scope) by state
    counts: dict[str, int]
    units: list[UnitRate]
    #: one page of people
    rows: list[ResultRow]
    page: int
    pages: int

    @property
    def assigned(self) -> int:
        return sum(self.counts.values())

    @property
    def took(self) -> int:
        return sum(rate.took for rate in self.units)

    @property
    def passed(self) -> int:
        return sum(rate.passed for rate in self.units)

    @property
    def rate(self) -> str:
        return percent(self.passed, self.took)

    def count(self, state: str) -> int:
        return self.counts.get(state, 0)


def counted_order(rule: str) -> list:
    """The order in which the attempt that counts comes first: the rule of
    scoring.counted_attempt (best: highest score, earliest on a tie), in SQL."""
    rule = AttemptRule(rule)
    if rule is AttemptRule.FIRST:
        return [Attempt.number]
    if rule is AttemptRule.LAST:
        return [Attempt.number.desc()]
    # An attempt awaiting marks has no score yet: it counts only if none has one.
    return [Attempt.score.desc().nulls_last(), Attempt.number]


def people_query(exam: Exam, now: datetime, scope: set[int] | None, only=None):
    """One row per person on a roster of the exam (or with an attempt at it): their
    state, how many attempts they handed in and the one that counts, as a subquery.
    `only`: the user ids wanted (a page of them), else everyone."""
    wanted = [] if only is None else [list(only)]
    roster = (
        select(BatchMember.user_id, func.max(Batch.closes_at).label("last_close"))
        .join(Batch, Batch.id == BatchMember.batch_id)
        .where(Batch.exam_id == exam.id, *[BatchMember.user_id.in_(ids) for ids in wanted])
        .group_by(BatchMember.user_id)
        .subquery("roster")
    )
    handed_in = Attempt.status == AttemptStatus.SUBMITTED.value
    writing = Attempt.status == AttemptStatus.IN_PROGRESS.value
    of_exam = [Attempt.exam_id == exam.id, *[Attempt.user_id.in_(ids) for ids in wanted]]
    tried = (
        select(
            Attempt.user_id,
            func.sum(case((handed_in, 1), else_=0)).label("submitted"),
            func.sum(case((writing, 1), else_=0)).label("writing"),
        )
        .where(*of_exam)
        .group_by(Attempt.user_id)
        .subquery("tried")
    )
    ranked = (
        select(
            Attempt.id,
            Attempt.user_id,
            func.row_number()
            .over(partition_by=Attempt.user_id, order_by=counted_order(exam.counting))
            .label("rank"),
        )
        .where(*of_exam, handed_in)
        .subquery("ranked")
    )
    counted = aliased(Attempt, name="counted")
    counted_batch = aliased(Batch, name="counted_batch")
    if exam.status == ExamStatus.CLOSED.value:
        closed = true()
    else:
        closed = or_(roster.c.last_close.is_(None), roster.c.last_close <= now)
    state = member_state(tried.c.writing > 0, counted.id.is_not(None), closed)
    stmt = (
        select(
            User.id.label("user_id"),
            User.name,
            User.login,
            User.unit_id,
            Unit.name.label("unit_name"),
            state.label("state"),
            func.coalesce(tried.c.submitted, 0).label("submitted"),
            counted.number,
            counted_batch.name.label("batch_name"),
            counted.score,
            counted.max_score,
            counted.passed,
            counted.grade_label,
            counted.submitted_at,
        )
        .join(Unit, Unit.id == User.unit_id)
        .outerjoin(roster, roster.c.user_id == User.id)
        .outerjoin(tried, tried.c.user_id == User.id)
        .outerjoin(ranked, and_(ranked.c.user_id == User.id, ranked.c.rank == 1))
        .outerjoin(counted, counted.id == ranked.c.id)
        .outerjoin(counted_batch, counted_batch.id == counted.batch_id)
        .where(or_(roster.c.user_id.is_not(None), tried.c.user_id.is_not(None)))
        .where(*[User.id.in_(ids) for ids in wanted])
    )
    if scope is not None:
        stmt = stmt.where(User.unit_id.in_(scope))
    return stmt.subquery("people")


def _ordered(people):
    return select(people).order_by(people.c.unit_id, people.c.name, people.c.user_id)


def _row(values) -> ResultRow:
    return ResultRow(**values)


def results(
    exam: Exam, now: datetime, grace: timedelta, scope: set[int] | None = None, page: int = 1
) -> ExamResults:
    """Counts by state; per unit how many were assigned, took it and passed
    (合格率 = 合格/参考, from exam_summaries: by the unit people had at the exam); one page
    of people, each with the attempt that counts under the exam's rule. Attempts whose
    time is up are submitted first, as on the board.

    Paged in SQL: the page's people are picked by name first, and only their attempts are
    ranked; the counts read the summaries and the few attempts open now."""
    attempts.finalize_expired(now, grace, Attempt.exam_id == exam.id)
    rates = unit_rates(exam, scope)
    page = max(1, page)
    people_count, on_page = _page_of_people(exam, scope, page)
    pages = max(1, -(-people_count // RESULTS_PAGE_SIZE))
    if page > pages:
        page = pages
        people_count, on_page = _page_of_people(exam, scope, page)
    people = people_query(exam, now, scope, only=on_page)
    rows = [_row(values) for values in db.session.execute(_ordered(people)).mappings()]
    counts = state_counts(exam, now, scope, people_count, sum(rate.took for rate in rates))
    return ExamResults(exam, counts, rates, rows, page, pages)


def _page_of_people(exam: Exam, scope: set[int] | None, page: int) -> tuple[int, list[int]]:
    """How many people the results list, and the ids of those on `page` (by unit and
    name), in one statement."""
    everyone = everyone_query(exam, scope)
    found = db.session.execute(
        select(everyone.c.user_id, func.count().over())
        .join(User, User.id == everyone.c.user_id)
        .order_by(User.unit_id, User.name, User.id)
        .limit(RESULTS_PAGE_SIZE)
        .offset((page - 1) * RESULTS_PAGE_SIZE)
    ).all()
    if not found:
        return db.session.scalar(select(func.count()).select_from(everyone)) or 0, []
    return found[0][1], [user_id for user_id, _count in found]


def everyone_query(exam: Exam, scope: set[int] | None):
    """The user ids of everyone on a roster of the exam or with an attempt at it, within
    the scope (by their unit now), as a subquery."""
    on_roster = (
        select(BatchMember.user_id)
        .join(Batch, Batch.id == BatchMember.batch_id)
        .where(Batch.exam_id == exam.id)
    )
    tried = select(Attempt.user_id).where(Attempt.exam_id == exam.id)
    union = on_roster.union(tried).subquery("everyone_ids")
    stmt = select(union.c.user_id)
    if scope is not None:
        stmt = stmt.join(User, User.id == union.c.user_id).where(User.unit_id.in_(scope))
    return stmt.subquery("everyone")


def unit_rates(exam: Exam, scope: set[int] | None) -> list[UnitRate]:
    """Per unit how many were assigned, took it (have a counted attempt) and passed, from
    exam_summaries (by the unit people had at the exam)."""
    paths = units.unit_paths()
    rows = figures.grouped(ExamSummary.unit_id, where=[ExamSummary.exam_id == exam.id], scope=scope)
    return [
        UnitRate(
            row.unit_id,
            paths.get(row.unit_id, ""),
            int(row.assigned),
            int(row.took),
            int(row.passed),
        )
        for row in sorted(rows, key=lambda row: row.unit_id)
        if row.assigned or row.took
    ]


def state_counts(
    exam: Exam, now: datetime, scope: set[int] | None, people: int, submitted: int
) -> dict[str, int]:
    """How many people are in each state (sittings.member_state), from the counts of
    everyone and of those who handed in, and the few attempts open now: someone writing
    (a retake too) is 进行中; the rest, who never started, are 未开始 or, once their
    window closed, 未参加."""
    open_now = select(Attempt.user_id).where(
        Attempt.exam_id == exam.id, Attempt.status == AttemptStatus.IN_PROGRESS.value
    )
    if scope is not None:
        open_now = open_now.join(User, User.id == Attempt.user_id).where(User.unit_id.in_(scope))
    writing = set(db.session.scalars(open_now))
    retaking = 0
    if writing:
        retaking = (
            db.session.scalar(
                select(func.count(func.distinct(Attempt.user_id))).where(
                    Attempt.exam_id == exam.id,
                    Attempt.status == AttemptStatus.SUBMITTED.value,
                    Attempt.user_id.in_(writing),
                )
            )
            or 0
        )
    idle = max(0, people - submitted - len(writing) + retaking)
    absent = _absent(exam, now, scope) if idle else 0
    counts = {
        sittings.IN_PROGRESS: len(writing),
        sittings.SUBMITTED: submitted - retaking,
        sittings.ABSENT: absent,
        sittings.NOT_STARTED: idle - absent,
    }
    return {state: count for state, count in counts.items() if count}


def _absent(exam: Exam, now: datetime, scope: set[int] | None) -> int:
    """People who never started and whose every batch has closed (everyone who never
    started, once the exam is closed)."""
    closes = db.session.execute(
        select(func.min(Batch.closes_at), func.max(Batch.closes_at)).where(Batch.exam_id == exam.id)
    ).one()
    everyone_closed = exam.status == ExamStatus.CLOSED.value or (
        closes[1] is not None and closes[1] <= now
    )
    if not everyone_closed and (closes[0] is None or closes[0] > now):
        return 0  # every window still open
    roster = (
        select(BatchMember.user_id)
        .join(Batch, Batch.id == BatchMember.batch_id)
        .where(Batch.exam_id == exam.id)
        .group_by(BatchMember.user_id)
    )
    if not everyone_closed:
        roster = roster.having(func.max(Batch.closes_at) <= now)
    never = roster.where(
        ~select(Attempt.id)
        .where(Attempt.exam_id == exam.id, Attempt.user_id == BatchMember.user_id)
        .exists()
    ).subquery("never")
    stmt = select(func.count()).select_from(never)
    if scope is not None:
        stmt = stmt.join(User, User.id == never.c.user_id).where(User.unit_id.in_(scope))
    return db.session.scalar(stmt) or 0


RESULT_COLUMNS = [
    "姓名",
    "账号",
    "单位",
    "状态",
    "场次",
    "作答次数",
    "计分答卷",
    "成绩",
    "满分",
    "是否合格",
    "等级",
    "交卷时间（北京时间）",
]
RESULT_WIDTHS = [12, 16, 36, 8, 16, 9, 9, 8, 8, 9, 8, 20]
#: score and full marks with their two places, times as China time
RESULT_FORMATS = {7: "0.00", 8: "0.00", 11: "yyyy-mm-dd hh:mm"}
UNIT_COLUMNS = ["单位", "应考人数", "参考人数", "合格人数", "合格率"]
UNIT_WIDTHS = [40, 10, 10, 10, 10]
EXPORT_FORMATS = ("csv", "xlsx")
#: rows fetched from the database at a time while exporting
EXPORT_BATCH = 1000


def _export_rows(people, paths: dict[int, str], counter: list[int]) -> Iterator[list]:
    """Rows for the export, fetched a thousand at a time; numbers stay numbers."""
    stmt = _ordered(people).execution_options(yield_per=EXPORT_BATCH)
    for values in db.session.execute(stmt).mappings():
        row = _row(values)
        counter[0] += 1
        yield [
            row.name,
            row.login,
            paths.get(row.unit_id, ""),
            row.state_label,
            row.batch_name or "",
            row.submitted,
            f"第{row.number}次" if row.number else "",
            row.score,
            row.max_score,
            row.result_label,
            row.grade_label or "",
            clock.china_time(row.submitted_at),
        ]


def record_view(actor: Actor, outcome: ExamResults) -> None:
    """A page of results shows people's scores: audited with whose were shown."""
    record(
        actor,
        "exam.results",
        object_type="exam",
        object_id=outcome.exam.id,
        summary=f"第 {outcome.page} 页，{len(outcome.rows)} 人",
        detail={"page": outcome.page, "users": [row.user_id for row in outcome.rows]},
    )


def export_results(
    actor: Actor,
    exam: Exam,
    fmt: str,
    now: datetime,
    grace: timedelta,
    scope: set[int] | None = None,
) -> bytes:
    """The results as a file (xlsx: the people, and pass rates by unit on a second
    sheet); an export of personal data, so it is audited."""
    if fmt not in EXPORT_FORMATS:
        raise SetupError("不支持该导出格式。")
    attempts.finalize_expired(now, grace, Attempt.exam_id == exam.id)
    people = people_query(exam, now, scope)
    paths = units.unit_paths()
    counter = [0]
    rows = _export_rows(people, paths, counter)
    if fmt == "csv":
        data = write_csv(RESULT_COLUMNS, rows)
    else:
        by_unit = [
            [rate.path, rate.assigned, rate.took, rate.passed, rate.fraction]
            for rate in unit_rates(exam, scope)
        ]
        data = write_xlsx(
            [
                Sheet(
                    "考试成绩",
                    RESULT_COLUMNS,
                    rows,
                    widths=RESULT_WIDTHS,
                    caption=exam.title,
                    formats=RESULT_FORMATS,
                ),
                Sheet(
                    "按单位",
                    UNIT_COLUMNS,
                    by_unit,
                    widths=UNIT_WIDTHS,
                    caption=f"{exam.title}：合格率 = 合格人数 / 参考人数；{BY_UNIT_AT_EXAM}",
                    formats={4: "0.0%"},
                ),
            ]
        )
    record(
        actor,
        "exam.export",
        object_type="exam",
        object_id=exam.id,
        summary=f"{exam.title}：导出 {counter[0]} 人的成绩（{fmt}）",
        detail={"format": fmt, "rows": counter[0], "all_units": scope is None},
    )
    return data
