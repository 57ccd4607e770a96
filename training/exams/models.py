"""Blueprints, exams, batches, attempts, their frozen papers and responses."""

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.extensions import db
from question_bank.models import CaseVersion, Law, QuestionVersion, Topic
from question_bank.types import TYPE_VALUES, MultiplePolicy
from training.models import User
from training.scoring import AttemptRule

Points = Numeric(7, 2)
#: a blueprint section of cases (案例分析) rather than questions of one type
CASE_SECTION = "case"
CASE_SECTION_LABEL = "案例分析"
SECTION_TYPE_VALUES = f"{TYPE_VALUES}, '{CASE_SECTION}'"


class ExamKind(enum.StrEnum):
    PRE_APPOINTMENT = "pre_appointment"
    ENFORCEMENT = "enforcement"
    ENFORCEMENT_MOCK = "enforcement_mock"
    ANNUAL = "annual"
    MODULE_QUIZ = "module_quiz"
    CAMPAIGN = "campaign"

    @property
    def label(self) -> str:
        return EXAM_KIND_LABELS[self]


EXAM_KIND_LABELS = {
    ExamKind.PRE_APPOINTMENT: "任前学法考试",
    ExamKind.ENFORCEMENT: "行政执法证考试",
    ExamKind.ENFORCEMENT_MOCK: "执法证模拟考试",
    ExamKind.ANNUAL: "年度学法考试",
    ExamKind.MODULE_QUIZ: "学习模块测验",
    ExamKind.CAMPAIGN: "专题答题活动",
}


class ExamStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"draft": "草稿", "published": "已发布", "closed": "已结束"}[self.value]


class ReviewPolicy(enum.StrEnum):
    NOTHING = "nothing"
    SCORE = "score"
    ANSWERS_AFTER_CLOSE = "answers_after_close"

    @property
    def label(self) -> str:
        return {
            "nothing": "不显示成绩",
            "score": "交卷后显示成绩",
            "answers_after_close": "显示成绩，考试结束后可查看答案与解析",
        }[self.value]


COUNTING_LABELS = {
    AttemptRule.BEST: "取最高分",
    AttemptRule.LAST: "取最后一次",
    AttemptRule.FIRST: "取第一次",
}


class AttemptStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"


def _values(kind: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in kind)


class Blueprint(db.Model):
    """Rules that assemble a paper: sections by type with a count and points each."""

    __tablename__ = "blueprints"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: one paper drawn once for everyone, or a paper drawn per candidate
    random_per_candidate: Mapped[bool] = mapped_column(default=False)
    shuffle_questions: Mapped[bool] = mapped_column(default=False)
    shuffle_choices: Mapped[bool] = mapped_column(default=False)
    #: shuffle the sub-questions of each case (they stay together after its material)
    shuffle_within_case: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    sections: Mapped[list["BlueprintSection"]] = relationship(
        order_by="BlueprintSection.position", cascade="all, delete-orphan"
    )

    @property
    def question_count(self) -> int:
        return sum(section.count for section in self.sections)

    @property
    def max_score(self) -> Decimal:
        return sum((section.count * section.points for section in self.sections), Decimal(0))


class BlueprintSection(db.Model):
    __tablename__ = "blueprint_sections"
    __table_args__ = (
        CheckConstraint("count > 0", name="positive_count"),
        CheckConstraint("points > 0", name="positive_points"),
        CheckConstraint(
            f"question_type IN ({SECTION_TYPE_VALUES})",
            name="known_type",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprints.id"), index=True)
    position: Mapped[int]
    #: a question type id, or CASE_SECTION: `count` cases, `points` each (spread over
    #: their sub-questions in proportion to the points the case gives them)
    question_type: Mapped[str] = mapped_column(String(20))
    count: Mapped[int]
    #: points per question (per case)
    points: Mapped[Decimal] = mapped_column(Points)
    law_id: Mapped[int | None] = mapped_column(ForeignKey("laws.id"))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))
    difficulty_min: Mapped[int | None]
    difficulty_max: Mapped[int | None]

    law: Mapped[Law | None] = relationship()
    topic: Mapped[Topic | None] = relationship()


class Exam(db.Model):
    __tablename__ = "exams"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_values(ExamKind)})", name="known_kind"),
        CheckConstraint(f"status IN ({_values(ExamStatus)})", name="known_status"),
        CheckConstraint(f"review_policy IN ({_values(ReviewPolicy)})", name="known_review"),
        CheckConstraint(f"counting IN ({_values(AttemptRule)})", name="known_counting"),
        CheckConstraint(f"multiple_policy IN ({_values(MultiplePolicy)})", name="known_multiple"),
        CheckConstraint("time_limit_minutes > 0", name="positive_time_limit"),
        CheckConstraint("attempts_allowed > 0", name="positive_attempts"),
        CheckConstraint("opens_at < closes_at", name="window"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default=ExamStatus.DRAFT.value)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprints.id"))
    time_limit_minutes: Mapped[int]
    #: in points of the paper's scale
    pass_mark: Mapped[Decimal] = mapped_column(Points)
    #: [[threshold, label], ...], e.g. [[90, "优秀"], [80, "良好"], [60, "合格"]]
    grade_bands: Mapped[list] = mapped_column(JSON, default=list)
    attempts_allowed: Mapped[int] = mapped_column(default=1)
    #: which submitted attempt counts
    counting: Mapped[str] = mapped_column(String(10), default=AttemptRule.BEST.value)
    #: at most one attempt per batch: a 补考 is taken in a later batch
    one_attempt_per_batch: Mapped[bool] = mapped_column(default=False)
    #: whether someone who passed may try again (mock tests yes, certification no)
    retake_after_pass: Mapped[bool] = mapped_column(default=False)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    review_policy: Mapped[str] = mapped_column(String(30), default=ReviewPolicy.SCORE.value)
    multiple_policy: Mapped[str] = mapped_column(
        String(20), default=MultiplePolicy.ALL_OR_NOTHING.value
    )
    instructions: Mapped[str] = mapped_column(String(2000), default="")
    #: written answers (简答/论述) marked by two markers; a third decides when their marks
    #: differ by more than `marking_gap` points
    double_marking: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    marking_gap: Mapped[Decimal | None] = mapped_column(Points)
    #: per blueprint section, the questions it draws from, frozen when the exam is
    #: published: [[[question id, version id, choice count], ...], ...]; a fixed-paper exam
    #: keeps just its one paper here
    pools: Mapped[list | None] = mapped_column(JSON, deferred=True)
    #: bumped whenever `pools` changes (publish, regrade): each process keys its parsed
    #: copy of the pools on it, so every worker sees a change at its next start
    pools_revision: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    blueprint: Mapped[Blueprint] = relationship()
    batches: Mapped[list["Batch"]] = relationship(
        back_populates="exam", order_by="Batch.id", cascade="all, delete-orphan"
    )

    @property
    def kind_label(self) -> str:
        return ExamKind(self.kind).label

    @property
    def shows_score(self) -> bool:
        """Whether its candidates see their score and result (不公布成绩: they do not)."""
        return self.review_policy != ReviewPolicy.NOTHING.value

    @property
    def status_label(self) -> str:
        return ExamStatus(self.status).label


class Batch(db.Model):
    """A sitting (场次/批次) of an exam with its roster."""

    __tablename__ = "batches"
    __table_args__ = (CheckConstraint("opens_at < closes_at", name="window"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    exam: Mapped[Exam] = relationship(back_populates="batches")
    members: Mapped[list["BatchMember"]] = relationship(
        back_populates="batch", cascade="all, delete-orphan"
    )


class BatchMember(db.Model):
    __tablename__ = "batch_members"
    __table_args__ = (
        UniqueConstraint("batch_id", "user_id", name="uq_batch_members_batch_user"),
        CheckConstraint("extra_minutes >= 0", name="extra_minutes"),
        CheckConstraint(
            "past_close_minutes >= 0 AND past_close_minutes <= extra_minutes",
            name="past_close_minutes",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: a personal time extension in total, applied at once to an attempt in progress
    extra_minutes: Mapped[int] = mapped_column(default=0)
    #: the part of it a system admin gave, which may run past the batch's close; the rest
    #: ends with the batch (sittings.extend_time)
    past_close_minutes: Mapped[int] = mapped_column(default=0, server_default="0")

    batch: Mapped[Batch] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class Attempt(db.Model):
    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint(f"status IN ({_values(AttemptStatus)})", name="known_status"),
        UniqueConstraint("exam_id", "user_id", "number", name="uq_attempts_exam_user_number"),
        # One open attempt per candidate and exam, enforced by the database.
        Index(
            "uq_attempts_one_open",
            "exam_id",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'in_progress'"),
            postgresql_where=text("status = 'in_progress'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: 1 for the first attempt at this exam, 2 for the next (补考) ...
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default=AttemptStatus.IN_PROGRESS.value)
    started_at: Mapped[datetime]
    #: the server's deadline; extensions move it
    deadline_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    #: candidate, deadline or admin
    submitted_by: Mapped[str] = mapped_column(String(20), default="")
    score: Mapped[Decimal | None] = mapped_column(Points)
    max_score: Mapped[Decimal] = mapped_column(Points)
    passed: Mapped[bool | None]
    grade_label: Mapped[str] = mapped_column(String(20), default="")
    #: bumped by every save, so a submit and a save on the same attempt serialise
    last_saved_at: Mapped[datetime | None]
    #: seconds the deadline was moved for database outages (the rest of the deadline is
    #: the time limit and personal extensions), so recomputing them never adds twice
    outage_seconds: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    #: the item ids the candidate flagged (标记), kept here so they follow to any device
    flags: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    #: submitted, with written answers not yet marked (待阅卷): no score, no pass/fail yet
    awaiting_marks: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    #: bumped (in SQL) whenever what the attempt adds to an item analysis may change: each
    #: scoring (submit, mark, regrade) and a reopening; never goes back
    revision: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    exam: Mapped[Exam] = relationship()
    batch: Mapped[Batch] = relationship()
    user: Mapped[User] = relationship()
    items: Mapped[list["PaperItem"]] = relationship(
        order_by="PaperItem.position", cascade="all, delete-orphan"
    )


class PaperItem(db.Model):
    """One question of a frozen paper: the version, its place and its choice order."""

    __tablename__ = "paper_items"
    __table_args__ = (
        UniqueConstraint("attempt_id", "position", name="uq_paper_items_attempt_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    position: Mapped[int]
    #: indexed: which exams used a question (item analysis across exams) and which papers
    #: a regrade moves are found without reading every paper
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_versions.id"), index=True)
    points: Mapped[Decimal] = mapped_column(Points)
    #: original choice indices in the order shown to this candidate
    choice_order: Mapped[list] = mapped_column(JSON, default=list)
    #: the case version whose sub-question this is (its material is shown above it)
    case_version_id: Mapped[int | None] = mapped_column(ForeignKey("case_versions.id"))
    #: points earned, set when the attempt is scored
    earned: Mapped[Decimal | None] = mapped_column(Points)
    #: the choices picked in the answer it was scored on (choice questions: a copy of the
    #: response's answer, set with `earned`), so that item analysis counts the choices from
    #: the papers alone, without joining every response to its paper item
    picked: Mapped[list | None] = mapped_column(JSON)

    question_version: Mapped[QuestionVersion] = relationship()
    case_version: Mapped[CaseVersion | None] = relationship()


class Response(db.Model):
    """The newest saved answer to one paper item (highest sequence number wins)."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("attempt_id", "item_id", name="uq_responses_attempt_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("paper_items.id"))
    #: original choice indices, or the texts of the blanks
    answer: Mapped[list] = mapped_column(JSON)
    seq: Mapped[int] = mapped_column(BigInteger)
    saved_at: Mapped[datetime]


class ExamMarker(db.Model):
    """Someone an exam names to mark its written answers (besides the trainers)."""

    __tablename__ = "exam_markers"
    __table_args__ = (UniqueConstraint("exam_id", "user_id", name="uq_exam_markers_exam_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    user: Mapped[User] = relationship()


class Mark(db.Model):
    """One marker's mark of one written answer, in a round: 1, 2 (double marking) or 3
    (the third marker, when the first two differ by more than the exam's gap).

    A correction never changes a mark: it sets `replaced` and adds the new mark with the
    reason, so every mark ever given stays (and is audited)."""

    __tablename__ = "marks"
    __table_args__ = (
        CheckConstraint("round BETWEEN 1 AND 3", name="known_round"),
        CheckConstraint("score >= 0", name="non_negative_score"),
        # One standing mark per answer and round, enforced by the database: two markers
        # who open the same answer at once cannot both mark it.
        Index(
            "uq_marks_one_standing",
            "item_id",
            "round",
            unique=True,
            sqlite_where=text("NOT replaced"),
            postgresql_where=text("NOT replaced"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("paper_items.id"), index=True)
    round: Mapped[int]
    marker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    score: Mapped[Decimal] = mapped_column(Points)
    #: the indices of the marking points (得分要点) the marker ticked
    checked: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(500), default="")
    replaced: Mapped[bool] = mapped_column(default=False)
    #: the mark this one corrects, and why
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("marks.id"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    marker: Mapped[User] = relationship()
    item: Mapped[PaperItem] = relationship()
    attempt: Mapped[Attempt] = relationship()
