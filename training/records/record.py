"""The personal study record (学法档案): every activity, module, exam, nomination and
certificate of a person, and their progress toward each year's requirements.

Module completions and exam attempts are read where they live (training.study,
training.exams), never copied."""

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload

from core import clock
from core.audit import Actor, record
from core.extensions import db
from core.roles import Role
from core.spreadsheets import Sheet, write_xlsx
from training.accounts import manageable_unit_ids
from training.exams.models import Attempt, AttemptStatus, Exam, ExamKind, ReviewPolicy
from training.models import User
from training.records import appointments as nominations
from training.records import requirements
from training.records.models import (
    Activity,
    ActivityKind,
    Attendance,
    AttendanceStatus,
    Certificate,
    YearTotal,
)
from training.records.requirements import Facts, Progress, Totals
from training.study.models import ModuleCompletion, ModuleVersion

ZERO = Decimal(0)
#: how many past years the record shows progress for
PAST_YEARS = 4


def _day(moment) -> date:
    return clock.china_time(moment).date()


def can_view(viewer: User, person: User) -> bool:
    """A person sees their own record; a system admin or unit admin those in their units."""
    if viewer.id == person.id:
        return True
    if not viewer.has_any_role(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN):
        return False
    scope = manageable_unit_ids(viewer)
    return scope is None or person.unit_id in scope


def record_view(actor: Actor, viewer: User, person: User, how: str) -> None:
    """An admin looking at (or exporting, printing) someone else's record is audited."""
    if viewer.id == person.id:
        return
    if how == "export":
        action = "records.record.export"
    elif how == "print":
        action = "records.record.print"
    else:
        action = "records.record.view"
    record(actor, action, object_type="user", object_id=person.id, summary=person.name)


@dataclass
class ModuleRow:
    title: str
    completed_on: date
    credit_hours: Decimal


@dataclass
class PersonRecord:
    person: User
    attendances: list[Attendance]
    modules: list[ModuleRow]
    attempts: list[Attempt]
    nominees: list[nominations.NomineeRow]
    progress: list[tuple[int, list[Progress]]]
    certificates: list = field(default_factory=list)

    @property
    def this_year(self) -> list[Progress]:
        return self.progress[0][1] if self.progress else []

    def hours_in(self, year: int) -> Decimal:
        activity = sum(
            (a.activity.credit_hours for a in self.approved if a.activity.held_on.year == year),
            Decimal(0),
        )
        return activity + sum(
            (m.credit_hours for m in self.modules if m.completed_on.year == year), Decimal(0)
        )

    @property
    def approved(self) -> list[Attendance]:
        return [a for a in self.attendances if a.status == AttendanceStatus.APPROVED.value]


def facts(
    attendances, modules: list[ModuleRow], attempts: list[Attempt], own: bool = False
) -> Facts:
    """A person's facts; in their `own` view, only the passes of exams that publish
    results (review finding F10: a requirement must not tell what the exam does not)."""
    approved = [a for a in attendances if a.status == AttendanceStatus.APPROVED.value]
    return Facts(
        credits=[(a.activity.held_on, a.activity.credit_hours) for a in approved]
        + [(m.completed_on, m.credit_hours) for m in modules],
        exams=[
            (_day(t.submitted_at), t.exam.kind)
            for t in attempts
            if t.passed and (t.exam.shows_score or not own)
        ],
        activities=[(a.activity.held_on, a.activity.kind) for a in approved],
    )


def undisclosed_exams(user_id: int) -> set[tuple[int, str]]:
    """(year, exam kind) of the person's handed-in attempts at exams that publish no
    results: in their own view, what those could decide is shown as 结果未公布."""
    rows = db.session.execute(
        select(Attempt.submitted_at, Exam.kind)
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(
            Attempt.user_id == user_id,
            Attempt.status == AttemptStatus.SUBMITTED.value,
            Exam.review_policy == ReviewPolicy.NOTHING.value,
        )
    )
    return {(_day(submitted_at).year, kind) for submitted_at, kind in rows}


def hide_undisclosed(progress: list[Progress], undisclosed: set[tuple[int, str]]) -> list[Progress]:
    """An exam item not met by a published pass, where an unpublished result exists that
    year, becomes hidden (结果未公布) rather than 尚未通过."""
    for group_progress in progress:
        group_progress.items = [
            replace(item, hidden=True)
            if item.exam_kind
            and not item.met
            and (group_progress.year, item.exam_kind) in undisclosed
            else item
            for item in group_progress.items
        ]
    return progress


def person_record(person: User, own: bool = False, today: date | None = None) -> PersonRecord:
    """Everything on a person's record; `own`: as the person sees it themselves."""
    today = today or clock.china_today()
    attendances = list(
        db.session.scalars(
            select(Attendance)
            .options(
                joinedload(Attendance.activity).selectinload(Activity.evidence),
                joinedload(Attendance.reviewer),
            )
            .where(Attendance.user_id == person.id)
        ).unique()
    )
    attendances.sort(key=lambda a: (a.activity.held_on, a.id), reverse=True)
    modules = [
        ModuleRow(title, _day(completed_at), hours)
        for title, completed_at, hours in db.session.execute(
            select(
                ModuleVersion.title, ModuleCompletion.completed_at, ModuleCompletion.credit_hours
            )
            .join(ModuleVersion, ModuleVersion.id == ModuleCompletion.version_id)
            .where(ModuleCompletion.user_id == person.id)
            .order_by(ModuleCompletion.completed_at.desc())
        )
    ]
    attempts = list(
        db.session.scalars(
            select(Attempt)
            .join(Exam, Exam.id == Attempt.exam_id)
            .options(selectinload(Attempt.exam), selectinload(Attempt.batch))
            .where(
                Attempt.user_id == person.id,
                Attempt.status == AttemptStatus.SUBMITTED.value,
                Exam.kind != ExamKind.MODULE_QUIZ.value,
            )
            .order_by(Attempt.submitted_at.desc())
        )
    )
    nominees = nominations.nominee_rows(nominations.appointments_of(person.id))
    known = facts(attendances, modules, attempts, own)
    rules = requirements.stored_rules()
    groups = requirements.groups_of(person.is_leader, person.is_enforcement_officer)
    first_year = min(
        [d.year for d, _ in known.credits]
        + [_day(t.submitted_at).year for t in attempts]
        + [today.year]
    )
    years = range(today.year, max(first_year, today.year - PAST_YEARS) - 1, -1)
    undisclosed = {
        (_day(t.submitted_at).year, t.exam.kind) for t in attempts if own and not t.exam.shows_score
    }
    progress = [
        (
            year,
            hide_undisclosed(requirements.evaluate_person(rules, groups, known, year), undisclosed),
        )
        for year in years
    ]
    found = PersonRecord(person, attendances, modules, attempts, nominees, progress)
    found.certificates = list(
        db.session.scalars(
            select(Certificate)
            .options(selectinload(Certificate.reviews))
            .where(Certificate.user_id == person.id)
            .order_by(Certificate.issued_on.desc())
        )
    )
    return found


def _outcome(item) -> str:
    if item.hidden:
        return "结果未公布"
    return "已完成" if item.met else ("尚未通过" if item.exam_kind else "未完成")


def export_record(actor: Actor, viewer: User, person: User) -> bytes:
    """The record as a workbook (one sheet per part), for the personnel file."""
    own = viewer.id == person.id
    found = person_record(person, own)
    record_view(actor, viewer, person, "export")
    caption = f"{person.name}（{person.unit.path}）学法档案，导出于 {clock.china_today()}"
    progress_rows = [
        [
            year,
            p.group.label,
            item.label,
            item.needed,
            None if item.hidden else item.done,
            _outcome(item),
        ]
        for year, groups in found.progress
        for p in groups
        for item in p.items
    ]
    activity_rows = [
        [
            a.activity.held_on,
            a.activity.kind_label,
            a.activity.title,
            a.activity.credit_hours,
            a.status_label,
            "、".join(e.filename for e in a.activity.evidence),
            a.remark,
        ]
        for a in found.attendances
    ]
    module_rows = [[m.completed_on, m.title, m.credit_hours] for m in found.modules]
    exam_rows = [
        [
            _day(t.submitted_at),
            t.exam.title,
            t.exam.kind_label,
            t.batch.name,
            *(
                [
                    t.score,
                    t.exam.pass_mark,
                    "通过" if t.passed else ("未通过" if t.passed is False else "待阅卷"),
                ]
                if t.exam.shows_score or not own
                else [None, t.exam.pass_mark, "已交卷（本考试不公布成绩）"]
            ),
        ]
        for t in found.attempts
    ]
    nominee_rows = [
        [
            n.appointment.post,
            n.appointment.exam.title,
            n.appointment.candidate_number,
            n.stage_label(own),
            "已宣誓" if n.oath_recorded else "",
        ]
        for n in found.nominees
    ]
    return write_xlsx(
        [
            Sheet(
                "年度要求",
                ["年度", "适用人员", "要求", "应完成", "已完成", "结果"],
                progress_rows,
                widths=[8, 18, 20, 10, 10, 10],
                caption=caption,
            ),
            Sheet(
                "学法活动",
                ["日期", "类型", "名称", "学时", "状态", "证明材料", "审核意见"],
                activity_rows,
                widths=[12, 14, 36, 8, 10, 30, 30],
                caption=caption,
            ),
            Sheet(
                "学习模块",
                ["完成日期", "模块", "学时"],
                module_rows,
                widths=[12, 40, 8],
                caption=caption,
            ),
            Sheet(
                "考试",
                ["交卷日期", "考试", "类型", "场次", "得分", "合格分", "结果"],
                exam_rows,
                widths=[12, 36, 16, 16, 8, 8, 8],
                caption=caption,
            ),
            Sheet(
                "任前考试与宪法宣誓",
                ["拟任职务", "考试", "准考证号", "结果", "宪法宣誓"],
                nominee_rows,
                widths=[20, 36, 16, 24, 10],
                caption=caption,
            ),
        ]
    )


def year_totals(people, year: int, published_only: bool = False) -> dict[int, Totals]:
    """Each person's totals for the year, at once (three queries). `people` is a list of
    user ids, or a select of them (thousands of ids are better sent as the query that
    finds them than as bound parameters). Activities are read from record_year_totals;
    modules and exams where they live; `published_only`: only passes of exams that
    publish results (for a person's own view)."""
    if isinstance(people, Select):
        ids = list(db.session.scalars(people))
    else:
        ids = list(people)
        people = ids
    if not ids:
        return {}
    hours: dict[int, Decimal] = {}
    done: dict[int, tuple[tuple[str, int], ...]] = {}
    passed: dict[int, set[str]] = {}
    start = clock.china_day_bounds(date(year, 1, 1))[0]
    end = clock.china_day_bounds(date(year, 12, 31))[1]
    kinds = [kind.value for kind in ActivityKind]
    for user_id, credit, *counts in db.session.execute(
        select(
            YearTotal.user_id, YearTotal.hours, *(YearTotal.__table__.c[k] for k in kinds)
        ).where(YearTotal.user_id.in_(people), YearTotal.year == year)
    ):
        hours[user_id] = credit
        done[user_id] = tuple(
            (kind, count) for kind, count in zip(kinds, counts, strict=True) if count
        )
    for user_id, credit in db.session.execute(
        select(ModuleCompletion.user_id, func.sum(ModuleCompletion.credit_hours))
        .where(
            ModuleCompletion.user_id.in_(people),
            ModuleCompletion.completed_at >= start,
            ModuleCompletion.completed_at < end,
        )
        .group_by(ModuleCompletion.user_id)
    ):
        hours[user_id] = hours.get(user_id, Decimal(0)) + credit
    passes = (
        select(Attempt.user_id, Exam.kind)
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(
            Attempt.user_id.in_(people),
            Attempt.status == AttemptStatus.SUBMITTED.value,
            Attempt.passed.is_(True),
            Exam.kind != ExamKind.MODULE_QUIZ.value,
            Attempt.submitted_at >= start,
            Attempt.submitted_at < end,
        )
    )
    if published_only:
        passes = passes.where(Exam.review_policy != ReviewPolicy.NOTHING.value)
    for user_id, kind in db.session.execute(passes):
        passed.setdefault(user_id, set()).add(kind)
    # Few distinct totals among thousands of people: one object each (less to collect).
    shared: dict[Totals, Totals] = {}
    found = {}
    for key in ids:
        totals = Totals(hours.get(key, ZERO), frozenset(passed.get(key, ())), done.get(key, ()))
        found[key] = shared.setdefault(totals, totals)
    return found
