from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.audit import Actor, AuditEntry
from core.extensions import db
from question_bank import bank
from question_bank.drafts import LawRefDraft
from question_bank.models import Question, QuestionStatus, QuestionVersion
from tests.factories import penalty_draft

TRAINER = Actor(7, "trainer", "127.0.0.1")


@pytest.fixture
def laws(app):
    penalty = bank.register_law("行政处罚法", "2021年修订", "中华人民共和国行政处罚法")
    constitution = bank.register_law("宪法", "2018年修正")
    db.session.commit()
    return penalty, constitution


def test_add_question_stores_version_one_with_citations_and_topics(laws):
    question = bank.add_question(TRAINER, penalty_draft())
    db.session.commit()
    version = question.current_version
    assert (question.status, question.current_number, version.number) == ("active", 1, 1)
    assert [(c.law_version.citation, c.article) for c in version.citations] == [
        ("行政处罚法（2021年修订）", 36)
    ]
    assert [t.name for t in question.topics] == ["追责时效"]
    assert question.has_citation and "二年" in question.search_text
    assert db.session.scalar(select(AuditEntry.action)) == "question.create"


def test_invalid_drafts_are_refused_with_field_messages(laws):
    with pytest.raises(bank.BankError) as refused:
        bank.add_question(TRAINER, penalty_draft(answer=[5], stem=" "))
    assert refused.value.fields["stem"] == "题干不能为空"
    assert "answer" in refused.value.fields
    assert db.session.scalar(select(func.count(Question.id))) == 0


def test_citing_an_unregistered_law_or_version_is_refused_on_the_form(laws):
    with pytest.raises(bank.BankError) as unknown_law:
        bank.add_question(TRAINER, penalty_draft(law_refs=[LawRefDraft("治安管理处罚法", None, 1)]))
    assert "法律库中没有「治安管理处罚法」" in unknown_law.value.fields["law_refs"]
    with pytest.raises(bank.BankError) as unknown_version:
        bank.add_question(
            TRAINER, penalty_draft(law_refs=[LawRefDraft("行政处罚法", "2017年修正", 36)])
        )
    assert "没有登记版本「2017年修正」" in unknown_version.value.fields["law_refs"]


def test_a_citation_without_version_means_the_current_one(laws):
    question = bank.add_question(
        TRAINER, penalty_draft(law_refs=[LawRefDraft("行政处罚法", None, 36)])
    )
    assert question.current_version.citations[0].law_version.label == "2021年修订"


def test_questions_without_citation_are_marked_not_excluded(laws):
    question = bank.add_question(TRAINER, penalty_draft(law_refs=[]))
    assert question.status == "active" and not question.has_citation


def test_edit_makes_a_new_version_and_keeps_the_old_one_untouched(laws):
    question = bank.add_question(TRAINER, penalty_draft())
    db.session.commit()
    first = question.current_version
    version = bank.edit_question(
        TRAINER, question, penalty_draft(choices=["一年", "两年", "三年", "五年"]), "措辞"
    )
    db.session.commit()
    assert version.number == 2 and question.current_number == 2
    db.session.refresh(first)
    assert first.choices == ["一年", "二年", "三年", "五年"]
    assert question.current_version.choices[1] == "两年"
    assert db.session.scalar(select(func.count(QuestionVersion.id))) == 2
    edit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "question.edit"))
    assert edit.detail_dict == {"version": 2, "changed": ["选项"]}


def test_edit_without_change_makes_no_version(laws):
    question = bank.add_question(TRAINER, penalty_draft())
    assert bank.edit_question(TRAINER, question, penalty_draft()) is None
    assert question.current_number == 1


def test_changed_fields_names_what_differs():
    before = penalty_draft()
    after = penalty_draft(answer=[2], explanation="新解析", topics=["时效"])
    assert bank.changed_fields(before, after) == ["答案", "解析", "知识点"]


def test_law_revision_flags_citing_questions_until_confirmed(laws):
    penalty, _ = laws
    citing = bank.add_question(TRAINER, penalty_draft())
    other = bank.add_question(
        TRAINER,
        penalty_draft(
            stem="宪法是国家的根本法。",
            type="true_false",
            choices=["正确", "错误"],
            answer=[0],
            law_refs=[LawRefDraft("宪法", None, 5)],
        ),
    )
    retired = bank.add_question(TRAINER, penalty_draft(stem="已停用的处罚题"))
    bank.retire(TRAINER, retired)
    db.session.commit()

    flagged = bank.record_law_revision(TRAINER, penalty, "2030年修订", date(2030, 1, 1))
    db.session.commit()
    assert flagged == 1
    for question in (citing, other, retired):
        db.session.refresh(question)
    assert citing.status == "needs_review" and "2030年修订" in citing.review_note
    assert other.status == "active" and retired.status == "retired"
    assert penalty.current_version.label == "2030年修订"

    version = bank.confirm_review(TRAINER, citing)
    db.session.commit()
    assert citing.status == "active" and version.number == 2
    assert version.citations[0].law_version.label == "2030年修订"
    assert citing.versions[0].citations[0].law_version.label == "2021年修订"
    with pytest.raises(bank.BankError):
        bank.confirm_review(TRAINER, citing)


def test_editing_a_flagged_question_to_cite_the_new_version_clears_the_flag(laws):
    penalty, _ = laws
    question = bank.add_question(TRAINER, penalty_draft())
    bank.record_law_revision(TRAINER, penalty, "2030年修订", None)
    db.session.refresh(question)
    assert question.status == "needs_review"
    bank.edit_question(
        TRAINER, question, penalty_draft(law_refs=[LawRefDraft("行政处罚法", "2030年修订", 36)])
    )
    assert question.status == "active" and question.review_note == ""


def test_revision_label_must_be_new(laws):
    penalty, _ = laws
    with pytest.raises(bank.BankError, match="已有版本"):
        bank.record_law_revision(TRAINER, penalty, "2021年修订", None)


def test_retire_and_restore_never_delete(laws):
    question = bank.add_question(TRAINER, penalty_draft())
    bank.retire(TRAINER, question)
    assert question.status == "retired"
    with pytest.raises(bank.BankError):
        bank.retire(TRAINER, question)
    bank.restore(TRAINER, question)
    assert question.status == "active"
    assert db.session.scalar(select(func.count(Question.id))) == 1


def test_bulk_tag(laws):
    questions = [bank.add_question(TRAINER, penalty_draft(stem=f"题{n}")) for n in range(3)]
    bank.bulk_tag(TRAINER, questions[:1], "执法证考试")
    assert bank.bulk_tag(TRAINER, questions, "执法证考试") == 2
    assert all("执法证考试" in [t.name for t in q.topics] for q in questions)
    with pytest.raises(bank.BankError):
        bank.bulk_tag(TRAINER, questions, " ")


def test_status_values_are_enforced_by_the_database(laws):
    question = bank.add_question(TRAINER, penalty_draft())
    db.session.commit()
    question.status = "deleted"
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_search_key_normalises_width_case_and_space():
    assert bank.search_key("ＡＢＣ　行政  处罚") == "abc 行政 处罚"
    assert QuestionStatus("needs_review").label == "待复核"
