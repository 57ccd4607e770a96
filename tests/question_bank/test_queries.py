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
