"""Activities with their attendees and evidence, pre-appointment nominees, and the yearly
requirements. Exams passed and modules completed are not copied here: the record reads
them from training.exams and training.study."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from core import clock
from core.extensions import db
from training.exams.models import Exam
from training.models import Unit, User

Hours = Numeric(5, 1)


def _values(kind: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in kind)


class ActivityKind(enum.StrEnum):
    PRE_MEETING = "pre_meeting"
    COURT_HEARING = "court_hearing"
    LECTURE = "lecture"
    LAW_DAY = "law_day"
    OATH = "oath"
    YEAR_END_REPORT = "year_end_report"

    @property
    def label(self) -> str:
        return ACTIVITY_LABELS[self]


ACTIVITY_LABELS = {
    ActivityKind.PRE_MEETING: "会前学法",
    ActivityKind.COURT_HEARING: "旁听庭审",
    ActivityKind.LECTURE: "法治讲座、培训",
    ActivityKind.LAW_DAY: "普法活动",
    ActivityKind.OATH: "宪法宣誓",
    ActivityKind.YEAR_END_REPORT: "年终述法",
}


class AttendanceStatus(enum.StrEnum):
    APPROVED = "approved"
    PENDING = "pending"
    RETURNED = "returned"
    #: withdrawn with its activity (or its submission), kept with the reason, never counted
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {
            "approved": "已确认",
            "pending": "待审核",
            "returned": "已退回",
            "withdrawn": "已撤销",
        }[self.value]


class Activity(db.Model):
    """One study activity: a meeting's law study, a court hearing attended, a lecture, a
    普法 event, an oath ceremony or a year-end law report. Its credit hours go to each
    attendee whose attendance is approved."""

    __tablename__ = "record_activities"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_values(ActivityKind)})", name="known_kind"),
        CheckConstraint("credit_hours >= 0", name="credit_not_negative"),
        Index("ix_record_activities_unit_held", "unit_id", "held_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    held_on: Mapped[date]
    #: 会议名称 / 讲座名称 / 活动名称 / 述法报告标题
    title: Mapped[str] = mapped_column(String(200))
    #: 学习主题 / 讲座主题
    topic: Mapped[str] = mapped_column(String(200), default="")
    #: 所学法律法规
    laws_studied: Mapped[str] = mapped_column(String(500), default="")
    #: 主讲人 / 监誓人
    presenter: Mapped[str] = mapped_column(String(100), default="")
    #: 地点 / 法院
    place: Mapped[str] = mapped_column(String(200), default="")
    #: 案件类型 (旁听庭审)
    case_type: Mapped[str] = mapped_column(String(100), default="")
    #: 普法节点 (3·8, 3·15, 4·15, 6·5, 12·4 ...)
    law_day: Mapped[str] = mapped_column(String(20), default="")
    #: the year-end law report's text (年终述法), when written here rather than uploaded
    report_text: Mapped[str] = mapped_column(Text, default="")
    credit_hours: Mapped[Decimal] = mapped_column(Hours)
    #: the organising unit
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    #: set when withdrawn (撤销): the activity stays, with who, when and why; its
    #: attendances are then withdrawn too and count no more
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdraw_reason: Mapped[str] = mapped_column(String(500), default="")

    unit: Mapped[Unit] = relationship()
    recorder: Mapped[User] = relationship(foreign_keys=[recorded_by])
    withdrawer: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by])
    attendances: Mapped[list["Attendance"]] = relationship(
        back_populates="activity", cascade="all, delete-orphan"
    )
    evidence: Mapped[list["Evidence"]] = relationship(
        back_populates="activity", cascade="all, delete-orphan", order_by="Evidence.id"
    )

    @property
    def kind_label(self) -> str:
        return ActivityKind(self.kind).label


class Attendance(db.Model):
    """One person at an activity. Counted in the record once approved: at once when a unit
    admin records someone else, after another admin's review when a person submits it
    (or an admin records themselves)."""

    __tablename__ = "record_attendances"
    __table_args__ = (
        UniqueConstraint("activity_id", "user_id", name="uq_record_attendances_activity_user"),
        CheckConstraint(f"status IN ({_values(AttendanceStatus)})", name="known_status"),
        # Covers the record's and the compliance page's reads (index-only, a person's rows
        # together): 5,000 people's year went from a 400 ms scan to 75 ms.
        Index("ix_record_attendances_user_status_activity", "user_id", "status", "activity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("record_activities.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default=AttendanceStatus.APPROVED.value)
    #: the appointment whose oath this is (宪法宣誓 only)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("record_appointments.id"), unique=True
    )
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    #: the reviewer's remark (年终述法: 审阅意见)
    remark: Mapped[str] = mapped_column(String(500), default="")

    activity: Mapped[Activity] = relationship(back_populates="attendances")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewed_by])

    @property
    def status_label(self) -> str:
        return AttendanceStatus(self.status).label


class YearTotal(db.Model):
    """A person's approved attendance in one year, summed: the credit hours and how many
    of each activity kind (a column per ActivityKind). What the compliance page, the home
    card, the certificate review and the scorecard figures read instead of joining every
    attendance to its activity. Kept in the transaction of each change by
    training.records.totals (counters only move by increments in SQL, so concurrent
    changes add up); `totals.rebuild()` computes it again from the attendances."""

    __tablename__ = "record_year_totals"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(8, 1), default=Decimal(0))
    pre_meeting: Mapped[int] = mapped_column(default=0)
    court_hearing: Mapped[int] = mapped_column(default=0)
    lecture: Mapped[int] = mapped_column(default=0)
    law_day: Mapped[int] = mapped_column(default=0)
    oath: Mapped[int] = mapped_column(default=0)
    year_end_report: Mapped[int] = mapped_column(default=0)


class Evidence(db.Model):
    """A scan or photo attached to an activity (checked by core.uploads.check_evidence)."""

    __tablename__ = "record_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("record_activities.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    #: pdf, png or jpeg
    file_kind: Mapped[str] = mapped_column(String(10))
    size: Mapped[int]
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    activity: Mapped[Activity] = relationship(back_populates="evidence")


class Appointment(db.Model):
    """A nominee (拟任人员) for a post, registered for a pre-appointment exam. How far they
    got is read from their attempts at that exam (training.records.appointments)."""

    __tablename__ = "record_appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: 拟任职务
    post: Mapped[str] = mapped_column(String(100))
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    #: 准考证号, printed on the result sheet
    candidate_number: Mapped[str] = mapped_column(String(30), unique=True)
    registered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    registered_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    exam: Mapped[Exam] = relationship()


class Group(enum.StrEnum):
    """Whom a yearly requirement binds."""

    ALL = "all"
    LEADER = "leader"
    ENFORCEMENT = "enforcement"

    @property
    def label(self) -> str:
        return {"all": "全体国家工作人员", "leader": "领导干部", "enforcement": "行政执法人员"}[
            self.value
        ]


class Requirement(db.Model):
    """What a group must do each year, from `from_year` until a later row replaces it."""

    __tablename__ = "record_requirements"
    __table_args__ = (
        UniqueConstraint("group_name", "from_year", name="uq_record_requirements_group_year"),
        CheckConstraint(f"group_name IN ({_values(Group)})", name="known_group"),
        CheckConstraint("hours >= 0", name="hours_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_name: Mapped[str] = mapped_column(String(20))
    from_year: Mapped[int]
    #: credit hours a year (学时)
    hours: Mapped[Decimal] = mapped_column(Hours)
    #: exam kinds (training.exams.models.ExamKind values) to pass within the year
    exam_kinds: Mapped[list] = mapped_column(JSON, default=list)
    #: activity kind → how many to attend within the year, e.g. {"pre_meeting": 4}
    activities: Mapped[dict] = mapped_column(JSON, default=dict)
    #: where the figures come from, shown on the settings page
    source: Mapped[str] = mapped_column(String(500), default="")
    set_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(default=clock.default_now)


class CertificateStatus(enum.StrEnum):
    """What is stored; 待审验 and 过期 are read from the dates (certificates.status_of)."""

    VALID = "valid"
    REVIEW_DUE = "review_due"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return {
            "valid": "有效",
            "review_due": "待审验",
            "suspended": "暂扣",
            "revoked": "注销",
            "expired": "过期",
        }[self.value]


class Certificate(db.Model):
    """An enforcement certificate (行政执法证) of one holder."""

    __tablename__ = "record_certificates"
    __table_args__ = (
        CheckConstraint("issued_on < valid_until", name="validity"),
        CheckConstraint("status IN ('valid', 'suspended', 'revoked')", name="stored_status"),
        Index("ix_record_certificates_valid_until", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 证号
    number: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: 执法领域 / 执法类别
    field: Mapped[str] = mapped_column(String(100))
    #: 发证机关
    authority: Mapped[str] = mapped_column(String(100))
    issued_on: Mapped[date]
    valid_until: Mapped[date]
    #: valid, suspended or revoked (review due and expired follow from the dates)
    status: Mapped[str] = mapped_column(String(20), default="valid")
    #: the reason of the suspension or revocation
    reason: Mapped[str] = mapped_column(String(500), default="")
    #: the passed certificate exam it was issued on; None for holders imported from paper
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"))
    #: the certificate this one renewed
    renews_id: Mapped[int | None] = mapped_column(ForeignKey("record_certificates.id"))
    imported: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    holder: Mapped[User] = relationship(foreign_keys=[user_id])
    reviews: Mapped[list["CertificateReview"]] = relationship(
        back_populates="certificate", order_by="CertificateReview.year"
    )


class CertificateReview(db.Model):
    """A yearly review (年审/审验) of a certificate for one year's training."""

    __tablename__ = "record_certificate_reviews"
    __table_args__ = (
        UniqueConstraint("certificate_id", "year", name="uq_record_certificate_reviews_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("record_certificates.id"))
    #: the year whose training was reviewed
    year: Mapped[int]
    reviewed_on: Mapped[date]
    hours: Mapped[Decimal] = mapped_column(Hours)
    reviewed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    remark: Mapped[str] = mapped_column(String(500), default="")

    certificate: Mapped[Certificate] = relationship(back_populates="reviews")


class Scorecard(db.Model):
    """A unit assessment (普法考核验收) of one year: criteria with points, e.g. 100 base
    points plus up to 20 bonus points."""

    __tablename__ = "record_scorecards"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int]
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    criteria: Mapped[list["Criterion"]] = relationship(
        back_populates="scorecard", order_by="Criterion.position", cascade="all, delete-orphan"
    )


class Criterion(db.Model):
    __tablename__ = "record_criteria"
    __table_args__ = (CheckConstraint("points > 0", name="positive_points"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("record_scorecards.id"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    #: the most points it gives
    points: Mapped[Decimal] = mapped_column(Hours)
    #: a bonus item (加分项) rather than one of the base points
    bonus: Mapped[bool] = mapped_column(default=False)
    #: what evidence it needs (佐证材料)
    evidence: Mapped[str] = mapped_column(String(500), default="")
    #: the figure the platform fills in for it (training.records.scorecards.FIGURES), if any
    figure: Mapped[str] = mapped_column(String(30), default="")

    scorecard: Mapped[Scorecard] = relationship(back_populates="criteria")


class UnitScore(db.Model):
    """The points a unit got on one criterion, set by an assessor."""

    __tablename__ = "record_unit_scores"
    __table_args__ = (
        UniqueConstraint("criterion_id", "unit_id", name="uq_record_unit_scores_criterion_unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("record_criteria.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    points: Mapped[Decimal] = mapped_column(Hours)
    note: Mapped[str] = mapped_column(String(500), default="")
    scored_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scored_at: Mapped[datetime] = mapped_column(default=clock.default_now)
