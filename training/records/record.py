"""The personal study record (学法档案): every activity, module, exam, nomination and
certificate of a person, and their progress toward each year's requirements.

Module completions and exam attempts are read where they live (training.study,
training.exams), never copied."""

from dataclasses import dataclass, field
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
from training.exams.models import Attempt, AttemptStatus, Exam, ExamKind
from training.models import User
from training.records import appointments as nominations
from training.records import requirements
from training.records.models import Activity, Attendance, AttendanceStatus, Certificate
from training.records.requirements import Facts, Progress
from training.study.models import ModuleCompletion, ModuleVersion

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


def facts(attendances, modules: list[ModuleRow], attempts: list[Attempt]) -> Facts:
    approved = [a for a in attendances if a.status == AttendanceStatus.APPROVED.value]
    return Facts(
        credits=[(a.activity.held_on, a.activity.credit_hours) for a in approved]
        + [(m.completed_on, m.credit_hours) for m in modules],
        exams=[(_day(t.submitted_at), t.exam.kind) for t in attempts if t.passed],
        activities=[(a.activity.held_on, a.activity.kind) for a in approved],
    )


def person_record(person: User, today: date | None = None) -> PersonRecord:
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
    known = facts(attendances, modules, attempts)
    rules = requirements.stored_rules()
    groups = requirements.groups_of(person.is_leader, person.is_enforcement_officer)
    first_year = min([d.year for d, _ in known.credits + list(known.exams)] or [today.year])
    years = range(today.year, max(first_year, today.year - PAST_YEARS) - 1, -1)
    progress = [(year, requirements.evaluate_person(rules, groups, known, year)) for year in years]
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


def _yes(met: bool) -> str:
    return "已完成" if met else "未完成"


def export_record(actor: Actor, viewer: User, person: User) -> bytes:
    """The record as a workbook (one sheet per part), for the personnel file."""
    found = person_record(person)
    record_view(actor, viewer, person, "export")
    caption = f"{person.name}（{person.unit.path}）学法档案，导出于 {clock.china_today()}"
    progress_rows = [
        [year, p.group.label, item.label, item.needed, item.done, _yes(item.met)]
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
    own = viewer.id == person.id
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
            n.stage.label,
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


def facts_of_people(people, year: int | None = None) -> dict[int, Facts]:
    """Facts of many people at once (three queries), for the year given or all years.
    `people` is a list of user ids, or a select of them (thousands of ids are better sent
    as the query that finds them than as bound parameters)."""
    if isinstance(people, Select):
        ids = list(db.session.scalars(people))
    else:
        ids = list(people)
        people = ids
    credits: dict[int, list] = {key: [] for key in ids}
    exams: dict[int, list] = {key: [] for key in ids}
    done: dict[int, list] = {key: [] for key in ids}
    if not ids:
        return {}
    activity_rows = (
        select(Attendance.user_id, Activity.held_on, Activity.credit_hours, Activity.kind)
        .join(Activity, Activity.id == Attendance.activity_id)
        .where(Attendance.user_id.in_(people), Attendance.status == AttendanceStatus.APPROVED.value)
    )
    module_rows = select(
        ModuleCompletion.user_id, ModuleCompletion.completed_at, ModuleCompletion.credit_hours
    ).where(ModuleCompletion.user_id.in_(people))
    exam_rows = (
        select(Attempt.user_id, Attempt.submitted_at, Exam.kind)
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(
            Attempt.user_id.in_(people),
            Attempt.status == AttemptStatus.SUBMITTED.value,
            Attempt.passed.is_(True),
            Exam.kind != ExamKind.MODULE_QUIZ.value,
        )
    )
    if year is None:
        for user_id, held_on, hours, kind in db.session.execute(activity_rows):
            credits[user_id].append((held_on, hours))
            done[user_id].append((held_on, kind))
    else:
        # One year: sums and counts per person and kind from the database (every day is in
        # the year, so the year's first stands for each): far fewer rows to turn into Python.
        first, last = date(year, 1, 1), date(year, 12, 31)
        start, end = clock.china_day_bounds(first)[0], clock.china_day_bounds(last)[1]
        summed = (
            select(
                Attendance.user_id,
                Activity.kind,
                func.sum(Activity.credit_hours),
                func.count(),
            )
            .join(Activity, Activity.id == Attendance.activity_id)
            .where(
                Attendance.user_id.in_(people),
                Attendance.status == AttendanceStatus.APPROVED.value,
                Activity.held_on.between(first, last),
            )
            .group_by(Attendance.user_id, Activity.kind)
        )
        for user_id, kind, hours, count in db.session.execute(summed):
            credits[user_id].append((first, hours))
            done[user_id].extend([(first, kind)] * count)
        module_rows = module_rows.where(
            ModuleCompletion.completed_at >= start, ModuleCompletion.completed_at < end
        )
        exam_rows = exam_rows.where(Attempt.submitted_at >= start, Attempt.submitted_at < end)
    for user_id, completed_at, hours in db.session.execute(module_rows):
        credits[user_id].append((_day(completed_at), hours))
    for user_id, submitted_at, kind in db.session.execute(exam_rows):
        exams[user_id].append((_day(submitted_at), kind))
    return {key: Facts(credits[key], exams[key], done[key]) for key in ids}
