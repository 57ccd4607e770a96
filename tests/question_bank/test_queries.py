"""The queries other packages ask of the bank: what a paper may draw (questions in use,
at their current version) and a question's older versions."""

from dataclasses import replace

from core.audit import SYSTEM
from core.extensions import db
from question_bank import bank, queries
from tests.factories import add_question


def _single(stem: str, difficulty: int | None = None):
    question = add_question("single", stem, ["甲", "乙", "丙"], [0])
    if difficulty is not None:
        bank.edit_question(
            SYSTEM, question, replace(bank.current_draft(question), difficulty=difficulty)
        )
        db.session.commit()
    return question


def test_eligible_questions_are_in_use_at_their_current_version(app):
    kept, edited, retired = _single("题一"), _single("题二"), _single("题三")
    add_question("multiple", "多选题", ["甲", "乙", "丙"], [0, 1])
    first = edited.current_version.id
    bank.edit_question(SYSTEM, edited, replace(bank.current_draft(edited), stem="题二（改）"))
    bank.retire(SYSTEM, retired)
    db.session.commit()

    found = queries.eligible_questions("single")
    assert found == [
        (kept.id, kept.current_version.id, 3),
        (edited.id, edited.current_version.id, 3),
    ]
    assert edited.current_version.id != first
    assert queries.outdated_versions([first, edited.current_version.id]) == [
        db.session.get(type(edited.current_version), first)
    ]
    assert [v.id for v in queries.versions_of(edited.id, among=[first], excluding=None)] == [first]


def test_eligible_questions_by_difficulty(app):
    easy, hard = _single("易", difficulty=1), _single("难", difficulty=5)
    _single("未设难度")
    assert [q for q, _, _ in queries.eligible_questions("single", difficulty_max=2)] == [easy.id]
    assert [q for q, _, _ in queries.eligible_questions("single", difficulty_min=4)] == [hard.id]


def test_version_texts_are_read_from_the_tables_with_their_law_references_in_order(
    law, count_queries
):
    """One query for the versions a process has not read, on the tables (no ORM object is
    made for what is kept per process), each version with its citations in order and one
    without any with none."""
    from sqlalchemy import event

    from question_bank.drafts import LawRefDraft, QuestionDraft
    from question_bank.models import Citation, QuestionVersion

    refs = [LawRefDraft("行政处罚法", None, 64, 0, 1, 2), LawRefDraft("宪法", None, 10, 1)]
    cited = bank.add_question(
        SYSTEM, QuestionDraft("single", "有引用", ["甲", "乙"], [1], [], "解析", law_refs=refs)
    )
    bare = bank.add_question(
        SYSTEM, QuestionDraft("true_false", "无引用", ["正确", "错误"], [0], [])
    )
    db.session.commit()
    ids = [cited.current_version.id, bare.current_version.id]
    db.session.expunge_all()
    loaded = []

    def load(target, context):
        loaded.append(target)

    for model in (QuestionVersion, Citation):
        event.listen(model, "load", load)
    try:
        with count_queries() as statements:
            texts = queries.version_texts(ids)
            again = queries.version_text(ids[0])
    finally:
        for model in (QuestionVersion, Citation):
            event.remove(model, "load", load)
    assert len(statements) == 1  # the second read is the process's copy
    assert loaded == []  # no ORM object made
    first, second = texts[ids[0]], texts[ids[1]]
    assert again is first
    assert (first.type, first.stem, first.choices, first.answer) == (
        "single",
        "有引用",
        ("甲", "乙"),
        (1,),
    )
    assert first.explanation == "解析" and first.blanks == ()
    assert [(r.law, r.article, r.suffix, r.paragraph, r.item) for r in first.law_refs] == [
        ("行政处罚法", 64, 0, 1, 2),
        ("宪法", 10, 1, None, None),
    ]
    assert first.law_refs[0].version and second.law_refs == () and second.type == "true_false"
