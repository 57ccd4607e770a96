"""Cases on papers: drawn as a unit (never split, never twice), sub-questions after their
material in order or shuffled among themselves, scored per sub-question, the material on
the exam page and in the review."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from core import clock
from core.audit import SYSTEM
from core.extensions import db
from question_bank import bank, cases
from question_bank.models import Question
from training.exams import assembly, attempts, candidate, regrade, setup
from training.exams.models import CASE_SECTION, ExamStatus
from training.exams.setup import SectionData, SetupError

from ..factories import (
    CASE_MATERIAL,
    GRACE,
    add_batch,
    add_case,
    add_questions,
    key_of,
    make_exam,
    take,
)


def case_runs(items) -> list[list]:
    """The paper's items grouped into runs of one case version (None: a loose question)."""
    runs = []
    for item in items:
        if runs and item.case_version_id and runs[-1][0].case_version_id == item.case_version_id:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


@pytest.fixture
def bank_with_cases(law):
    add_questions("single", 4)
    return [add_case(parts=3), add_case(parts=2), add_case(parts=4)]


def case_exam(learner, count=2, points=10, **options):
    return make_exam(
        sections=[("single", 2, 2), SectionData(CASE_SECTION, count, Decimal(points))],
        roster=[learner],
        random_per_candidate=True,
        **options,
    )


def test_a_case_is_never_split_nor_drawn_twice(bank_with_cases, learner):
    exam = case_exam(learner, count=3, shuffle_questions=True)
    versions = {case.current_version.id: case for case in bank_with_cases}
    for seed in range(12):
        paper = assembly.draw(exam.blueprint, attempts.exam_pools(exam), random.Random(seed))
        case_items = [item for item in paper if item.case_version_id]
        runs = case_runs(case_items)
        # Each case once, its sub-questions together and in the case's order.
        assert sorted(run[0].case_version_id for run in runs) == sorted(versions)
        for run in case_runs(paper):
            if run[0].case_version_id:
                case = versions[run[0].case_version_id]
                expected = [
                    db.session.get(Question, question_id).current_version.id
                    for question_id, _ in case.current_version.parts
                ]
                assert [item.version_id for item in run] == expected
        assert len(paper) == 2 + 3 + 2 + 4


def test_shuffling_within_a_case_keeps_it_together(bank_with_cases, learner):
    exam = case_exam(learner, count=3, shuffle_within_case=True)
    orders = set()
    for seed in range(20):
        paper = assembly.draw(exam.blueprint, attempts.exam_pools(exam), random.Random(seed))
        runs = [run for run in case_runs(paper) if run[0].case_version_id]
        assert len(runs) == 3  # never split
        longest = max(runs, key=len)
        orders.add(tuple(item.version_id for item in longest))
    assert len(orders) > 1  # the sub-questions did move


def test_case_points_are_scaled_to_the_section_and_sum_exactly(app):
    parts = ((1, 4, "1.00", "single"), (2, 4, "1.00", "single"), (3, 2, "1.00", "true_false"))
    scaled = assembly.scaled_parts(parts, Decimal(10))
    assert [Decimal(points) for _, _, points, _ in scaled] == [
        Decimal("3.34"),
        Decimal("3.33"),
        Decimal("3.33"),
    ]
    weighted = assembly.scaled_parts(((1, 4, "2", "single"), (2, 4, "3", "single")), Decimal(10))
    assert [points for _, _, points, _ in weighted] == ["4.00", "6.00"]


def test_too_few_cases_names_the_shortfall(bank_with_cases):
    with pytest.raises(SetupError, match="需要 4 个，题库中只有 3 个符合条件的在用案例"):
        setup.save_blueprint(
            SYSTEM,
            setup.BlueprintData("案例", [SectionData(CASE_SECTION, 4, Decimal(10))]),
        )
    with pytest.raises(SetupError, match="不按难度"):
        setup.save_blueprint(
            SYSTEM,
            setup.BlueprintData(
                "案例", [SectionData(CASE_SECTION, 1, Decimal(10), difficulty_min=2)]
            ),
        )


def test_case_sections_filter_by_law(law, learner):
    add_case(parts=2, law_name="宪法")
    wanted = add_case(parts=2, law_name="行政处罚法")
    section = SectionData(CASE_SECTION, 1, Decimal(10), law_id=law.id + 1)
    blueprint = setup.save_blueprint(SYSTEM, setup.BlueprintData("按法律", [section]))
    (pool,) = assembly.section_pools(blueprint)
    assert [entry[0] for entry in pool] == [wanted.id]


def test_scored_per_sub_question_with_the_material_shown(bank_with_cases, learner, frozen_clock):
    exam = case_exam(learner, review_policy="answers_after_close")
    attempt = attempts.start_attempt(learner, exam, clock.now(), random.Random(3))
    db.session.flush()
    case_items = [item for item in attempt.items if item.case_version_id]
    wrong = case_items[0]
    for seq, item in enumerate(attempt.items, start=1):
        version = item.question_version
        answer = key_of(version)
        if item is wrong:
            answer = [index for index in range(len(version.choices)) if index not in answer][:1]
        assert attempts.save_answer(
            learner.id, attempt.id, item.id, answer, seq, clock.now(), GRACE
        ).saved
    payload = candidate.paper_payload(attempt, clock.now())
    materials = payload["cases"]
    assert len(materials) == 2
    assert all(entry["material"].startswith(CASE_MATERIAL) for entry in materials.values())
    assert {item["case"] for item in payload["items"]} - {None} == {int(k) for k in materials}
    attempts.submit(attempt, clock.now(), "candidate")
    db.session.commit()
    assert wrong.earned == 0
    assert all(item.earned == item.points for item in attempt.items if item is not wrong)
    assert attempt.max_score == Decimal(2 * 2 + 2 * 10)
    assert attempt.score == attempt.max_score - wrong.points
    # After the close, the review shows each material once, above its first sub-question.
    frozen_clock.now = exam.closes_at + timedelta(minutes=1)
    review = candidate.review(attempt, clock.now(), GRACE)
    shown = [entry.material for entry in review.items if entry.material is not None]
    assert len(shown) == 2 and all(m.material.startswith(CASE_MATERIAL) for m in shown)


def test_fixed_paper_exam_freezes_its_cases(bank_with_cases, learner, make_user):
    exam = make_exam(
        sections=[SectionData(CASE_SECTION, 2, Decimal(10))],
        roster=[learner],
        shuffle_questions=True,
    )
    assert exam.status == ExamStatus.PUBLISHED.value
    (pool,) = exam.pools
    assert len(pool) == 2  # exactly the two cases drawn
    other = make_user(name="李四")
    add_batch(exam, [other])
    first = take(learner, exam)
    second = take(other, exam, seed=5)
    assert {i.case_version_id for i in first.items} == {i.case_version_id for i in second.items}
    assert first.score == first.max_score == Decimal(20)


def test_exam_page_outline_lists_cases(bank_with_cases, learner, client, auth):
    exam = case_exam(learner)
    auth.login(learner)
    page = client.get(f"/exams/{exam.id}")
    assert "案例分析" in page.text


def test_correcting_a_sub_question_key_regrades_and_moves_the_pool(bank_with_cases, learner):
    exam = case_exam(learner, count=3)
    attempt = take(learner, exam)
    case = bank_with_cases[0]
    question = db.session.get(Question, case.current_version.parts[0][0])
    old_version = question.current_version.id
    draft = cases.draft_of(case)
    draft.questions[0].answer = [3]  # the key was wrong: 丁, not 乙
    cases.edit_case(SYSTEM, case, draft, "更正答案")
    db.session.commit()
    assert [c.question.id for c in regrade.regrade_candidates(exam)] == [question.id]
    plan = regrade.apply_regrade(SYSTEM, exam, question.id)
    db.session.commit()
    assert plan.rows[0].new_score == attempt.max_score - plan.rows[0].old_points
    (case_pool,) = [pool for pool in exam.pools if isinstance(pool[0][2], list)]
    ids = {part[0] for entry in case_pool for part in entry[2]}
    assert question.current_version.id in ids and old_version not in ids


def test_a_paper_frozen_before_a_sub_question_edit_keeps_its_case_version(law, learner, make_user):
    """A sub-question edited on its own (the question form) makes a new case version:
    an exam published before keeps drawing the case as it was, one published after
    draws the new version with the sub-question's new version."""
    case = add_case(parts=2)
    old_case = case.current_version
    question, _ = cases.parts_of(old_case)[0]
    old_question = question.current_version
    before = make_exam(sections=[SectionData(CASE_SECTION, 1, Decimal(100))], roster=[learner])
    draft = bank.current_draft(question)
    draft.stem = "改写后的小题：依照材料，下列说法正确的是"
    new_question = cases.edit_part(SYSTEM, question, draft, "改写题干")
    db.session.commit()
    assert case.current_number == 2 and case.current_version.change_note == "改写题干"

    frozen = take(learner, before)
    assert {item.case_version_id for item in frozen.items} == {old_case.id}
    assert old_question.id in {item.question_version_id for item in frozen.items}
    other = make_user(name="后来者")
    after = make_exam(sections=[SectionData(CASE_SECTION, 1, Decimal(100))], roster=[other])
    fresh = take(other, after)
    assert {item.case_version_id for item in fresh.items} == {case.current_version.id}
    assert new_question.id in {item.question_version_id for item in fresh.items}
