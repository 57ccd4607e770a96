"""Service-layer fixes found while building the trainers' screens."""

from datetime import timedelta

from core import clock, uploads
from core.audit import SYSTEM
from core.extensions import db
from question_bank import bank
from question_bank.models import Question, QuestionStatus
from tests.factories import penalty_draft


def tagged_question() -> Question:
    bank.register_law("行政处罚法", "2021年修订")
    question = bank.add_question(SYSTEM, penalty_draft())
    bank.bulk_tag(SYSTEM, [question], "执法证考试")
    db.session.commit()
    return question


def topic_names(question: Question) -> list[str]:
    return sorted(topic.name for topic in question.topics)


def test_bulk_tagged_topics_count_as_the_questions_current_content(app):
    question = tagged_question()
    assert bank.current_draft(question).topics == ["追责时效", "执法证考试"]
    assert "执法证考试" in question.search_text
    # The edit form shows the live topics; saving it unchanged makes no version.
    assert bank.edit_question(SYSTEM, question, bank.current_draft(question)) is None
    assert question.current_number == 1


def test_an_edit_keeps_bulk_tagged_topics(app):
    question = tagged_question()
    draft = bank.current_draft(question)
    draft.explanation = "新增解析。"
    bank.edit_question(SYSTEM, question, draft)
    db.session.commit()
    assert question.current_number == 2
    assert topic_names(question) == ["执法证考试", "追责时效"]


def test_confirming_a_review_keeps_bulk_tagged_topics(app):
    question = tagged_question()
    law = question.current_version.citations[0].law_version.law
    bank.record_law_revision(SYSTEM, law, "2030年修订", None)
    db.session.commit()
    db.session.refresh(question)
    bank.confirm_review(SYSTEM, question)
    db.session.commit()
    assert topic_names(question) == ["执法证考试", "追责时效"]


def test_cli_export_carries_bulk_tagged_topics(runner, tmp_path):
    tagged_question()
    path = tmp_path / "bank.csv"
    assert runner.invoke(args=["bank", "export", str(path), "--format", "csv"]).exit_code == 0
    assert "追责时效|执法证考试" in path.read_text(encoding="utf-8-sig")


def test_restoring_a_question_whose_law_changed_while_retired_says_why(app):
    bank.register_law("行政处罚法", "2021年修订")
    question = bank.add_question(SYSTEM, penalty_draft())
    bank.retire(SYSTEM, question)
    bank.record_law_revision(
        SYSTEM, question.current_version.citations[0].law_version.law, "2030年修订", None
    )
    db.session.commit()
    db.session.refresh(question)
    assert question.status == QuestionStatus.RETIRED, "retired questions are not flagged"
    bank.restore(SYSTEM, question)
    assert question.status == QuestionStatus.NEEDS_REVIEW
    assert question.review_note == "引用的法律版本不是现行版本"


def test_restoring_clears_an_old_review_note(app):
    bank.register_law("行政处罚法", "2021年修订")
    question = bank.add_question(SYSTEM, penalty_draft())
    question.review_note = "旧的说明"
    bank.retire(SYSTEM, question)
    bank.restore(SYSTEM, question)
    assert (question.status, question.review_note) == (QuestionStatus.ACTIVE, "")


def test_an_upload_older_than_a_day_cannot_be_confirmed(app, monkeypatch):
    token = uploads.stash(1, "题库.csv", "csv", b"data")
    db.session.commit()
    assert uploads.take(1, token, ["csv"]) is not None
    assert uploads.take(2, token, ["csv"]) is None
    assert uploads.take(1, token, ["users"]) is None
    later = clock.now() + timedelta(days=1, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert uploads.take(1, token, ["csv"]) is None


def test_a_discarded_upload_is_gone(app):
    token = uploads.stash(1, "题库.csv", "csv", b"data")
    uploads.discard(uploads.take(1, token, ["csv"]))
    db.session.commit()
    assert uploads.take(1, token, ["csv"]) is None
