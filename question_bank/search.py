"""Queries behind the trainers' list, export and law registry pages.

Keyword search is a substring match on `Question.search_text` (Chinese has no word breaks):
the query is normalised as the text was (`search_key`), split on spaces, and every term
must occur. LIKE with escaping works the same on SQLite and PostgreSQL; PostgreSQL's
trigram index serves it there.
"""

from dataclasses import dataclass, field

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import selectinload

from core.extensions import db
from question_bank.bank import changed_fields, draft_of, search_key
from question_bank.drafts import QuestionDraft
from question_bank.models import (
    Case,
    Citation,
    Law,
    LawVersion,
    Question,
    QuestionStatus,
    QuestionVersion,
    Topic,
    is_current_version,
)

#: status filter values beyond the QuestionStatus ones
NOT_RETIRED = ""
ANY_STATUS = "all"


@dataclass(frozen=True)
class QuestionFilters:
    keyword: str = ""
    law_id: int | None = None
    topic_id: int | None = None
    type: str = ""
    difficulty: int | None = None
    #: a QuestionStatus value, NOT_RETIRED (the default) or ANY_STATUS
    status: str = NOT_RETIRED
    missing_citation: bool = False


def _matching(filters: QuestionFilters) -> Select:
    """The questions matching `filters`, unordered, nothing loaded."""
    stmt = select(Question)
    for term in search_key(filters.keyword).split():
        stmt = stmt.where(Question.search_text.contains(term, autoescape=True))
    if filters.law_id:
        cites_law = (
            select(Citation.id)
            .join(QuestionVersion, QuestionVersion.id == Citation.version_id)
            .join(LawVersion, LawVersion.id == Citation.law_version_id)
            .where(is_current_version(), LawVersion.law_id == filters.law_id)
            .exists()
        )
        stmt = stmt.where(cites_law)
    if filters.topic_id:
        stmt = stmt.where(Question.topics.any(Topic.id == filters.topic_id))
    if filters.type:
        stmt = stmt.where(Question.type == filters.type)
    if filters.difficulty:
        stmt = stmt.where(Question.difficulty == filters.difficulty)
    if filters.status == NOT_RETIRED:
        stmt = stmt.where(Question.status != QuestionStatus.RETIRED.value)
    elif filters.status != ANY_STATUS:
        stmt = stmt.where(Question.status == filters.status)
    if filters.missing_citation:
        stmt = stmt.where(Question.has_citation.is_(False))
    return stmt


def question_query(filters: QuestionFilters) -> Select:
    """Questions matching `filters`, newest first, with what a list row shows loaded."""
    return (
        _matching(filters)
        .order_by(Question.id.desc())
        .options(
            selectinload(Question.current_version)
            .selectinload(QuestionVersion.citations)
            .joinedload(Citation.law_version)
            .joinedload(LawVersion.law),
            selectinload(Question.topics),
        )
    )


#: a list entry's key: a question outside cases is its id, a case minus its id
_ENTRY = case((Question.case_id.is_(None), Question.id), else_=-Question.case_id)


def list_entries(filters: QuestionFilters) -> Select:
    """The bank list's entries (keys as _ENTRY), newest first: a case whose sub-questions
    match is one entry, placed by its newest matching sub-question, so the list reads as
    questions and cases rather than sub-questions torn from their material."""
    return (
        _matching(filters)
        .with_only_columns(_ENTRY.label("entry"))
        .select_from(Question)
        .group_by(_ENTRY)
        .order_by(func.max(Question.id).desc())
    )


@dataclass
class ListEntry:
    """One row of the bank list: a question, or a case with its matching sub-questions."""

    question: Question | None = None
    case: Case | None = None
    parts: list[Question] = field(default_factory=list)


def list_rows(filters: QuestionFilters, keys: list[int]) -> list[ListEntry]:
    """The entries of one page of `list_entries`, loaded, in order; a case's matching
    sub-questions in the case's order."""
    ids = [key for key in keys if key > 0]
    case_ids = [-key for key in keys if key < 0]
    questions = {}
    if ids:
        found = db.session.scalars(question_query(filters).where(Question.id.in_(ids)))
        questions = {question.id: question for question in found}
    cases = {}
    parts: dict[int, list[Question]] = {case_id: [] for case_id in case_ids}
    if case_ids:
        stmt = select(Case).where(Case.id.in_(case_ids)).options(selectinload(Case.current_version))
        cases = {found.id: found for found in db.session.scalars(stmt)}
        for question in db.session.scalars(
            question_query(filters).where(Question.case_id.in_(case_ids))
        ):
            parts[question.case_id].append(question)
        for case_id, found in parts.items():
            order = [question_id for question_id, _ in cases[case_id].current_version.parts]
            found.sort(
                key=lambda q, order=order: order.index(q.id) if q.id in order else len(order)
            )
    return [
        ListEntry(question=questions[key])
        if key > 0
        else ListEntry(case=cases[-key], parts=parts[-key])
        for key in keys
    ]


def all_laws() -> Select:
    return select(Law).order_by(Law.name).options(selectinload(Law.versions))


def all_topics() -> Select:
    return select(Topic).order_by(Topic.name)


def citing_counts() -> dict[int, int]:
    """Law version id -> how many questions not retired cite it in their current version."""
    stmt = (
        select(Citation.law_version_id, func.count(func.distinct(Question.id)))
        .join(QuestionVersion, QuestionVersion.id == Citation.version_id)
        .join(Question, is_current_version())
        .where(Question.status != QuestionStatus.RETIRED.value)
        .group_by(Citation.law_version_id)
    )
    return dict(db.session.execute(stmt).all())


def version_history(question: Question) -> list[tuple[QuestionVersion, QuestionDraft, list[str]]]:
    """Every version, newest first, with the fields it changed against the one before."""
    rows, before = [], None
    for version in question.versions:
        draft = draft_of(version)
        rows.append((version, draft, changed_fields(before, draft) if before else []))
        before = draft
    return rows[::-1]
