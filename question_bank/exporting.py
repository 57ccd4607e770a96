"""Export: the questions a search finds, with their keys, as a file of one of the formats.
A case's sub-question goes out as its whole case (material, table, every sub-question)."""

from collections.abc import Iterable
from dataclasses import asdict

from core.audit import Actor, record
from core.extensions import db
from question_bank import cases, formats
from question_bank.bank import current_draft
from question_bank.drafts import CaseDraft, QuestionDraft
from question_bank.models import Case, Question
from question_bank.search import QuestionFilters, question_query


def entries_of(questions: Iterable[Question]) -> list[QuestionDraft | CaseDraft]:
    """The questions' current drafts in order; a case's sub-question brings its whole case
    (current version) in its place, once."""
    entries, seen = [], set()
    for question in questions:
        if question.case_id is None:
            entries.append(current_draft(question))
        elif question.case_id not in seen:
            seen.add(question.case_id)
            entries.append(cases.draft_of(db.session.get(Case, question.case_id)))
    return entries


def export_questions(actor: Actor, filters: QuestionFilters, fmt: str) -> tuple[bytes, list[str]]:
    """The file, and what the format could not hold; audited, because the keys leave."""
    stmt = question_query(filters).order_by(None).order_by(Question.id)
    entries = entries_of(db.session.scalars(stmt))
    data, warnings, exported = formats.export_with_warnings(entries, fmt)
    detail = {"format": fmt, "exported": exported, "skipped": len(warnings)}
    if case_count := sum(isinstance(entry, CaseDraft) for entry in entries):
        detail["cases"] = case_count
    if chosen := {name: value for name, value in asdict(filters).items() if value}:
        detail["filters"] = chosen
    record(
        actor,
        "question.export",
        object_type="question",
        summary=f"导出 {exported} 道试题（含答案与解析）",
        detail=detail,
    )
    return data, warnings
