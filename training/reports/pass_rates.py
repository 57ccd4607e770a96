"""The administrators' report: pass rates by exam, batch, unit (rolled up) and year, the
participation funnel, the score distribution, 领导干部 against everyone; all read from
exam_summaries, limited to the admin's unit subtree. And one person's attempts (audited).

`scope` arguments are the unit ids an administrator manages
(accounts.manageable_unit_ids): None means all."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import extract, func, select

from core.audit import Actor, record
from core.extensions import db
from core.spreadsheets import Sheet, write_xlsx
from training.exams.models import EXAM_KIND_LABELS, Attempt, AttemptStatus, Batch, Exam
from training.models import Unit, User, subtree_ids
from training.reports.figures import Figures, UnitFigures, by_unit, grouped
from training.reports.item_analysis import ReportError
from training.reports.models import BUCKETS, ExamSummary

exam_year = extract("year", Exam.opens_at)
BUCKET_LABELS = [f"{10 * index}–{10 * index + 9}%" for index in range(BUCKETS - 1)] + ["90–100%"]
OUTSIDE_SCOPE = "您无权查看该单位的数据：只能查看本单位及下级单位。"
#: a group of fewer people who took an exam than this tells their own results: a report
#: showing one is recorded in the audit log, as a look at a person's record is
SMALL_GROUP = 3


@dataclass
class ReportFilter:
    year: int | None = None
    kind: str | None = None
    exam_id: int | None = None
    #: only this unit and the units below it
    unit_id: int | None = None
    #: only 领导干部
    leaders: bool = False

    def conditions(self, *, with_year: bool = True, with_leaders: bool = True) -> list:
        where = []
        if self.year and with_year:
            where.append(exam_year == self.year)
        if self.kind:
            where.append(Exam.kind == self.kind)
        if self.exam_id:
            where.append(ExamSummary.exam_id == self.exam_id)
        if self.leaders and with_leaders:
            where.append(ExamSummary.is_leader.is_(True))
        return where


def effective_scope(scope: set[int] | None, unit_id: int | None) -> set[int] | None:
    """The units a report covers: the admin's, narrowed to a unit's subtree; a unit
    outside the admin's scope is refused."""
    if unit_id is None:
        return scope
    if db.session.get(Unit, unit_id) is None or (scope is not None and unit_id not in scope):
        raise ReportError(OUTSIDE_SCOPE, code="forbidden", status=403)
    below = subtree_ids(unit_id)
    return below if scope is None else below & scope


@dataclass
class Labelled:
    label: str
    figures: Figures
    #: what the label stands for (an exam, a batch), for links
    key: object = None


@dataclass
class AdminReport:
    filters: ReportFilter
    total: Figures
    #: people writing their first attempt now (started, not yet handed in)
    writing: int
    exams: list[Labelled]
    batches: list[Labelled]
    units: list[UnitFigures]
    years: list[Labelled]
    leaders: list[Labelled]
    exam_choices: list[tuple[int, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.total.empty

    @property
    def funnel(self) -> list[tuple[str, int]]:
        total = self.total
        return [
            ("应考", total.assigned),
            ("已开考", total.took + self.writing),
            ("已交卷", total.took),
            ("合格", total.passed),
            ("优秀（≥90%）", total.excellent),
        ]

    @property
    def distribution(self) -> list[tuple[str, int]]:
        return list(zip(BUCKET_LABELS, self.total.buckets, strict=True))


def _sum(rows) -> Figures:
    total = Figures()
    for row in rows:
        total.add(Figures.of_row(row))
    return total


def admin_report(scope: set[int] | None, filters: ReportFilter) -> AdminReport:
    scope = effective_scope(scope, filters.unit_id)
    where = filters.conditions()
    total = _sum(grouped(ExamSummary.exam_id, where=where, scope=scope))
    exams = [
        Labelled(title, Figures.of_row(row), exam_id)
        for exam_id, title, row in _rows_with(
            grouped(ExamSummary.exam_id, Exam.title, Exam.opens_at, where=where, scope=scope),
            key=lambda row: (row.opens_at, row.exam_id),
            label=lambda row: (row.exam_id, row.title),
        )
    ]
    batches = []
    if filters.exam_id:
        batches = [
            Labelled(row.name, Figures.of_row(row), row.batch_id)
            for row in sorted(
                grouped(
                    ExamSummary.batch_id,
                    Batch.name,
                    where=where,
                    scope=scope,
                    joins=[(Batch, Batch.id == ExamSummary.batch_id)],
                ),
                key=lambda row: row.batch_id,
            )
        ]
    years = [
        Labelled(f"{int(row.year)}年", Figures.of_row(row), int(row.year))
        for row in sorted(
            grouped(
                exam_year.label("year"), where=filters.conditions(with_year=False), scope=scope
            ),
            key=lambda row: row.year,
        )
    ]
    by_leader = {
        bool(row.is_leader): Figures.of_row(row)
        for row in grouped(
            ExamSummary.is_leader, where=filters.conditions(with_leaders=False), scope=scope
        )
    }
    everyone = Figures()
    for figures in by_leader.values():
        everyone.add(figures)
    leaders = [
        Labelled("领导干部", by_leader.get(True, Figures())),
        Labelled("其他人员", by_leader.get(False, Figures())),
        Labelled("全体人员", everyone),
    ]
    return AdminReport(
        filters,
        total,
        _writing(scope, filters),
        exams,
        batches,
        by_unit(where, scope),
        years,
        leaders,
    )


def _rows_with(rows, key, label):
    for row in sorted(rows, key=key):
        yield (*label(row), row)


def _writing(scope: set[int] | None, filters: ReportFilter) -> int:
    """People writing their first attempt now: started but not in the summaries yet (few,
    found through the index of open attempts)."""
    stmt = (
        select(func.count())
        .select_from(Attempt)
        .join(Exam, Exam.id == Attempt.exam_id)
        .join(User, User.id == Attempt.user_id)
        .where(Attempt.status == AttemptStatus.IN_PROGRESS.value, Attempt.number == 1)
    )
    if filters.year:
        stmt = stmt.where(exam_year == filters.year)
    if filters.kind:
        stmt = stmt.where(Exam.kind == filters.kind)
    if filters.exam_id:
        stmt = stmt.where(Attempt.exam_id == filters.exam_id)
    if filters.leaders:
        stmt = stmt.where(User.is_leader.is_(True))
    if scope is not None:
        stmt = stmt.where(User.unit_id.in_(scope))
    return db.session.scalar(stmt) or 0


def filter_choices(scope: set[int] | None) -> dict:
    """Years and exams that have figures within the scope, for the filter form."""
    stmt = (
        select(Exam.id, Exam.title, exam_year.label("year"))
        .where(Exam.id.in_(select(ExamSummary.exam_id).distinct()))
        .order_by(Exam.opens_at.desc(), Exam.id.desc())
    )
    if scope is not None:
        stmt = stmt.where(
            Exam.id.in_(select(ExamSummary.exam_id).where(ExamSummary.unit_id.in_(scope)))
        )
    rows = db.session.execute(stmt).all()
    return {
        "years": sorted({int(row.year) for row in rows}, reverse=True),
        "exams": [(row.id, f"{row.title}（{int(row.year)}年）") for row in rows],
        "kinds": list(EXAM_KIND_LABELS.items()),
    }


def small_groups(report: AdminReport) -> list[str]:
    """The groups the report shows whose figures are those of fewer than SMALL_GROUP
    people who took the exams (a bureau's only 领导干部, a unit of two)."""
    groups = [("合计", report.total)]
    groups += [(f"考试：{item.label}", item.figures) for item in report.exams]
    groups += [(f"场次：{item.label}", item.figures) for item in report.batches]
    groups += [(f"年度：{item.label}", item.figures) for item in report.years]
    groups += [(f"人员：{item.label}", item.figures) for item in report.leaders]
    for row in report.units:
        groups += [(f"单位：{row.unit.name}（本单位）", row.own)]
        groups += [(f"单位：{row.unit.name}（含下级）", row.subtree)]
    return list(dict.fromkeys(label for label, figures in groups if 0 < figures.took < SMALL_GROUP))


def record_view(actor: Actor, report: AdminReport, caption: str) -> None:
    """A report whose groups include one of fewer than SMALL_GROUP people shows their
    results: audited, naming those groups."""
    groups = small_groups(report)
    if groups:
        record(
            actor,
            "report.small_groups",
            summary=f"查看统计报表：{caption}；{len(groups)} 个分组不足 {SMALL_GROUP} 人",
            detail=_filter_detail(report.filters) | {"groups": groups[:50]},
        )


# --- export --------------------------------------------------------------------------

RATE = "0.0%"
FIGURE_COLUMNS = ["应考人数", "参考人数", "合格人数", "优秀人数", "合格率", "优秀率", "平均得分率"]
FIGURE_FORMATS = {5: RATE, 6: RATE, 7: RATE}


def _figure_cells(figures: Figures) -> list:
    mean = figures.mean_percent / 100 if figures.mean_percent is not None else None
    return [
        figures.assigned,
        figures.took,
        figures.passed,
        figures.excellent,
        figures.pass_rate,
        figures.excellent_rate,
        mean,
    ]


def export_report(actor: Actor, report: AdminReport, caption: str) -> bytes:
    """Every table of the report as a sheet, numbers as numbers (rates as fractions with
    a percent format); audited, like every export."""
    sheets = [
        Sheet(
            "按考试",
            ["考试", *FIGURE_COLUMNS],
            [[item.label, *_figure_cells(item.figures)] for item in report.exams],
            widths=[36],
            caption=caption,
            formats=FIGURE_FORMATS,
        ),
        Sheet(
            "按单位",
            ["单位", "范围", *FIGURE_COLUMNS],
            [
                ["　" * row.depth + row.unit.name, scope_label, *_figure_cells(figures)]
                for row in report.units
                for scope_label, figures in (("本单位", row.own), ("含下级", row.subtree))
            ],
            widths=[36, 8],
            caption=caption,
            formats={index + 1: fmt for index, fmt in FIGURE_FORMATS.items()},
        ),
        Sheet(
            "参与情况",
            ["环节", "人数"],
            [list(step) for step in report.funnel],
            caption=caption,
        ),
        Sheet(
            "成绩分布",
            ["得分率", "人数"],
            [list(step) for step in report.distribution],
            caption=caption,
        ),
        Sheet(
            "历年趋势",
            ["年度", *FIGURE_COLUMNS],
            [[item.key, *_figure_cells(item.figures)] for item in report.years],
            caption=caption,
            formats=FIGURE_FORMATS,
        ),
        Sheet(
            "领导干部",
            ["人员", *FIGURE_COLUMNS],
            [[item.label, *_figure_cells(item.figures)] for item in report.leaders],
            caption=caption,
            formats=FIGURE_FORMATS,
        ),
    ]
    if report.batches:
        sheets.insert(
            1,
            Sheet(
                "按场次",
                ["场次", *FIGURE_COLUMNS],
                [[item.label, *_figure_cells(item.figures)] for item in report.batches],
                caption=caption,
                formats=FIGURE_FORMATS,
            ),
        )
    data = write_xlsx(sheets)
    record(
        actor,
        "report.export",
        summary=f"导出统计报表：{caption}",
        detail=_filter_detail(report.filters),
    )
    return data


def _filter_detail(filters: ReportFilter) -> dict:
    return {name: value for name, value in vars(filters).items() if value not in (None, False, "")}


# --- one person ----------------------------------------------------------------------


@dataclass
class PersonAttempt:
    exam_title: str
    exam_kind: str
    batch_name: str
    number: int
    status: str
    score: object
    max_score: object
    passed: bool | None
    grade_label: str
    started_at: datetime
    submitted_at: datetime | None


def person_attempts(actor: Actor, user: User) -> list[PersonAttempt]:
    """Every attempt of one official with its score, newest first; a view of another
    person's record, so it is audited."""
    rows = db.session.execute(
        select(
            Exam.title,
            Exam.kind,
            Batch.name,
            Attempt.number,
            Attempt.status,
            Attempt.score,
            Attempt.max_score,
            Attempt.passed,
            Attempt.grade_label,
            Attempt.started_at,
            Attempt.submitted_at,
        )
        .join(Exam, Exam.id == Attempt.exam_id)
        .join(Batch, Batch.id == Attempt.batch_id)
        .where(Attempt.user_id == user.id)
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
    ).all()
    found = [PersonAttempt(*row) for row in rows]
    record(
        actor,
        "report.person",
        object_type="user",
        object_id=user.id,
        summary=f"查看 {user.name}（{user.login}）的考试记录，{len(found)} 份答卷",
    )
    return found
