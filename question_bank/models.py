"""The question bank: laws and their versions, questions, their versions and topics.

A question is a stable identity; every edit adds a QuestionVersion and never changes an
old one, so an attempt that froze version N keeps scoring and showing version N.
"""

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.extensions import db
from question_bank.types import TYPE_VALUES


class Law(db.Model):
    """A law or regulation questions cite, by its short name (行政处罚法)."""

    __tablename__ = "laws"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")

    versions: Mapped[list["LawVersion"]] = relationship(
        back_populates="law", order_by="LawVersion.id", cascade="all, delete-orphan"
    )

    @property
    def current_version(self) -> "LawVersion | None":
        return next((version for version in self.versions if version.is_current), None)


class LawVersion(db.Model):
    """One revision of a law (2021年修订); exactly one per law is current."""

    __tablename__ = "law_versions"
    __table_args__ = (UniqueConstraint("law_id", "label", name="uq_law_versions_law_label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    law_id: Mapped[int] = mapped_column(ForeignKey("laws.id"), index=True)
    #: how citations name it: 2021年修订, 2018年修正, 2020年
    label: Mapped[str] = mapped_column(String(50))
    effective_on: Mapped[date | None]
    is_current: Mapped[bool] = mapped_column(default=False)
    # The statute text, once imported (question_bank.statutes): without it the version is
    # a name citations use, and nothing checks that a cited article exists.
    title: Mapped[str] = mapped_column(String(200), default="")
    #: the 题注 (adoption and amendment dates), one line each
    caption: Mapped[str] = mapped_column(Text, default="")
    preamble: Mapped[str] = mapped_column(Text, default="")
    source_name: Mapped[str] = mapped_column(String(255), default="")
    imported_at: Mapped[datetime | None]
    #: the version this one was compared with on import (its article diff)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("law_versions.id"))

    law: Mapped[Law] = relationship(back_populates="versions")

    @property
    def citation(self) -> str:
        return f"{self.law.name}（{self.label}）"

    @property
    def has_text(self) -> bool:
        return self.imported_at is not None


class QuestionStatus(enum.StrEnum):
    ACTIVE = "active"
    NEEDS_REVIEW = "needs_review"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        return {"active": "在用", "needs_review": "待复核", "retired": "已停用"}[self.value]


STATUS_VALUES = ", ".join(f"'{status.value}'" for status in QuestionStatus)


#: the questions practice draws that cite a law (queries.question_laws: in use, no case's
#: sub-question, no marked type): the progress page counts them per law and joins them to a
#: person's cards from this index alone (a new marked type needs the index made again)
PRACTISED_WITH_LAW = text(
    "status = 'active' AND case_id IS NULL AND law_id IS NOT NULL "
    "AND type NOT IN ('short_answer', 'essay')"
)


class Question(db.Model):
    __tablename__ = "questions"
    __table_args__ = (
        CheckConstraint(f"status IN ({STATUS_VALUES})", name="known_status"),
        Index("ix_questions_status_type", "status", "type"),
        Index(
            "ix_questions_practised_law",
            "id",
            "law_id",
            sqlite_where=PRACTISED_WITH_LAW,
            postgresql_where=PRACTISED_WITH_LAW,
        ),
        # Substring search (Chinese has no word breaks) uses trigrams where available.
        Index(
            "ix_questions_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default=QuestionStatus.ACTIVE.value)
    #: the number of the newest version; older ones stay for the attempts that used them
    current_number: Mapped[int] = mapped_column(default=1)
    # Copies of the current version's fields that the list filters and searches on.
    type: Mapped[str] = mapped_column(String(20))
    difficulty: Mapped[int | None]
    has_citation: Mapped[bool] = mapped_column(default=False)
    #: normalised stem, choices, explanation and citations, for substring search
    search_text: Mapped[str] = mapped_column(Text, default="")
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    #: user id (question_bank refers to accounts only by key)
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    #: why the question needs review, e.g. the law revision that triggered it
    review_note: Mapped[str] = mapped_column(String(200), default="")
    #: the case (案例) whose sub-question this is; such a question is drawn with its case
    #: only, never on its own
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    #: the law the current version cites first (a copy, like type and difficulty), so that
    #: counting questions per law (practice mastery) reads one table
    law_id: Mapped[int | None] = mapped_column(ForeignKey("laws.id"), index=True)

    versions: Mapped[list["QuestionVersion"]] = relationship(
        back_populates="question", order_by="QuestionVersion.number"
    )
    current_version: Mapped["QuestionVersion"] = relationship(
        primaryjoin=lambda: is_current_version(),
        viewonly=True,
        uselist=False,
    )
    topics: Mapped[list["Topic"]] = relationship(
        secondary="question_topics", order_by="Topic.name", back_populates="questions"
    )

    @property
    def status_label(self) -> str:
        return QuestionStatus(self.status).label


def is_current_version():
    """Join condition: the QuestionVersion that is its Question's current one."""
    return and_(
        QuestionVersion.question_id == Question.id,
        QuestionVersion.number == Question.current_number,
    )


class QuestionVersion(db.Model):
    """An immutable snapshot of a question's content."""

    __tablename__ = "question_versions"
    __table_args__ = (
        UniqueConstraint("question_id", "number", name="uq_question_versions_question_number"),
        CheckConstraint(f"type IN ({TYPE_VALUES})", name="known_type"),
        CheckConstraint("difficulty IS NULL OR difficulty BETWEEN 1 AND 5", name="difficulty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    number: Mapped[int]
    type: Mapped[str] = mapped_column(String(20))
    stem: Mapped[str] = mapped_column(Text)
    #: option texts in order A, B, ...; true/false: 正确, 错误
    choices: Mapped[list] = mapped_column(JSON, default=list)
    #: 0-based indices of the correct choices
    answer: Mapped[list] = mapped_column(JSON, default=list)
    #: fill_blank: per blank, accepted answers, the first canonical
    blanks: Mapped[list] = mapped_column(JSON, default=list)
    explanation: Mapped[str] = mapped_column(Text, default="")
    #: 简答/论述: the model answer markers read (never shown to a candidate before the
    #: results are released)
    model_answer: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: 简答/论述: the marking points (得分要点): [[text, points as text], ...]
    marking_points: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    #: 简答/论述: the most characters an answer may have (None: the type's default)
    max_chars: Mapped[int | None]
    difficulty: Mapped[int | None]
    #: the topics at the time of this version, for the history
    topic_names: Mapped[list] = mapped_column(JSON, default=list)
    change_note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    question: Mapped[Question] = relationship(back_populates="versions")
    citations: Mapped[list["Citation"]] = relationship(
        order_by="Citation.id", cascade="all, delete-orphan"
    )


class Citation(db.Model):
    """A law reference of one question version: law version, article (之一 as suffix 1)
    and, where the question rests on one, its paragraph (款) and item (项)."""

    __tablename__ = "citations"
    __table_args__ = (
        CheckConstraint("article > 0", name="positive_article"),
        CheckConstraint(
            "article_suffix >= 0 AND (paragraph IS NULL OR paragraph > 0) "
            "AND (item IS NULL OR item > 0)",
            name="positive_parts",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("question_versions.id"), index=True)
    law_version_id: Mapped[int] = mapped_column(ForeignKey("law_versions.id"), index=True)
    article: Mapped[int]
    article_suffix: Mapped[int] = mapped_column(default=0, server_default="0")
    paragraph: Mapped[int | None]
    item: Mapped[int | None]

    law_version: Mapped[LawVersion] = relationship()


class Topic(db.Model):
    """A knowledge point (知识点) that questions are tagged with."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)

    questions: Mapped[list[Question]] = relationship(
        secondary="question_topics", back_populates="topics"
    )


class QuestionTopic(db.Model):
    __tablename__ = "question_topics"

    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), primary_key=True, index=True)


class Case(db.Model):
    """A case (案例分析/材料题): a material and an ordered list of sub-questions, drawn,
    edited and retired as a unit. Every change of the material, the table, the list of
    sub-questions or their points adds a CaseVersion; the sub-questions are ordinary
    questions (case_id set) with their own versions, keys and citations."""

    __tablename__ = "cases"
    __table_args__ = (CheckConstraint(f"status IN ({STATUS_VALUES})", name="known_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default=QuestionStatus.ACTIVE.value)
    current_number: Mapped[int] = mapped_column(default=1)
    #: a copy of the current version's title, for the list
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    versions: Mapped[list["CaseVersion"]] = relationship(
        back_populates="case", order_by="CaseVersion.number"
    )
    current_version: Mapped["CaseVersion"] = relationship(
        primaryjoin=lambda: and_(
            CaseVersion.case_id == Case.id, CaseVersion.number == Case.current_number
        ),
        viewonly=True,
        uselist=False,
    )

    @property
    def status_label(self) -> str:
        return QuestionStatus(self.status).label


class CaseVersion(db.Model):
    """An immutable snapshot of a case: its material and its sub-questions in order."""

    __tablename__ = "case_versions"
    __table_args__ = (UniqueConstraint("case_id", "number", name="uq_case_versions_case_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    #: the case text candidates read before the sub-questions
    material: Mapped[str] = mapped_column(Text)
    #: an optional table under the material: rows of cells, the first row the header
    table: Mapped[list] = mapped_column(JSON, default=list)
    #: the sub-questions in order: [[question id, points as text], ...]; a paper takes
    #: each question's version current when the exam is published
    parts: Mapped[list] = mapped_column(JSON, default=list)
    change_note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    case: Mapped[Case] = relationship(back_populates="versions")


# --- the statute texts ---------------------------------------------------------------


class LawPart(db.Model):
    """A heading of a statute: 编, 分编, 章, 节, or one 宪法修正案 (kind 修正案)."""

    __tablename__ = "law_parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    law_version_id: Mapped[int] = mapped_column(ForeignKey("law_versions.id"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))
    number: Mapped[int | None]
    #: as the statute writes it: 第一编　总则
    heading: Mapped[str] = mapped_column(String(200))
    #: the amendment's adoption line, for a 修正案
    note: Mapped[str] = mapped_column(String(200), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("law_parts.id"))
    depth: Mapped[int] = mapped_column(default=0)


class LawArticle(db.Model):
    """One article of an imported version, with its paragraphs (款) and their items (项)."""

    __tablename__ = "law_articles"
    __table_args__ = (
        UniqueConstraint(
            "law_version_id", "series", "number", "suffix", name="uq_law_articles_number"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    law_version_id: Mapped[int] = mapped_column(ForeignKey("law_versions.id"), index=True)
    part_id: Mapped[int | None] = mapped_column(ForeignKey("law_parts.id"))
    position: Mapped[int]
    #: "" for the statute's own articles, 修正案 for the 宪法's amendment articles
    series: Mapped[str] = mapped_column(String(10), default="")
    number: Mapped[int]
    suffix: Mapped[int] = mapped_column(default=0)
    #: as the statute writes it: 第十条之一
    heading: Mapped[str] = mapped_column(String(30))
    #: [{"text": 款, "items": [项, ...]}, ...]
    paragraphs: Mapped[list] = mapped_column(JSON, default=list)
    #: plain text, one line per 款 and 项 (the diff compares it)
    text: Mapped[str] = mapped_column(Text, default="")
    #: normalised text for search within the law (bank.search_key)
    search_text: Mapped[str] = mapped_column(Text, default="")

    law_version: Mapped[LawVersion] = relationship()
    part: Mapped[LawPart | None] = relationship()

    @property
    def is_amendment(self) -> bool:
        return self.series != ""


class ArticleChangeKind(enum.StrEnum):
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"
    RENUMBERED = "renumbered"

    @property
    def label(self) -> str:
        return {
            "unchanged": "未变",
            "changed": "修改",
            "added": "新增",
            "removed": "删除",
            "renumbered": "移位",
        }[self.value]


CHANGE_VALUES = ", ".join(f"'{kind.value}'" for kind in ArticleChangeKind)


class LawArticleChange(db.Model):
    """One line of the article diff made when a version was imported after another."""

    __tablename__ = "law_article_changes"
    __table_args__ = (CheckConstraint(f"kind IN ({CHANGE_VALUES})", name="known_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    new_version_id: Mapped[int] = mapped_column(ForeignKey("law_versions.id"), index=True)
    old_version_id: Mapped[int] = mapped_column(ForeignKey("law_versions.id"))
    kind: Mapped[str] = mapped_column(String(12))
    old_article_id: Mapped[int | None] = mapped_column(ForeignKey("law_articles.id"), index=True)
    new_article_id: Mapped[int | None] = mapped_column(ForeignKey("law_articles.id"))
    #: text similarity of the pair, 0-100 (100 for identical texts)
    similarity: Mapped[int] = mapped_column(default=0)

    old_article: Mapped[LawArticle | None] = relationship(foreign_keys=[old_article_id])
    new_article: Mapped[LawArticle | None] = relationship(foreign_keys=[new_article_id])

    @property
    def kind_label(self) -> str:
        return ArticleChangeKind(self.kind).label
