"""What other packages ask of the bank, so that none of them joins its tables: the
questions a paper may draw, current and older versions, laws and topics by key.

The current-version condition is models.is_current_version, used here and nowhere else
outside the bank.
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    ColumnElement,
    ScalarSelect,
    Select,
    Subquery,
    and_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from core.extensions import db
from question_bank.bank import CitationLookup
from question_bank.drafts import LawRefDraft
from question_bank.models import (
    Case,
    CaseVersion,
    Citation,
    Law,
    LawArticle,
    LawPart,
    LawVersion,
    Question,
    QuestionStatus,
    QuestionTopic,
    QuestionVersion,
    Topic,
    is_current_version,
)
from question_bank.types import MARKED_TYPES

#: a question a paper may draw: (question id, current version id, number of choices)
Eligible = tuple[int, int, int]


def carries_topic(topic_id: int) -> ColumnElement:
    """SQL: the Question carries the topic (知识点)."""
    return (
        select(QuestionTopic.question_id)
        .where(QuestionTopic.question_id == Question.id)
        .where(QuestionTopic.topic_id == topic_id)
        .exists()
    )


def cites_law(law_id: int) -> ColumnElement:
    """SQL: the QuestionVersion (joined as the current one) cites the law."""
    return (
        select(Citation.id)
        .join(LawVersion, LawVersion.id == Citation.law_version_id)
        .where(Citation.version_id == QuestionVersion.id)
        .where(LawVersion.law_id == law_id)
        .exists()
    )


def eligible_questions(
    question_type: str,
    *,
    law_id: int | None = None,
    topic_id: int | None = None,
    difficulty_min: int | None = None,
    difficulty_max: int | None = None,
) -> list[Eligible]:
    """Every question in use (在用) of the type, at its current version, that cites the law
    and carries the topic when they are given, within the difficulties; by question id."""
    stmt = (
        select(Question.id, QuestionVersion.id, QuestionVersion.choices)
        .join(QuestionVersion, is_current_version())
        .where(Question.status == QuestionStatus.ACTIVE.value)
        .where(Question.type == question_type)
        .where(Question.case_id.is_(None))  # a case's sub-question comes with its case
        .order_by(Question.id)
    )
    if difficulty_min:
        stmt = stmt.where(Question.difficulty >= difficulty_min)
    if difficulty_max:
        stmt = stmt.where(Question.difficulty <= difficulty_max)
    if topic_id:
        stmt = stmt.where(carries_topic(topic_id))
    if law_id:
        stmt = stmt.where(cites_law(law_id))
    return [
        (question_id, version_id, len(choices))
        for question_id, version_id, choices in db.session.execute(stmt)
    ]


#: a case a paper may draw: (case id, current case version id, its sub-questions as
#: ((question version id, number of choices, points as text, type id), ...))
EligibleCase = tuple[int, int, tuple[tuple[int, int, str, str], ...]]


def eligible_cases(*, law_id: int | None = None, topic_id: int | None = None) -> list[EligibleCase]:
    """Every case in use (在用) whose sub-questions are all in use, at its current version
    and with each sub-question's current version, where a sub-question cites the law and
    one carries the topic when they are given; by case id."""
    stmt = (
        select(Case.id, CaseVersion.id, CaseVersion.parts)
        .join(
            CaseVersion,
            (CaseVersion.case_id == Case.id) & (CaseVersion.number == Case.current_number),
        )
        .where(Case.status == QuestionStatus.ACTIVE.value)
        .order_by(Case.id)
    )
    found = db.session.execute(stmt).all()
    ids = {question_id for _, _, parts in found for question_id, _ in parts}
    current = {}
    if ids:
        sub = (
            select(Question.id, Question.status, QuestionVersion.id, QuestionVersion.type)
            .add_columns(QuestionVersion.choices)
            .join(QuestionVersion, is_current_version())
            .where(Question.id.in_(ids))
        )
        for question_id, status, version_id, type_id, choices in db.session.execute(sub):
            current[question_id] = (status, version_id, type_id, len(choices))
    matching = _matching(ids, law_id, topic_id) if (law_id or topic_id) else None
    cases = []
    for case_id, case_version_id, parts in found:
        question_ids = [question_id for question_id, _ in parts]
        if any(current[q][0] != QuestionStatus.ACTIVE.value for q in question_ids):
            continue
        if matching is not None and not matching.intersection(question_ids):
            continue
        entries = tuple(
            (current[question_id][1], current[question_id][3], points, current[question_id][2])
            for question_id, points in parts
        )
        cases.append((case_id, case_version_id, entries))
    return cases


def _matching(question_ids: set[int], law_id: int | None, topic_id: int | None) -> set[int]:
    """Those of the questions that cite the law (current version) and carry the topic."""
    stmt = (
        select(Question.id)
        .join(QuestionVersion, is_current_version())
        .where(Question.id.in_(question_ids))
    )
    if topic_id:
        stmt = stmt.where(carries_topic(topic_id))
    if law_id:
        stmt = stmt.where(cites_law(law_id))
    return set(db.session.scalars(stmt))


def case_versions(version_ids: Iterable[int]) -> dict[int, CaseVersion]:
    """Case versions by id (the materials of a paper)."""
    wanted = list(set(version_ids))
    if not wanted:
        return {}
    return {
        version.id: version
        for version in db.session.scalars(select(CaseVersion).where(CaseVersion.id.in_(wanted)))
    }


def question(question_id: int) -> Question | None:
    return db.session.get(Question, question_id)


def outdated_versions(version_ids: Iterable[int]) -> list[QuestionVersion]:
    """Those of the versions that are no longer their question's current one, by question
    and version number."""
    return list(
        db.session.scalars(
            select(QuestionVersion)
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(QuestionVersion.id.in_(list(version_ids)))
            .where(QuestionVersion.number < Question.current_number)
            .order_by(QuestionVersion.question_id, QuestionVersion.number)
        )
    )


def versions_of(
    question_id: int, *, among: Iterable[int], excluding: int | None = None
) -> list[QuestionVersion]:
    """The question's versions whose ids are `among`, but for `excluding`, by number."""
    stmt = (
        select(QuestionVersion)
        .where(QuestionVersion.question_id == question_id)
        .where(QuestionVersion.id.in_(list(among)))
        .order_by(QuestionVersion.number)
    )
    if excluding is not None:
        stmt = stmt.where(QuestionVersion.id != excluding)
    return list(db.session.scalars(stmt))


def version_ids_of(question_id: int) -> Select:
    """The ids of every version of the question, as a subquery for IN."""
    return select(QuestionVersion.id).where(QuestionVersion.question_id == question_id)


def version_ids_of_types(type_ids: Iterable[str]) -> Select:
    """The ids of every version of the given types, as a subquery for IN."""
    return select(QuestionVersion.id).where(QuestionVersion.type.in_(list(type_ids)))


def versions_as_shown() -> Subquery:
    """Question versions as a paper shows them, never with their keys: id, type, stem,
    choices, blanks and max_chars, to join on `id`."""
    versions = QuestionVersion.__table__
    return select(
        versions.c.id,
        versions.c.type,
        versions.c.stem,
        versions.c.choices,
        versions.c.blanks,
        versions.c.max_chars,
    ).subquery("shown_versions")


def answer_shape(version_id: ColumnElement) -> tuple[ScalarSelect, ...]:
    """Type, number of choices, number of blanks and the longest answer allowed (written
    questions) of the version whose id the SQL expression gives, as scalar subqueries
    (NULL when it gives none).

    Spelled with a qualified name: SQLAlchemy drops table names in the conditions of a
    subquery inside RETURNING, where a bare `id` is ambiguous."""
    versions = QuestionVersion.__table__

    def of_version(column):
        return (
            select(column)
            .select_from(versions)
            .where(literal_column("question_versions.id") == version_id)
            .scalar_subquery()
        )

    return (
        of_version(versions.c.type),
        of_version(func.json_array_length(versions.c.choices)),
        of_version(func.json_array_length(versions.c.blanks)),
        of_version(versions.c.max_chars),
    )


def law(law_id: int) -> Law | None:
    return db.session.get(Law, law_id)


def law_id(name: str) -> int | None:
    return db.session.scalar(select(Law.id).where(Law.name == name))


def topic(topic_id: int) -> Topic | None:
    return db.session.get(Topic, topic_id)


def topic_id(name: str) -> int | None:
    return db.session.scalar(select(Topic.id).where(Topic.name == name))


def laws() -> list[Law]:
    """Every law in the library, by name."""
    return list(db.session.scalars(select(Law).order_by(Law.name)))


def topics() -> list[Topic]:
    """Every topic (知识点), by name."""
    return list(db.session.scalars(select(Topic).order_by(Topic.name)))


def existing_question_ids(question_ids: Iterable[int]) -> set[int]:
    """Those of the ids that name a question of the bank."""
    wanted = list(question_ids)
    if not wanted:
        return set()
    return set(db.session.scalars(select(Question.id).where(Question.id.in_(wanted))))


def law_refs_problem(refs: list) -> str | None:
    """Why the references (LawRefDrafts) name no law version of the library, or no article
    of its text when the text is imported; None when every one resolves. Registers nothing."""
    _, error = CitationLookup().resolve(refs)
    return error


def versions_by_id(version_ids: Iterable[int]) -> dict[int, QuestionVersion]:
    """The question versions whose ids are given, by id (for reports on papers)."""
    wanted = list(version_ids)
    if not wanted:
        return {}
    rows = db.session.scalars(select(QuestionVersion).where(QuestionVersion.id.in_(wanted)))
    return {version.id: version for version in rows}


# --- practice: what a learner may be asked, and in which order --------------------------


def practice_question_ids(
    *,
    law_id: int | None = None,
    topic_id: int | None = None,
    difficulty: int | None = None,
    among: Iterable[int] | None = None,
) -> list[int]:
    """Ids of the questions in use (在用) citing the law, carrying the topic, of the
    difficulty, among the given ids, when those are given; by id. Practice grades an
    answer at once: no written question (markers mark those) and no case sub-question
    (it needs its material)."""
    stmt = (
        select(Question.id)
        .join(QuestionVersion, is_current_version())
        .where(Question.status == QuestionStatus.ACTIVE.value, *_practised())
    )
    if difficulty:
        stmt = stmt.where(Question.difficulty == difficulty)
    if topic_id:
        stmt = stmt.where(carries_topic(topic_id))
    if law_id:
        stmt = stmt.where(cites_law(law_id))
    if among is not None:
        stmt = stmt.where(Question.id.in_(list(among)))
    return list(db.session.scalars(stmt.order_by(Question.id)))


def _practised() -> tuple:
    """What practice leaves out: cases' sub-questions and written (marked) questions."""
    return Question.case_id.is_(None), Question.type.not_in(MARKED_TYPES)


def current_version(question_id: int) -> QuestionVersion | None:
    return db.session.scalar(
        select(QuestionVersion)
        .join(Question, is_current_version())
        .where(Question.id == question_id)
    )


def version(version_id: int) -> QuestionVersion | None:
    return db.session.get(QuestionVersion, version_id)


def in_use_expression(question_id: int) -> ColumnElement:
    """SQL: whether the question is in use (在用), for a statement's RETURNING."""
    return (
        select(Question.id)
        .where(Question.id == question_id, Question.status == QuestionStatus.ACTIVE.value)
        .exists()
    )


@dataclass(frozen=True)
class VersionText:
    """A question version as practice checks and shows it, with its
    law references."""

    id: int
    type: str
    stem: str
    choices: tuple[str, ...]
    answer: tuple[int, ...]
    blanks: tuple[tuple[str, ...], ...]
    explanation: str
    #: LawRefDrafts, as pages show and link them
    law_refs: tuple


#: version id → VersionText. A version never changes once made (an edit makes a new one,
#: with its own citations), so its text is kept per process; a test's fresh database
#: repeats ids, so the tests empty it (tests/conftest.py).
_VERSION_TEXTS: dict[int, VersionText] = {}


#: a version's columns that a VersionText carries, in its order
_TEXT_COLUMNS = ("type", "stem", "choices", "answer", "blanks", "explanation")


class law_refs_of(FunctionElement):
    """SQL: the version's law references as a JSON array of [law, law version, article,
    suffix, paragraph, item], in the citations' order (an empty array: none)."""

    type = JSON()
    inherit_cache = True


#: law_refs_of on each database: an aggregate over the version's citations (as `cited`,
#: in the citations' order), given {refs} (the columns) and {version} (the version id)
_LAW_REFS = {
    "postgresql": "coalesce(json_agg(json_build_array({refs}) ORDER BY cited.id), '[]')",
    # SQLite aggregates in the order its subquery gives
    "sqlite": "json_group_array(json_array({refs}))",
}


@compiles(law_refs_of)
def _law_refs(element, compiler, **kw):
    [version] = list(element.clauses)
    refs = ", ".join(
        f"cited.{name}"
        for name in ("name", "label", "article", "article_suffix", "paragraph", "item")
    )
    return (
        f"(SELECT {_LAW_REFS[compiler.dialect.name].format(refs=refs)} FROM (SELECT "
        "citations.id, laws.name, law_versions.label, citations.article, "
        "citations.article_suffix, citations.paragraph, citations.item FROM citations "
        "JOIN law_versions ON law_versions.id = citations.law_version_id "
        "JOIN laws ON laws.id = law_versions.law_id "
        f"WHERE citations.version_id = {compiler.process(version, **kw)} "
        "ORDER BY citations.id) AS cited)"
    )


def version_text_columns(version_id: ColumnElement) -> list[ColumnElement]:
    """SQL: the text and law references of the version the expression gives, as columns
    (for a statement that finds the version id to bring what it says along); read them
    with read_version_text."""
    versions = QuestionVersion.__table__
    return [
        *(
            select(versions.c[name]).where(versions.c.id == version_id).scalar_subquery()
            for name in _TEXT_COLUMNS
        ),
        law_refs_of(version_id),
    ]


def read_version_text(version_id: int, columns) -> VersionText:
    """The VersionText of version_text_columns' values, kept for the process (the one
    already kept when there is one: a version never changes)."""
    found = _VERSION_TEXTS.get(version_id)
    if found is not None:
        return found
    type_, stem, choices, answer, blanks, explanation, refs = columns
    if len(_VERSION_TEXTS) >= 50_000:  # a bank's worth; then start again
        _VERSION_TEXTS.clear()
    found = _VERSION_TEXTS[version_id] = VersionText(
        id=version_id,
        type=type_,
        stem=stem,
        choices=tuple(choices),
        answer=tuple(answer),
        blanks=tuple(tuple(blank) for blank in blanks),
        explanation=explanation,
        law_refs=tuple(LawRefDraft(*ref) for ref in refs),
    )
    return found


@functools.cache
def _version_texts_query() -> Select:
    versions = QuestionVersion.__table__
    return select(
        versions.c.id,
        *(versions.c[name] for name in _TEXT_COLUMNS),
        law_refs_of(versions.c.id),
    ).where(versions.c.id.in_(bindparam("ids", expanding=True)))


def version_texts(version_ids: Iterable[int]) -> dict[int, VersionText]:
    """The versions' texts and law references: one query, on the tables (no ORM objects
    for what is read once and kept), for those this process has not read before."""
    wanted = set(version_ids)
    found = {id_: _VERSION_TEXTS[id_] for id_ in wanted if id_ in _VERSION_TEXTS}
    missing = wanted - found.keys()
    if missing:
        rows = db.session.connection().execute(_version_texts_query(), {"ids": sorted(missing)})
        for version_id, *columns in rows:
            found[version_id] = read_version_text(version_id, columns)
    return found


def version_text(version_id: int) -> VersionText | None:
    return version_texts((version_id,)).get(version_id)


#: the chapter of questions whose cited article is not in the library's text
NO_TEXT_CHAPTER = "（条文未导入，按条号排列）"


@dataclass(frozen=True)
class SequenceEntry:
    question_id: int
    #: the chapter (章, with the 编 above it) of the article the question cites
    chapter: str
    #: its place in the law: chapter position, article, 之几, question id
    rank: tuple[int, int, int, int]


def law_sequence(law_id: int) -> list[SequenceEntry]:
    """The questions in use citing the law, in the law's order: by the chapter of the
    first article they cite (from the library's text, where the cited version has one),
    then article number, then question. Questions citing an article the library has no
    text for come last, by article number."""
    rows = db.session.execute(
        select(Question.id, Citation.article, Citation.article_suffix, LawArticle.part_id)
        .join(QuestionVersion, is_current_version())
        .join(Citation, Citation.version_id == QuestionVersion.id)
        .join(LawVersion, LawVersion.id == Citation.law_version_id)
        .outerjoin(
            LawArticle,
            and_(
                LawArticle.law_version_id == Citation.law_version_id,
                LawArticle.number == Citation.article,
                LawArticle.suffix == Citation.article_suffix,
                LawArticle.series == "",
            ),
        )
        .where(LawVersion.law_id == law_id, Question.status == QuestionStatus.ACTIVE.value)
        .where(*_practised())
    ).all()
    parts = {
        part.id: part
        for part in db.session.scalars(
            select(LawPart).where(
                LawPart.law_version_id.in_(select(LawVersion.id).where(LawVersion.law_id == law_id))
            )
        )
    }
    first: dict[int, tuple] = {}
    for question_id, article, suffix, part_id in rows:
        position, chapter = _chapter(parts, part_id)
        place = (position, article, suffix, question_id)
        if question_id not in first or place < first[question_id][0]:
            first[question_id] = (place, chapter)
    entries = [SequenceEntry(qid, chapter, place) for qid, (place, chapter) in first.items()]
    return sorted(entries, key=lambda entry: entry.rank)


def _chapter(parts: dict[int, LawPart], part_id: int | None) -> tuple[int, str]:
    """(position, heading path) of the 章 holding the part (the part itself when it is
    no 节 under a 章); the 编 above it named too, as 民法典 numbers chapters per book."""
    part = parts.get(part_id) if part_id is not None else None
    if part is None:
        return 10**9, NO_TEXT_CHAPTER
    while part.kind == "节" and part.parent_id in parts:
        part = parts[part.parent_id]
    path, above = [part.heading], parts.get(part.parent_id) if part.parent_id else None
    while above is not None:
        path.insert(0, above.heading)
        above = parts.get(above.parent_id) if above.parent_id else None
    return part.position, " · ".join(path)


def question_laws() -> Subquery:
    """(question_id, law_id) of every question in use that practice draws and that cites
    a law (the law it cites first), as a subquery to join."""
    return (
        select(Question.id.label("question_id"), Question.law_id)
        .where(Question.status == QuestionStatus.ACTIVE.value, *_practised())
        .where(Question.law_id.is_not(None))
        .subquery()
    )


def active_counts_by_law() -> dict[int, int]:
    """How many questions in use there are per law (the law each cites first)."""
    rows = db.session.execute(
        select(Question.law_id, func.count())
        .where(Question.status == QuestionStatus.ACTIVE.value)
        .where(*_practised(), Question.law_id.is_not(None))
        .group_by(Question.law_id)
    )
    return dict(rows.all())


def question_of_version(version_id: ColumnElement) -> ScalarSelect:
    """The question id of the version the SQL expression gives, as a scalar subquery."""
    return (
        select(QuestionVersion.question_id)
        .where(QuestionVersion.id == version_id)
        .scalar_subquery()
    )


def bank_health() -> dict[str, int]:
    """How many questions are in use (在用), waiting for review (待复核) and in use without
    any law reference (no citation), for the trainers' home page: one grouped count."""
    counts = {"active": 0, "needs_review": 0, "uncited": 0}
    rows = db.session.execute(
        select(Question.status, Question.has_citation, func.count()).group_by(
            Question.status, Question.has_citation
        )
    )
    for status, cited, count in rows:
        if status == QuestionStatus.ACTIVE.value:
            counts["active"] += count
            if not cited:
                counts["uncited"] += count
        elif status == QuestionStatus.NEEDS_REVIEW.value:
            counts["needs_review"] += count
    return counts
