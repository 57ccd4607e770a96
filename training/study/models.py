"""Study modules (immutable versions of ordered lessons and quiz rules), programs of
modules, and each learner's private progress and completions."""

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.extensions import db

Hours = Numeric(5, 1)


class Status(enum.StrEnum):
    """Lifecycle of modules and programs: draft → published → retired (never deleted)."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        return {"draft": "草稿", "published": "已发布", "retired": "已停用"}[self.value]


STATUS_VALUES = ", ".join(f"'{status.value}'" for status in Status)


class StudyModule(db.Model):
    """A module's stable identity; what it says lives in its versions."""

    __tablename__ = "study_modules"
    __table_args__ = (CheckConstraint(f"status IN ({STATUS_VALUES})", name="known_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default=Status.DRAFT.value)
    #: the newest version's number (what the trainer edits and previews)
    current_number: Mapped[int] = mapped_column(default=1)
    #: the version learners are offered; None until first published
    published_number: Mapped[int | None]
    #: the next lesson key: a lesson keeps its key across versions, so progress follows it
    next_lesson_key: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    versions: Mapped[list["ModuleVersion"]] = relationship(
        back_populates="module", order_by="ModuleVersion.number", cascade="all, delete-orphan"
    )

    def version(self, number: int | None) -> "ModuleVersion | None":
        return next((v for v in self.versions if v.number == number), None)

    @property
    def current(self) -> "ModuleVersion":
        return self.version(self.current_number)

    @property
    def published(self) -> "ModuleVersion | None":
        return self.version(self.published_number)

    @property
    def status_label(self) -> str:
        return Status(self.status).label


class ModuleVersion(db.Model):
    """One immutable version: title, summary, credit hours, quiz rules and lessons."""

    __tablename__ = "study_module_versions"
    __table_args__ = (
        UniqueConstraint("module_id", "number", name="uq_study_module_versions_number"),
        CheckConstraint("credit_hours > 0", name="positive_credit"),
        CheckConstraint(
            "quiz_single >= 0 AND quiz_multiple >= 0 AND quiz_true_false >= 0",
            name="quiz_counts",
        ),
        CheckConstraint("quiz_pass_percent BETWEEN 1 AND 100", name="quiz_pass_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("study_modules.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(String(500), default="")
    #: nominal credit hours (学时) credited when the module is completed
    credit_hours: Mapped[Decimal] = mapped_column(Hours)
    #: quiz rules: questions citing this law and carrying this topic (知识点), by type
    quiz_law_id: Mapped[int | None] = mapped_column(ForeignKey("laws.id"))
    quiz_topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))
    quiz_single: Mapped[int] = mapped_column(default=0)
    quiz_multiple: Mapped[int] = mapped_column(default=0)
    quiz_true_false: Mapped[int] = mapped_column(default=0)
    quiz_pass_percent: Mapped[int] = mapped_column(default=60)
    #: the exam (kind module_quiz) made from the quiz rules when this version is published
    quiz_exam_id: Mapped[int | None] = mapped_column(ForeignKey("exams.id"))
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    module: Mapped[StudyModule] = relationship(back_populates="versions")
    lessons: Mapped[list["Lesson"]] = relationship(
        order_by="Lesson.position", cascade="all, delete-orphan"
    )

    @property
    def quiz_count(self) -> int:
        return self.quiz_single + self.quiz_multiple + self.quiz_true_false

    def lesson(self, key: int) -> "Lesson | None":
        return next((lesson for lesson in self.lessons if lesson.key == key), None)


class Lesson(db.Model):
    __tablename__ = "study_lessons"
    __table_args__ = (
        UniqueConstraint("module_version_id", "position", name="uq_study_lessons_position"),
        UniqueConstraint("module_version_id", "key", name="uq_study_lessons_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_version_id: Mapped[int] = mapped_column(
        ForeignKey("study_module_versions.id"), index=True
    )
    #: stable across the module's versions
    key: Mapped[int]
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(100))
    #: Markdown, rendered and sanitised on display (training.study.markdown)
    body: Mapped[str] = mapped_column(Text)
    #: 法律依据 in the bank's notation, canonical (question_bank.drafts.format_law_refs)
    law_refs: Mapped[str] = mapped_column(String(1000), default="")
    #: ids of bank questions the lesson points to
    question_ids: Mapped[list] = mapped_column(JSON, default=list)


class Program(db.Model):
    """A track of modules (民法典学习课程) with its own completion."""

    __tablename__ = "study_programs"
    __table_args__ = (CheckConstraint(f"status IN ({STATUS_VALUES})", name="known_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), default=Status.DRAFT.value)
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    entries: Mapped[list["ProgramModule"]] = relationship(
        order_by="ProgramModule.position", cascade="all, delete-orphan"
    )

    @property
    def modules(self) -> list[StudyModule]:
        return [entry.module for entry in self.entries]

    @property
    def status_label(self) -> str:
        return Status(self.status).label


class ProgramModule(db.Model):
    __tablename__ = "study_program_modules"
    __table_args__ = (
        UniqueConstraint("program_id", "module_id", name="uq_study_program_modules_module"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("study_programs.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("study_modules.id"))
    position: Mapped[int]

    module: Mapped[StudyModule] = relationship()


class ModuleStudy(db.Model):
    """A learner studying a module: the version they study, fixed when they first open it,
    so a later edit changes nothing under them."""

    __tablename__ = "study_enrolments"
    __table_args__ = (UniqueConstraint("user_id", "module_id", name="uq_study_enrolments_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("study_modules.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("study_module_versions.id"))
    started_at: Mapped[datetime]

    version: Mapped[ModuleVersion] = relationship()


class LessonOpened(db.Model):
    """That a learner opened a lesson (private reading progress; never timed)."""

    __tablename__ = "study_lessons_opened"
    __table_args__ = (
        UniqueConstraint("user_id", "module_id", "lesson_key", name="uq_study_lessons_opened"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("study_modules.id"))
    lesson_key: Mapped[int]
    opened_at: Mapped[datetime]


class ModuleCompletion(db.Model):
    """A module completed: every lesson opened and the quiz passed. Keeps the version
    studied and the credit hours it carried."""

    __tablename__ = "study_completions"
    __table_args__ = (UniqueConstraint("user_id", "module_id", name="uq_study_completions_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("study_modules.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("study_module_versions.id"))
    #: the passed quiz attempt that completed it
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"))
    credit_hours: Mapped[Decimal] = mapped_column(Hours)
    completed_at: Mapped[datetime]

    version: Mapped[ModuleVersion] = relationship()


class ProgramCompletion(db.Model):
    __tablename__ = "study_program_completions"
    __table_args__ = (
        UniqueConstraint("user_id", "program_id", name="uq_study_program_completions_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("study_programs.id"))
    completed_at: Mapped[datetime]


class LessonReview(db.Model):
    """A lesson a law revision put under review (待复核): its module's current version
    cited an article that the revision changed, removed or renumbered. The module stays
    as it is (published ones stay offered); the row goes when a trainer confirms the
    lesson or publishes a version that edits it, and the audit log keeps both."""

    __tablename__ = "study_lesson_reviews"
    __table_args__ = (
        UniqueConstraint(
            "module_id", "lesson_key", "law_version_id", name="uq_study_lesson_reviews_lesson"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("study_modules.id"), index=True)
    lesson_key: Mapped[int]
    #: the module version whose lesson was flagged
    module_number: Mapped[int]
    #: the law's new version, and the one before it (the lesson cited that one)
    law_version_id: Mapped[int] = mapped_column(ForeignKey("law_versions.id"))
    previous_law_version_id: Mapped[int] = mapped_column(ForeignKey("law_versions.id"))
    law_name: Mapped[str] = mapped_column(String(100))
    old_label: Mapped[str] = mapped_column(String(50))
    new_label: Mapped[str] = mapped_column(String(50))
    #: each reference needing review: {"article", "suffix", "why", "old_key", "new_key"}
    #: (new_key None: the article is gone from the new version)
    items: Mapped[list] = mapped_column(JSON, default=list)
    flagged_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    module: Mapped[StudyModule] = relationship()


# --- practice over the bank: memory (FSRS), review log, mistakes, stars ---------------


class PracticeSettings(db.Model):
    """A learner's own practice settings; no row means the defaults."""

    __tablename__ = "practice_settings"
    __table_args__ = (
        CheckConstraint("desired_retention BETWEEN 0.80 AND 0.97", name="retention"),
        CheckConstraint("mistake_streak BETWEEN 1 AND 10", name="mistake_streak"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    #: the probability of recall FSRS schedules reviews for (and mastery is judged by)
    desired_retention: Mapped[float] = mapped_column(Float, default=0.9)
    #: right answers in a row that take a question out of the mistakes notebook
    mistake_streak: Mapped[int] = mapped_column(default=3)


class MemoryCard(db.Model):
    """What FSRS knows of one person's memory of one question (fsrs.Card); its id is the
    card id passed to the library and kept in the review log."""

    __tablename__ = "practice_cards"
    __table_args__ = (
        UniqueConstraint("user_id", "question_id", name="uq_practice_cards_user_question"),
        # The due queue: a person's cards by due time. On PostgreSQL it carries what the
        # progress page reads, which then reads no card from the table (migration 0054).
        Index(
            "ix_practice_cards_user_due",
            "user_id",
            "due",
            postgresql_include=[
                "question_id",
                "state",
                "stability",
                "last_review",
                "last_correct",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    #: fsrs.State: 1 learning, 2 review, 3 relearning
    state: Mapped[int] = mapped_column(SmallInteger, default=1)
    step: Mapped[int | None]
    stability: Mapped[float | None] = mapped_column(Float)
    difficulty: Mapped[float | None] = mapped_column(Float)
    due: Mapped[datetime]
    last_review: Mapped[datetime | None]
    reviews: Mapped[int] = mapped_column(default=0)
    #: whether the latest answer (the review at last_review) was right: readiness reads the
    #: cards, not the whole review log
    last_correct: Mapped[bool | None]


class ReviewRecord(db.Model):
    """One practice answer as FSRS saw it (fsrs.ReviewLog), kept to optimise the
    scheduler's parameters from real data later."""

    __tablename__ = "practice_reviews"
    __table_args__ = (Index("ix_practice_reviews_user_time", "user_id", "reviewed_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("practice_cards.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("question_versions.id"))
    #: fsrs.Rating: 1 again, 2 hard, 3 good, 4 easy
    rating: Mapped[int] = mapped_column(SmallInteger)
    correct: Mapped[bool]
    reviewed_at: Mapped[datetime]
    #: from the server's record of when the question was served
    duration_ms: Mapped[int | None]
    mode: Mapped[str] = mapped_column(String(20))


class ServedQuestion(db.Model):
    """The question a learner was last shown in practice, per question: which version,
    when (the server's clock times the answer), and whether it has been answered (an
    answer counts once, however often it is sent)."""

    __tablename__ = "practice_served"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("question_versions.id"))
    served_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    #: sequential practice: {"law_id", "chapter", "rank"} of the question in its law, so
    #: that the answer moves the position without recomputing the law's order
    sequence: Mapped[dict | None] = mapped_column(JSON)


class Mistake(db.Model):
    """A question in a learner's mistakes notebook (错题本)."""

    __tablename__ = "practice_mistakes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)
    #: the version last answered wrongly
    version_id: Mapped[int] = mapped_column(ForeignKey("question_versions.id"))
    #: where the last wrong answer was given: practice, mock or exam
    source: Mapped[str] = mapped_column(String(20))
    wrong_count: Mapped[int] = mapped_column(default=1)
    right_streak: Mapped[int] = mapped_column(default=0)
    first_wrong_at: Mapped[datetime]
    last_wrong_at: Mapped[datetime]


class CollectedAttempt(db.Model):
    """A submitted exam attempt whose wrong answers have gone into the notebook."""

    __tablename__ = "practice_collected_attempts"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    collected_at: Mapped[datetime]


class Star(db.Model):
    """A question a learner starred (收藏)."""

    __tablename__ = "practice_stars"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)
    starred_at: Mapped[datetime]


class SequencePosition(db.Model):
    """How far a learner has come through a law (or one chapter of it) in sequential
    practice: the place of the last question answered there. Only ever moves forward."""

    __tablename__ = "practice_positions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    law_id: Mapped[int] = mapped_column(ForeignKey("laws.id"), primary_key=True)
    #: the chapter's heading, "" for the whole law
    chapter: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    #: the last answered question's place in the law's order (queries.SequenceEntry.rank)
    rank: Mapped[list] = mapped_column(JSON)
    updated_at: Mapped[datetime]
