"""Recording activities: by a unit admin for the people of their units, or by a person for
themselves pending another admin's review, with scans or photos as evidence."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core import clock
from core.audit import Actor, record
from core.errors import ServiceError
from core.extensions import db
from core.roles import Role
from core.uploads import check_evidence
from training.accounts import find_active_people, manageable_unit_ids
from training.models import User
from training.records import totals
from training.records.appointments import passed_appointment_ids
from training.records.models import (
    Activity,
    ActivityKind,
    Appointment,
    Attendance,
    AttendanceStatus,
    Evidence,
)

MAX_HOURS = Decimal(50)
MAX_EVIDENCE_FILES = 5
#: what a person may submit for themselves (an oath is recorded by the admin who held it)
SELF_KINDS = (
    ActivityKind.PRE_MEETING,
    ActivityKind.COURT_HEARING,
    ActivityKind.LECTURE,
    ActivityKind.LAW_DAY,
    ActivityKind.YEAR_END_REPORT,
)
#: what an admin records for others (a year-end report is the leader's own, submitted)
ADMIN_KINDS = tuple(kind for kind in ActivityKind if kind != ActivityKind.YEAR_END_REPORT)
#: the days of the year 普法 events are usually held on (the source report's list)
LAW_DAYS = ("3·8", "3·15", "4·15", "6·5", "12·4")

NOT_YOURS = "该记录不在您的管理范围内。"


class RecordError(ServiceError):
    """A rule of study records was broken; the message is shown as is."""

    code = "record_rule"


@dataclass
class Upload:
    filename: str
    data: bytes


@dataclass
class ActivityData:
    """What is entered for an activity, on the admin's form or a person's own."""

    kind: str
    held_on: date | None
    title: str
    credit_hours: Decimal | None
    topic: str = ""
    laws_studied: str = ""
    presenter: str = ""
    place: str = ""
    case_type: str = ""
    law_day: str = ""
    report_text: str = ""
    uploads: list[Upload] = field(default_factory=list)


def check_activity_data(data: ActivityData, today: date) -> dict[str, str]:
    """Field name → Chinese message for every rule `data` breaks."""
    errors = {}
    if data.kind not in ActivityKind.__members__.values():
        errors["kind"] = "请选择活动类型。"
    if data.held_on is None:
        errors["held_on"] = "请填写日期。"
    elif data.held_on > today:
        errors["held_on"] = "日期不能晚于今天：只记录已经举行的活动。"
    if not data.title.strip():
        errors["title"] = "请填写名称。"
    if data.credit_hours is None or not Decimal(0) <= data.credit_hours <= MAX_HOURS:
        errors["credit_hours"] = f"学时应在 0–{MAX_HOURS} 之间。"
    if data.kind == ActivityKind.COURT_HEARING and not data.place.strip():
        errors["place"] = "请填写旁听的法院。"
    if data.kind == ActivityKind.LAW_DAY and not data.law_day.strip():
        errors["law_day"] = "请填写普法节点，如 3·15。"
    if data.kind == ActivityKind.YEAR_END_REPORT and not (data.report_text.strip() or data.uploads):
        errors["report_text"] = "请填写述法报告正文，或上传报告文件。"
    if len(data.uploads) > MAX_EVIDENCE_FILES:
        errors["evidence"] = f"证明材料最多 {MAX_EVIDENCE_FILES} 个文件。"
    return errors


def _checked_uploads(uploads: list[Upload]) -> list[tuple[Upload, str]]:
    """Every upload's kind, or the first refusal: nothing is stored before all pass."""
    checked = []
    for upload in uploads:
        try:
            checked.append((upload, check_evidence(upload.filename, upload.data)))
        except ServiceError as error:
            raise RecordError(
                f"「{upload.filename}」：{error.message}",
                fields={"evidence": f"「{upload.filename}」：{error.message}"},
            ) from error
    return checked


def _new_activity(recorder: User, data: ActivityData, unit_id: int) -> Activity:
    checked = _checked_uploads(data.uploads)
    activity = Activity(
        kind=data.kind,
        held_on=data.held_on,
        title=data.title.strip(),
        topic=data.topic.strip(),
        laws_studied=data.laws_studied.strip(),
        presenter=data.presenter.strip(),
        place=data.place.strip(),
        case_type=data.case_type.strip(),
        law_day=data.law_day.strip(),
        report_text=data.report_text.strip(),
        credit_hours=data.credit_hours,
        unit_id=unit_id,
        recorded_by=recorder.id,
    )
    _attach_evidence(activity, checked, recorder)
    db.session.add(activity)
    return activity


def _raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise RecordError("；".join(errors.values()), fields=errors)


def passed_appointments_without_oath(user_ids: list[int]) -> dict[int, Appointment]:
    """Per person, a passed appointment of theirs whose oath is not yet recorded."""
    sworn = select(Attendance.appointment_id).where(Attendance.appointment_id.is_not(None))
    appointments = db.session.scalars(
        select(Appointment)
        .where(Appointment.user_id.in_(user_ids), Appointment.id.not_in(sworn))
        .order_by(Appointment.id)
    ).all()
    passed = passed_appointment_ids(appointments)
    found: dict[int, Appointment] = {}
    for appointment in appointments:
        if appointment.id in passed:
            found.setdefault(appointment.user_id, appointment)
    return found


def record_activity(
    actor: Actor, admin: User, data: ActivityData, attendee_ids: list[int], unit_id: int
) -> Activity:
    """An admin records an activity held by `unit_id` with its attendees (all inside the
    admin's units). Attendance is approved at once, except the admin's own, which waits for
    another admin."""
    _raise_if(check_activity_data(data, clock.china_today()))
    if data.kind not in ADMIN_KINDS:
        raise RecordError("年终述法由本人提交，管理员审阅。", fields={"kind": "请选择活动类型。"})
    scope = manageable_unit_ids(admin)
    if scope is not None and unit_id not in scope:
        raise RecordError("只能记录您管理的单位举办的活动。", fields={"unit_id": NOT_YOURS})
    ids = sorted(set(attendee_ids))
    if not ids:
        raise RecordError("请选择参加人员。", fields={"attendees": "请选择参加人员。"})
    people = db.session.scalars(select(User).where(User.id.in_(ids), User.is_active)).all()
    if len(people) != len(ids):
        raise RecordError("所选人员中有不存在或已停用的账号，未保存。")
    outside = [person for person in people if scope is not None and person.unit_id not in scope]
    if outside:
        # Named by count only: their names are not this admin's to learn.
        raise RecordError(f"所选人员中有 {len(outside)} 人不在您管理的单位内，未保存。")
    oaths: dict[int, Appointment] = {}
    if data.kind == ActivityKind.OATH:
        oaths = passed_appointments_without_oath(ids)
        missing = [person.name for person in people if person.id not in oaths]
        if missing:
            raise RecordError(
                f"{'、'.join(missing)} 没有通过任前学法考试（或已记录过宪法宣誓），"
                "不能记录宪法宣誓。"
            )
    activity = _new_activity(admin, data, unit_id)
    now = clock.now()
    for person in people:
        own = person.id == admin.id
        activity.attendances.append(
            Attendance(
                user_id=person.id,
                status=(AttendanceStatus.PENDING if own else AttendanceStatus.APPROVED).value,
                appointment_id=oaths[person.id].id if person.id in oaths else None,
                reviewed_by=None if own else admin.id,
                reviewed_at=None if own else now,
            )
        )
    db.session.flush()
    totals.move(totals.counted(activity), +1)
    record(
        actor,
        "records.activity.record",
        object_type="record_activity",
        object_id=activity.id,
        summary=f"{activity.kind_label} {activity.held_on} {activity.title}",
        detail={"users": ids, "hours": str(activity.credit_hours)},
    )
    return activity


def submit_own(actor: Actor, person: User, data: ActivityData) -> Activity:
    """A person records an activity of their own, with evidence, for an admin to review."""
    _raise_if(check_activity_data(data, clock.china_today()))
    if data.kind not in SELF_KINDS:
        raise RecordError("宪法宣誓由组织宣誓的单位记录。", fields={"kind": "请选择活动类型。"})
    if not data.uploads and data.kind != ActivityKind.YEAR_END_REPORT:
        raise RecordError(
            "请上传证明材料（照片、扫描件或 PDF）。", fields={"evidence": "请上传证明材料。"}
        )
    activity = _new_activity(person, data, person.unit_id)
    activity.attendances.append(
        Attendance(user_id=person.id, status=AttendanceStatus.PENDING.value)
    )
    db.session.flush()
    record(
        actor,
        "records.activity.submit",
        object_type="record_activity",
        object_id=activity.id,
        summary=f"{activity.kind_label} {activity.held_on} {activity.title}",
    )
    return activity


def pending_reviews(admin: User) -> list[Attendance]:
    """Attendance waiting for review in the admin's units, but never the admin's own nor
    what the admin recorded themselves."""
    scope = manageable_unit_ids(admin)
    stmt = (
        select(Attendance)
        .join(Activity, Activity.id == Attendance.activity_id)
        .join(User, User.id == Attendance.user_id)
        .options(joinedload(Attendance.activity), joinedload(Attendance.user))
        .where(
            Attendance.status == AttendanceStatus.PENDING.value,
            Attendance.user_id != admin.id,
            Activity.recorded_by != admin.id,
        )
        .order_by(Activity.held_on, Attendance.id)
    )
    if scope is not None:
        stmt = stmt.where(User.unit_id.in_(scope))
    return list(db.session.scalars(stmt).unique())


def _lock(activity: Activity) -> None:
    """Lock the activity's row and read it and its attendances again: a review, a
    correction or a withdrawal of the same activity then waits for the other and sees what
    it did, so the kept totals never count one attendance twice or at stale hours."""
    db.session.refresh(activity, with_for_update=True)
    db.session.scalars(
        select(Attendance)
        .where(Attendance.activity_id == activity.id)
        .execution_options(populate_existing=True)
    ).all()


def _reviewable(admin: User, attendance: Attendance) -> None:
    if attendance.user_id == admin.id or attendance.activity.recorded_by == admin.id:
        raise RecordError("不能审核自己的记录，请由其他管理员审核。", status=403)
    scope = manageable_unit_ids(admin)
    if scope is not None and attendance.user.unit_id not in scope:
        raise RecordError(NOT_YOURS, status=403)
    if attendance.status != AttendanceStatus.PENDING.value:
        raise RecordError("该记录已审核过。")


def review(actor: Actor, admin: User, attendance: Attendance, approve: bool, remark: str) -> None:
    """Approve (the hours count) or return (with the reason) a pending attendance."""
    _lock(attendance.activity)
    _reviewable(admin, attendance)
    remark = remark.strip()
    if not approve and not remark:
        raise RecordError("退回时请填写原因。", fields={"remark": "请填写退回原因。"})
    attendance.status = (AttendanceStatus.APPROVED if approve else AttendanceStatus.RETURNED).value
    attendance.reviewed_by = admin.id
    attendance.reviewed_at = clock.now()
    attendance.remark = remark[:500]
    if approve:
        activity = attendance.activity
        totals.move(
            [(attendance.user_id, activity.held_on, activity.kind, activity.credit_hours)], +1
        )
    record(
        actor,
        "records.activity.approve" if approve else "records.activity.return",
        object_type="record_activity",
        object_id=attendance.activity_id,
        summary=f"{attendance.user.name}：{attendance.activity.kind_label} {remark}".strip(),
        detail={"users": [attendance.user_id]},
    )


# --- correcting and withdrawing --------------------------------------------------------

#: the fields a correction may change, with how the audit log names them (the kind, the
#: unit and the attendees stay: a wrong kind or list is withdrawn and recorded again)
CORRECTED_FIELDS = {
    "held_on": "日期",
    "title": "名称",
    "topic": "主题",
    "laws_studied": "所学法律法规",
    "presenter": "主讲人",
    "place": "地点",
    "case_type": "案件类型",
    "law_day": "普法节点",
    "credit_hours": "学时",
}


OTHER_UNITS_ATTENDED = "该活动有其他单位的人员参加，请由上级管理员修改或撤销。"


def can_correct(admin: User, activity: Activity) -> bool:
    """An admin corrects or withdraws an activity held in their units whose attendees are
    all theirs (a correction moves every attendee's hours), never one they attend (their
    own hours) and never a withdrawn one."""
    if activity.withdrawn_at is not None or not _is_admin(admin):
        return False
    if any(a.user_id == admin.id for a in activity.attendances):
        return False
    scope = manageable_unit_ids(admin)
    return scope is None or (
        activity.unit_id in scope and not _attended_from_elsewhere(activity, scope)
    )


def _attended_from_elsewhere(activity: Activity, scope: set[int]) -> bool:
    return any(a.user.unit_id not in scope for a in activity.attendances)


def _check_correctable(admin: User, activity: Activity, reason: str) -> str:
    if activity.withdrawn_at is not None:
        raise RecordError("该记录已撤销。")
    if any(a.user_id == admin.id for a in activity.attendances):
        raise RecordError("不能修改或撤销自己参加的活动，请由其他管理员办理。", status=403)
    if not can_correct(admin, activity):
        scope = manageable_unit_ids(admin)
        if scope is not None and activity.unit_id in scope:
            raise RecordError(OTHER_UNITS_ATTENDED, status=403)
        raise RecordError(NOT_YOURS, status=403)
    reason = reason.strip()
    if not reason:
        raise RecordError("请填写原因。", fields={"reason": "请填写原因。"})
    return reason[:500]


def _snapshot(activity: Activity) -> dict[str, str]:
    """The corrected fields as the audit log shows them (学时 to one decimal)."""
    shown = {}
    for name, label in CORRECTED_FIELDS.items():
        value = getattr(activity, name)
        shown[label] = str(
            Decimal(value).quantize(Decimal("0.1")) if name == "credit_hours" else value
        )
    return shown


def correct_activity(
    actor: Actor, admin: User, activity: Activity, data: ActivityData, reason: str
) -> None:
    """Correct an activity's details (date, hours, title ...) with the reason; the hours
    of everyone counted move with it, and the audit log keeps what it was."""
    _lock(activity)
    reason = _check_correctable(admin, activity, reason)
    if activity.kind == ActivityKind.YEAR_END_REPORT:
        raise RecordError("年终述法报告是本人的报告，管理员不能修改，可以撤销。", status=403)
    data.kind = activity.kind
    _raise_if(check_activity_data(data, clock.china_today()))
    checked = _checked_uploads(data.uploads)
    if len(activity.evidence) + len(checked) > MAX_EVIDENCE_FILES:
        raise RecordError(f"证明材料最多 {MAX_EVIDENCE_FILES} 个文件。")
    before = _snapshot(activity)
    totals.move(totals.counted(activity), -1)
    for name in CORRECTED_FIELDS:
        value = getattr(data, name)
        setattr(activity, name, value.strip() if isinstance(value, str) else value)
    _attach_evidence(activity, checked, admin)
    totals.move(totals.counted(activity), +1)
    db.session.flush()
    after = _snapshot(activity)
    record(
        actor,
        "records.activity.correct",
        object_type="record_activity",
        object_id=activity.id,
        summary=f"{activity.kind_label} {activity.title}：{reason}",
        detail={
            "reason": reason,
            "before": {k: v for k, v in before.items() if v != after[k]},
            "after": {k: v for k, v in after.items() if v != before[k]},
            "users": [a.user_id for a in activity.attendances],
        },
    )


def _withdraw(activity: Activity, by: User, reason: str) -> dict[int, str]:
    """Mark the activity and its attendances withdrawn; returns what each status was."""
    totals.move(totals.counted(activity), -1)
    before = {a.user_id: a.status for a in activity.attendances}
    for attendance in activity.attendances:
        attendance.status = AttendanceStatus.WITHDRAWN.value
        # A withdrawn oath frees its appointment for the oath to be recorded again.
        attendance.appointment_id = None
    activity.withdrawn_at = clock.now()
    activity.withdrawn_by = by.id
    activity.withdraw_reason = reason
    db.session.flush()
    return before


def withdraw_activity(actor: Actor, admin: User, activity: Activity, reason: str) -> None:
    """Withdraw (撤销) an activity recorded in error: kept, marked with the reason, and
    nobody's hours count it any more."""
    _lock(activity)
    reason = _check_correctable(admin, activity, reason)
    oaths = {a.user_id: a.appointment_id for a in activity.attendances if a.appointment_id}
    before = _withdraw(activity, admin, reason)
    record(
        actor,
        "records.activity.withdraw",
        object_type="record_activity",
        object_id=activity.id,
        summary=f"{activity.kind_label} {activity.held_on} {activity.title}：{reason}",
        detail={"reason": reason, "users": list(before), "before": before, "oaths": oaths},
    )


def _attach_evidence(activity: Activity, checked, by: User) -> None:
    """Attach uploads already checked by _checked_uploads to the activity."""
    for upload, kind in checked:
        activity.evidence.append(
            Evidence(
                filename=upload.filename[:255],
                file_kind=kind,
                size=len(upload.data),
                data=upload.data,
                uploaded_by=by.id,
            )
        )


def can_withdraw_own(person: User, activity: Activity) -> bool:
    """A person withdraws what they submitted themselves while it waits for review."""
    return (
        activity.withdrawn_at is None
        and activity.recorded_by == person.id
        and len(activity.attendances) == 1
        and activity.attendances[0].user_id == person.id
        and activity.attendances[0].status == AttendanceStatus.PENDING.value
    )


def withdraw_own(actor: Actor, person: User, activity: Activity, reason: str) -> None:
    _lock(activity)
    if not can_withdraw_own(person, activity):
        raise RecordError("只能撤回本人提交、尚未审核的记录。", status=403)
    reason = reason.strip()[:500] or "本人撤回"
    _withdraw(activity, person, reason)
    record(
        actor,
        "records.activity.withdraw_own",
        object_type="record_activity",
        object_id=activity.id,
        summary=f"{activity.kind_label} {activity.held_on} {activity.title}：{reason}",
    )


def recent_activities(admin: User, limit: int = 50) -> list[Activity]:
    """The newest activities the admin's units held."""
    scope = manageable_unit_ids(admin)
    stmt = (
        select(Activity)
        .options(joinedload(Activity.unit))
        .where(Activity.kind != ActivityKind.YEAR_END_REPORT.value)
        .order_by(Activity.held_on.desc(), Activity.id.desc())
        .limit(limit)
    )
    if scope is not None:
        stmt = stmt.where(Activity.unit_id.in_(scope))
    return list(db.session.scalars(stmt))


def can_see_activity(viewer: User, activity: Activity) -> bool:
    """An attendee sees their activity; an admin one held by, or attended from, their units."""
    if any(attendance.user_id == viewer.id for attendance in activity.attendances):
        return True
    scope = manageable_unit_ids(viewer) if _is_admin(viewer) else set()
    if scope is None:
        return True
    return activity.unit_id in scope or any(a.user.unit_id in scope for a in activity.attendances)


def visible_attendances(viewer: User, activity: Activity) -> list[Attendance]:
    """The attendees a viewer is shown: their own line, and for an admin those of their
    units (a district meeting's other bureaus' people are not a unit admin's to list)."""
    scope = manageable_unit_ids(viewer) if _is_admin(viewer) else set()
    return [
        a
        for a in activity.attendances
        if a.user_id == viewer.id or scope is None or a.user.unit_id in scope
    ]


def _is_admin(user: User) -> bool:
    return user.has_any_role(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN)


@dataclass
class ActivityView:
    activity: Activity
    #: the attendances the viewer is shown (visible_attendances)
    attendances: list[Attendance]


def open_activity(actor: Actor, viewer: User, activity: Activity) -> ActivityView | None:
    """What the viewer may see of an activity (None: nothing). A 年终述法 is a person's own
    report: an admin reading someone else's is audited, as a look at their record is."""
    if not can_see_activity(viewer, activity):
        return None
    attended = any(attendance.user_id == viewer.id for attendance in activity.attendances)
    if activity.kind == ActivityKind.YEAR_END_REPORT.value and not attended:
        record(
            actor,
            "records.report.view",
            object_type="record_activity",
            object_id=activity.id,
            summary=activity.title,
            detail={"users": [attendance.user_id for attendance in activity.attendances]},
        )
    return ActivityView(activity, visible_attendances(viewer, activity))


def open_evidence(actor: Actor, viewer: User, evidence: Evidence) -> Evidence | None:
    """The evidence if the viewer may see it (None otherwise); an admin opening someone
    else's evidence is audited."""
    activity = evidence.activity
    if not can_see_activity(viewer, activity):
        return None
    if not any(attendance.user_id == viewer.id for attendance in activity.attendances):
        record(
            actor,
            "records.evidence.view",
            object_type="record_activity",
            object_id=activity.id,
            summary=evidence.filename,
            detail={"users": [attendance.user_id for attendance in activity.attendances]},
        )
    return evidence


def roster(admin: User, unit_id: int | None, keyword: str = "", limit: int = 300) -> list[User]:
    """Active people of the admin's units to choose attendees from (a unit's subtree when
    one is chosen)."""
    return find_active_people(manageable_unit_ids(admin), keyword, unit_id, limit)


def oath_candidates(admin: User) -> list[tuple[User, Appointment]]:
    """People of the admin's units who passed a pre-appointment exam and are not yet sworn."""
    scope = manageable_unit_ids(admin)
    stmt = select(Appointment.user_id).join(User, User.id == Appointment.user_id)
    if scope is not None:
        stmt = stmt.where(User.unit_id.in_(scope))
    found = passed_appointments_without_oath(sorted(set(db.session.scalars(stmt))))
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(list(found))))}
    return [(people[user_id], found[user_id]) for user_id in sorted(found)]
