"""exam_summaries stay right, in the transaction of each change: first attempts, a late
auto-submit, a retake, a regrade, a reopened attempt, rosters; they equal a rebuild from
the attempts; and they roll up over a three-level unit tree."""

from datetime import timedelta
from decimal import Decimal

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from core import clock
from core.audit import SYSTEM, Actor
from core.extensions import db
from core.outages import Outage
from core.roles import Role
from tests.factories import (
    GRACE,
    add_batch,
    add_questions,
    add_written,
    correct_key_and_regrade,
    make_exam,
    take,
)
from training.exams import attempts, marking, sittings
from training.exams import outages as exam_outages
from training.reports import figures, summaries
from training.reports.models import COUNTERS, ExamSummary

RIGHT = {"true_false": [0]}
WRONG = {"true_false": [1]}


def table() -> dict:
    """The summary table as {(exam, batch, unit, leader): {counter: value}}, zeros left out."""
    db.session.expire_all()
    found = {}
    for row in db.session.scalars(select(ExamSummary)):
        values = {name: getattr(row, name) for name in COUNTERS if getattr(row, name)}
        if values:
            found[(row.exam_id, row.batch_id, row.unit_id, row.is_leader)] = values
    return found


def assert_same_as_rebuilt():
    kept = table()
    summaries.rebuild()
    db.session.flush()
    assert table() == kept


@pytest.fixture
def tree(make_unit, root_unit):
    """区 > 局 > 科, a three-level tree."""
    bureau = make_unit("司法局", parent=root_unit)
    section = make_unit("普法科", parent=bureau)
    return root_unit, bureau, section


@pytest.fixture
def ten(law):
    """Ten 判断 of 10 points each; 60 passes, 90 is 优秀."""
    add_questions("true_false", 10)


def ten_exam(**fields):
    fields = {"pass_mark": Decimal(60), "grade_bands": [[90, "优秀"], [60, "合格"]]} | fields
    return make_exam(sections=[("true_false", 10, 10)], **fields)


def test_first_attempts_roll_up_over_three_levels(tree, ten, make_user):
    district, bureau, section = tree
    people = {
        "区甲": make_user(unit=district, is_leader=True),
        "局乙": make_user(unit=bureau),
        "科丙": make_user(unit=section),
        "科丁": make_user(unit=section, is_leader=True),
        "科戊": make_user(unit=section),  # on the roster, never sits
    }
    exam = ten_exam(roster=list(people.values()))
    take(people["区甲"], exam, RIGHT)
    take(people["局乙"], exam, WRONG)
    take(people["科丙"], exam, RIGHT)
    take(people["科丁"], exam, WRONG)

    rows = {row.unit.id: row for row in figures.by_unit([ExamSummary.exam_id == exam.id])}
    own = {unit: (r.own.assigned, r.own.took, r.own.passed) for unit, r in rows.items()}
    subtree = {
        unit: (r.subtree.assigned, r.subtree.took, r.subtree.passed) for unit, r in rows.items()
    }
    assert own == {district.id: (1, 1, 1), bureau.id: (1, 1, 0), section.id: (3, 2, 1)}
    assert subtree == {district.id: (5, 4, 2), bureau.id: (4, 3, 1), section.id: (3, 2, 1)}
    assert [row.depth for row in rows.values()] == [0, 1, 2]
    top = rows[district.id].subtree
    assert (top.excellent, top.buckets[9], top.buckets[0], top.mean_percent) == (2, 2, 2, 50.0)
    assert top.pass_rate == 0.5 and top.participation == 0.8
    # 领导干部 only: 区甲 passed, 科丁 did not.
    leaders = figures.by_unit([ExamSummary.exam_id == exam.id, ExamSummary.is_leader.is_(True)])
    assert (leaders[0].subtree.took, leaders[0].subtree.passed) == (2, 1)
    # A unit admin of the bureau sees the bureau and the section, the bureau as the top.
    scoped = figures.by_unit([ExamSummary.exam_id == exam.id], scope={bureau.id, section.id})
    assert [(row.unit.id, row.depth, row.subtree.took) for row in scoped] == [
        (bureau.id, 0, 3),
        (section.id, 1, 2),
    ]
    assert_same_as_rebuilt()


def test_a_first_submit_is_one_statement(ten, make_user, count_queries):
    person = make_user()
    exam = ten_exam(roster=[person])
    attempt = take(person, exam, RIGHT, submit=False)
    db.session.refresh(attempt)
    with count_queries() as statements:
        summaries.attempt_submitted(attempt)
    assert len(statements) == 1 and "exam_summaries" in statements[0]


def test_a_late_auto_submit_counts(ten, make_user, frozen_clock):
    person = make_user()
    exam = ten_exam(roster=[person])
    attempt = take(person, exam, RIGHT, submit=False)
    assert table() == {(exam.id, exam.batches[0].id, person.unit_id, False): {"assigned": 1}}
    frozen_clock.now = attempt.deadline_at + GRACE + timedelta(seconds=1)
    assert attempts.finalize_expired(frozen_clock.now, GRACE) == 1
    db.session.commit()
    (values,) = table().values()
    assert values == {
        "assigned": 1,
        "took": 1,
        "passed": 1,
        "excellent": 1,
        "percent_sum": Decimal(100),
        "attempts": 1,
        "b9": 1,
    }
    assert_same_as_rebuilt()


def test_a_retake_moves_the_person_not_adds_one(ten, make_user):
    person = make_user()
    exam = ten_exam(roster=[person], attempts_allowed=2)
    retake = add_batch(exam, [person], name="补考")
    take(person, exam, WRONG)
    take(person, exam, RIGHT)
    rows = table()
    assert rows[(exam.id, exam.batches[0].id, person.unit_id, False)] == {"assigned": 1}
    assert rows[(exam.id, retake.id, person.unit_id, False)] == {
        "took": 1,
        "passed": 1,
        "excellent": 1,
        "percent_sum": Decimal(100),
        "attempts": 2,
        "b9": 1,
    }
    assert_same_as_rebuilt()


def test_a_regrade_moves_scores_and_passes(ten, make_user):
    people = [make_user() for _ in range(3)]
    exam = ten_exam(roster=people)
    take(people[0], exam, RIGHT)
    take(people[1], exam, WRONG)
    writing = take(people[2], exam, RIGHT, submit=False)
    (figure,) = figures.by_unit([ExamSummary.exam_id == exam.id])
    assert (figure.own.took, figure.own.passed, figure.own.excellent) == (2, 1, 1)

    # Every key corrected to 错误: the one who passed fails and the other way round.
    for question in bank_questions(exam):
        correct_key_and_regrade(exam, question)
    (figure,) = figures.by_unit([ExamSummary.exam_id == exam.id])
    assert (figure.own.took, figure.own.passed, figure.own.buckets[0]) == (2, 1, 1)
    assert figure.own.percent_sum == Decimal(100)
    assert_same_as_rebuilt()
    # The one writing is scored with the corrected keys when they hand in.
    attempts.submit(writing, clock.now(), "candidate")
    db.session.commit()
    (figure,) = figures.by_unit([ExamSummary.exam_id == exam.id])
    assert (figure.own.took, figure.own.passed) == (3, 1)
    assert_same_as_rebuilt()


def bank_questions(exam):
    from question_bank import queries

    version_ids = {entry[1] for pool in exam.pools for entry in pool}
    versions = queries.versions_by_id(version_ids)
    return [queries.question(version.question_id) for version in versions.values()]


def test_a_reopened_attempt_is_withdrawn_until_resubmitted(ten, make_user, frozen_clock):
    person = make_user()
    exam = ten_exam(roster=[person])
    attempt = take(person, exam, RIGHT)
    outage = Outage(
        started_at=attempt.deadline_at - timedelta(minutes=1),
        ended_at=attempt.deadline_at + timedelta(minutes=1),
        source="test",
    )
    db.session.add(outage)
    db.session.commit()
    admin = make_user(Role.SYSTEM_ADMIN)
    exam_outages.reopen(
        Actor(id=admin.id, login=admin.login), attempt, outage, 5, frozen_clock.now, GRACE
    )
    db.session.commit()
    assert list(table().values()) == [{"assigned": 1}]
    assert_same_as_rebuilt()
    attempts.submit(attempt, frozen_clock.now, "candidate")
    db.session.commit()
    (values,) = table().values()
    assert values["took"] == 1
    assert_same_as_rebuilt()


def test_rosters_count_each_person_once(ten, make_user):
    people = [make_user() for _ in range(3)]
    exam = ten_exam(roster=people[:2])
    first = exam.batches[0]
    second = add_batch(exam, people, name="第二批")
    rows = table()
    assert rows[(exam.id, first.id, people[0].unit_id, False)] == {"assigned": 2}
    assert rows[(exam.id, second.id, people[0].unit_id, False)] == {"assigned": 1}
    member = db.session.scalar(
        select(sittings.BatchMember).where(
            sittings.BatchMember.batch_id == first.id,
            sittings.BatchMember.user_id == people[0].id,
        )
    )
    sittings.remove_member(SYSTEM, member)
    db.session.commit()
    rows = table()
    assert rows[(exam.id, first.id, people[0].unit_id, False)] == {"assigned": 1}
    assert rows[(exam.id, second.id, people[0].unit_id, False)] == {"assigned": 2}
    assert_same_as_rebuilt()


def test_the_rebuild_command(ten, make_user, runner):
    person = make_user()
    exam = ten_exam(roster=[person])
    take(person, exam, RIGHT)
    kept = table()
    db.session.execute(ExamSummary.__table__.delete())
    db.session.commit()
    result = runner.invoke(args=["reports", "rebuild-summaries"])
    assert result.exit_code == 0 and "1 行" in result.output
    assert table() == kept


def test_a_rebuild_counts_the_marked_attempt_not_one_awaiting_marks(law, make_user):
    """Best of two: the first attempt is marked (passed), the second waits for marks
    (score NULL). Only the marked one counts, in the kept figures and the rebuilt ones
    (SQLite sorts NULL first unless told otherwise)."""
    add_questions("single", 2)
    add_written()
    person, trainer = make_user(), make_user(Role.TRAINER)
    exam = make_exam(
        sections=[("single", 2, 2), ("short_answer", 1, 10)],
        roster=[person],
        pass_mark=Decimal(10),
        grade_bands=[[10, "合格"]],
        attempts_allowed=2,
        retake_after_pass=True,
    )
    add_batch(exam, [person], name="补考")
    first = take(person, exam)
    item = next(i for i in first.items if i.question_version.type == "short_answer")
    task = marking.task(trainer, item.id)
    marking.give_mark(
        Actor(id=trainer.id, login=trainer.login), trainer, item.id, task.round, "8", []
    )
    db.session.commit()
    second = take(person, exam)
    assert first.score == Decimal(12) and second.score is None
    (counted,) = [values for values in table().values() if "took" in values]
    assert (counted["took"], counted["passed"], counted["attempts"]) == (1, 1, 2)
    assert_same_as_rebuilt()


def test_an_upgraded_database_with_attempts_gets_its_summaries(tree, ten, make_user):
    """A database that held attempts before exam_summaries existed: the table arrives
    empty (0050), and the next migration fills it from the attempts and rosters."""
    district, bureau, section = tree
    people = [make_user(unit=unit) for unit in (district, bureau, section, section)]
    exam = ten_exam(roster=people)
    take(people[0], exam, RIGHT)
    take(people[1], exam, WRONG)
    take(people[2], exam, RIGHT, submit=False)
    kept = table()
    assert sum(values.get("took", 0) for values in kept.values()) == 2
    db.session.commit()
    downgrade(revision="0051_reports_backfill_and_counts-1")
    db.session.execute(ExamSummary.__table__.delete())
    db.session.commit()
    assert table() == {}
    upgrade()
    assert table() == kept
