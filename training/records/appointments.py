"""Pre-appointment exams (任前学法考试), end to end: a nominee registered with the post, the
exam in a batch, one 补考 in a later batch, a second failure on the record. The exam,
its batches and attempts are training.exams'; this keeps the post and reads the results."""

import enum
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.orm import joinedload

from core import clock
from core.audit import Actor, record
from core.errors import ServiceError
from core.extensions import db
from training.accounts import manageable_unit_ids
from training.exams import sittings
from training.exams.models import Attempt, AttemptStatus, Batch, BatchMember, Exam, ExamKind
from training.models import User
from training.records.models import Appointment, Attendance

#: attempts at the exam a nominee gets: the first and one 补考
TRIES = 2


class AppointmentError(ServiceError):
    code = "appointment_rule"


class Stage(enum.StrEnum):
    WAITING = "waiting"
    RETAKE = "retake"
    PASSED = "passed"
    FAILED_TWICE = "failed_twice"

    @property
    def label(self) -> str:
        return {
            "waiting": "待考",
            "retake": "未通过，待补考",
            "passed": "已通过",
            "failed_twice": "补考未通过（两次未通过）",
        }[self.value]


def stage_of(results: list[bool | None]) -> Stage:
    """Where a nominee stands from their submitted attempts' pass results, in order
    (None: not yet marked)."""
    if any(result is True for result in results):
        return Stage.PASSED
    failures = sum(1 for result in results if result is False)
    if failures >= TRIES:
        return Stage.FAILED_TWICE
    return Stage.RETAKE if failures else Stage.WAITING


def attempts_of(appointments: list[Appointment]) -> dict[int, list[Attempt]]:
    """Per appointment, its nominee's submitted attempts at its exam, first first."""
    pairs = {(a.user_id, a.exam_id) for a in appointments}
    found: dict[tuple[int, int], list[Attempt]] = {}
    if pairs:
        rows = db.session.scalars(
            select(Attempt)
            .options(joinedload(Attempt.batch))
            .where(
                tuple_(Attempt.user_id, Attempt.exam_id).in_(list(pairs)),
                Attempt.status == AttemptStatus.SUBMITTED.value,
            )
            .order_by(Attempt.number)
        )
        for attempt in rows:
            found.setdefault((attempt.user_id, attempt.exam_id), []).append(attempt)
    return {a.id: found.get((a.user_id, a.exam_id), []) for a in appointments}


def stages(appointments: list[Appointment]) -> dict[int, Stage]:
    tried = attempts_of(appointments)
    return {a.id: stage_of([attempt.passed for attempt in tried[a.id]]) for a in appointments}


def passed_appointment_ids(appointments: list[Appointment]) -> set[int]:
    return {key for key, stage in stages(appointments).items() if stage == Stage.PASSED}


def pre_appointment_exams() -> list[Exam]:
    return list(
        db.session.scalars(
            select(Exam)
            .where(Exam.kind == ExamKind.PRE_APPOINTMENT.value)
            .order_by(Exam.opens_at.desc())
        )
    )


def _check_scope(admin: User, user: User) -> None:
    scope = manageable_unit_ids(admin)
    if scope is not None and user.unit_id not in scope:
        raise AppointmentError("该人员不在您管理的单位内。", status=403)


def register_nominee(actor: Actor, admin: User, user: User, post: str, batch: Batch) -> Appointment:
    """Register `user` as nominee for `post` and put them on the batch's roster."""
    _check_scope(admin, user)
    if admin.id == user.id:
        raise AppointmentError("不能为自己登记任前考试。", status=403)
    post = post.strip()
    if not post:
        raise AppointmentError("请填写拟任职务。", fields={"post": "请填写拟任职务。"})
    exam = batch.exam
    if exam.kind != ExamKind.PRE_APPOINTMENT.value:
        raise AppointmentError("所选场次不属于任前学法考试。", fields={"batch_id": "请选择场次。"})
    earlier = db.session.scalars(
        select(Appointment).where(Appointment.user_id == user.id, Appointment.exam_id == exam.id)
    ).all()
    if any(stages(list(earlier)).get(a.id) in (Stage.WAITING, Stage.RETAKE) for a in earlier):
        raise AppointmentError(f"{user.name} 已登记参加该考试，尚未考完。")
    appointment = Appointment(
        user_id=user.id,
        post=post[:100],
        exam_id=exam.id,
        candidate_number="",
        registered_by=admin.id,
    )
    db.session.add(appointment)
    db.session.flush()
    appointment.candidate_number = f"RQ{clock.china_today().year}{appointment.id:05d}"
    sittings.add_members(actor, batch, [user], scope=manageable_unit_ids(admin))
    record(
        actor,
        "records.nominee.register",
        object_type="record_appointment",
        object_id=appointment.id,
        summary=f"{user.name} 拟任{post}，{exam.title} {batch.name}",
        detail={"users": [user.id]},
    )
    return appointment


def schedule_retake(actor: Actor, admin: User, appointment: Appointment, batch: Batch) -> None:
    """Put a nominee who failed once on a later batch of the same exam (the one 补考)."""
    _check_scope(admin, appointment.user)
    if admin.id == appointment.user_id:
        raise AppointmentError("不能为自己安排补考。", status=403)
    tried = attempts_of([appointment])[appointment.id]
    stage = stage_of([attempt.passed for attempt in tried])
    if stage != Stage.RETAKE:
        raise AppointmentError(f"该人员目前「{stage.label}」，不能安排补考。")
    if batch.exam_id != appointment.exam_id:
        raise AppointmentError("补考须在同一考试的场次中进行。")
    if batch.opens_at <= tried[-1].batch.opens_at:
        raise AppointmentError("补考须安排在首次考试之后的场次。")
    on_roster = db.session.scalar(
        select(BatchMember.id).where(
            BatchMember.batch_id == batch.id, BatchMember.user_id == appointment.user_id
        )
    )
    if on_roster:
        raise AppointmentError("该人员已在这一场次的名单中。")
    sittings.add_members(actor, batch, [appointment.user], scope=manageable_unit_ids(admin))
    record(
        actor,
        "records.nominee.retake",
        object_type="record_appointment",
        object_id=appointment.id,
        summary=f"{appointment.user.name} 补考：{batch.name}",
        detail={"users": [appointment.user_id]},
    )


@dataclass
class NomineeRow:
    appointment: Appointment
    attempts: list[Attempt]
    stage: Stage
    oath_recorded: bool

    def stage_label(self, own: bool) -> str:
        """Where the nomination stands; to the nominee, of an exam that publishes no
        results, only that they sat it (as their own record shows its attempts)."""
        if own and not self.appointment.exam.shows_score and self.stage != Stage.WAITING:
            return "已参加（结果未公布）"
        return self.stage.label


def nominee_rows(found: list[Appointment]) -> list[NomineeRow]:
    """Each appointment with its attempts, where it stands and whether the oath is on file."""
    tried = attempts_of(found)
    sworn = set(
        db.session.scalars(
            select(Attendance.appointment_id).where(
                Attendance.appointment_id.in_([a.id for a in found])
            )
        )
    )
    return [
        NomineeRow(a, tried[a.id], stage_of([t.passed for t in tried[a.id]]), a.id in sworn)
        for a in found
    ]


def nominees(admin: User) -> list[NomineeRow]:
    """Every nominee in the admin's units, newest first, with where each stands."""
    scope = manageable_unit_ids(admin)
    stmt = (
        select(Appointment)
        .join(User, User.id == Appointment.user_id)
        .options(joinedload(Appointment.user).joinedload(User.unit), joinedload(Appointment.exam))
        .order_by(Appointment.id.desc())
    )
    if scope is not None:
        stmt = stmt.where(User.unit_id.in_(scope))
    return nominee_rows(list(db.session.scalars(stmt)))


def appointments_of(user_id: int) -> list[Appointment]:
    return list(
        db.session.scalars(
            select(Appointment)
            .options(joinedload(Appointment.exam))
            .where(Appointment.user_id == user_id)
            .order_by(Appointment.id)
        )
    )
