"""Export: the questions a search finds, with their keys, as a file of one of the formats."""

from dataclasses import asdict

from core.audit import Actor, record
from core.extensions import db
from question_bank import formats
from question_bank.bank import current_draft
from question_bank.models import Question
from question_bank.search import QuestionFilters, question_query


def export_questions(actor: Actor, filters: QuestionFilters, fmt: str) -> tuple[bytes, list[str]]:
    """The file, and what the format could not hold; audited, because the keys leave."""
    stmt = question_query(filters).order_by(None).order_by(Question.id)
    drafts = [current_draft(question) for question in db.session.scalars(stmt)]
    data, warnings = formats.export_with_warnings(drafts, fmt)
    exported = len(drafts) - len(warnings)
    detail = {"format": fmt, "exported": exported, "skipped": len(warnings)}
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
