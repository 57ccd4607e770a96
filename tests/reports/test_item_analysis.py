"""Item analysis of a real exam: the attempts chosen (first, best, all), the figures read
from the papers, the choices counted, the cache and its invalidation, and the pages."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, null, select, update

from core import clock
from core.audit import Actor
from core.extensions import db
from core.outages import Outage
from core.roles import Role
from question_bank.item_statistics import ItemScores, paper_statistics
from tests.factories import (
    GRACE,
    add_batch,
    add_questions,
    add_written,
    correct_key_and_regrade,
    make_exam,
    take,
)
from training.exams import attempts, marking
from training.exams import outages as exam_outages
from training.exams.models import Attempt, PaperItem
from training.reports import item_analysis
from training.reports.models import ItemAnalysisCounts

RIGHT, WRONG = [0], [1]
# Who gets which of the four 判断 right (1) or wrong (0): the first three columns are
# the hand-computed matrix of tests/question_bank/test_item_statistics.py; everyone gets
# the fourth right, so it is flagged too easy.
PATTERNS = {
    "甲": (1, 1, 1, 1),
    "乙": (1, 1, 0, 1),
    "丙": (1, 0, 1, 1),
    "丁": (1, 0, 0, 1),
    "戊": (0, 0, 0, 1),
}


def sit(user, exam, marks, submit=True):
    """`user` answers the i-th question (by id) right when marks[i] is 1."""
    attempt = attempts.start_attempt(user, exam, clock.now(), random.Random(0))
    db.session.flush()
    order = sorted(item.question_version.question_id for item in attempt.items)
    for seq, item in enumerate(attempt.items, start=1):
        mark = marks[order.index(item.question_version.question_id)]
        saved = attempts.save_answer(
            user.id, attempt.id, item.id, RIGHT if mark else WRONG, seq, clock.now(), GRACE
        )
        assert saved.saved
    if submit:
        attempts.submit(attempt, clock.now(), "candidate")
    db.session.commit()
    return attempt


@pytest.fixture
def sat(law, make_user):
    questions = add_questions("true_false", 4)
    people = {name: make_user(name=name) for name in PATTERNS}
    exam = make_exam(
        sections=[("true_false", 4, 1)],
        pass_mark=Decimal(2),
        grade_bands=[],
        attempts_allowed=2,
        retake_after_pass=True,
        roster=list(people.values()),
    )
    for name, marks in PATTERNS.items():
        sit(people[name], exam, marks)
    return exam, questions, people


def expected(patterns):
    names = list(patterns)
    return paper_statistics(
        ItemScores(column, 1, {name: patterns[name][column] for name in names})
        for column in range(4)
    )


def figures(paper) -> list:
    """Every item's count, facility, discrimination and efficiency in one flat list (-1
    for none), and then every item's flags."""
    numbers = [
        -1 if value is None else value
        for item in paper.items
        for value in (item.count, item.facility, item.discrimination, item.efficiency)
    ]
    return numbers + [flag for item in paper.items for flag in item.flags]


def test_first_attempts_give_the_hand_computed_figures(sat):
    exam, questions, _people = sat
    analysis = item_analysis.analyse_exam(exam)
    want = expected(PATTERNS)
    assert analysis.which == "first" and analysis.paper.count == 5
    assert figures(analysis.paper) == pytest.approx(figures(want))
    assert analysis.paper.alpha == pytest.approx(want.alpha)
    assert analysis.paper.standard_error == pytest.approx(want.standard_error)
    assert [row.question_id for row in analysis.rows] == [q.id for q in questions]
    assert [row.question_id for row in analysis.flagged] == [questions[3].id]
    # How the choices were picked: question one, 正确 by four and 错误 by one.
    first = analysis.rows[0].choices
    assert [(c.text, c.count, c.correct) for c in first] == [
        ("正确", 4, True),
        ("错误", 1, False),
        ("未作答", 0, False),
    ]


def test_first_best_and_all_attempts(sat):
    exam, _questions, people = sat
    sit(people["戊"], exam, (1, 1, 1, 1))  # a retake, all right
    first = item_analysis.analyse_exam(exam, "first")
    best = item_analysis.analyse_exam(exam, "best")
    every = item_analysis.analyse_exam(exam, "all")
    assert (first.paper.count, best.paper.count, every.paper.count) == (5, 5, 6)
    assert figures(first.paper) == pytest.approx(figures(expected(PATTERNS)))
    assert figures(best.paper) == pytest.approx(figures(expected(PATTERNS | {"戊": (1, 1, 1, 1)})))
    assert every.paper.items[0].facility == pytest.approx(5 / 6)


def test_the_counts_are_kept_and_a_submission_adds_only_its_paper(sat, make_user, monkeypatch):
    exam, questions, _people = sat
    counted = []
    real_count = item_analysis.count
    monkeypatch.setattr(
        item_analysis, "count", lambda *args: counted.append(args) or real_count(*args)
    )
    analysis = item_analysis.analyse_exam(exam)
    db.session.commit()
    assert len(counted) == 1
    # Stored in the database: another worker, or this one after a restart, reads them.
    again = item_analysis.analyse_exam(exam)
    assert len(counted) == 1 and figures(again.paper) == figures(analysis.paper)
    assert item_analysis.flagged_if_known(exam) == 1

    newcomer = make_user(name="己")
    add_batch(exam, [newcomer])
    attempt = sit(newcomer, exam, (1, 1, 1, 1), submit=False)
    item_analysis.analyse_exam(exam)
    assert len(counted) == 1  # an open attempt changes nothing
    attempts.submit(attempt, clock.now(), "candidate")
    db.session.commit()
    assert item_analysis.flagged_if_known(exam) is None  # stale: the home page waits
    after_submit = item_analysis.analyse_exam(exam)
    # The new paper is added to the stored counts: nothing is counted again.
    assert len(counted) == 1 and after_submit.paper.count == 6
    assert stored_counts(exam, "first") == real_count(exam.id, "first")
    db.session.commit()
    assert item_analysis.flagged_if_known(exam) == 1

    # The second question's key corrected to 错误: three of the six had it right before.
    correct_key_and_regrade(exam, questions[1])
    regraded = item_analysis.analyse_exam(exam)
    # What the regraded papers added before is not known any more: all counted again.
    assert len(counted) == 2
    assert after_submit.paper.items[1].facility == pytest.approx(3 / 6)
    assert regraded.paper.items[1].facility == pytest.approx(3 / 6)
    assert regraded.rows[1].version_number == 2
    assert [c.correct for c in regraded.rows[1].choices] == [False, True, False]


def test_the_kept_counts_stay_those_of_counting_afresh(sat, make_user, frozen_clock, monkeypatch):
    """After a retake (a new best), a late auto-submit, a reopened attempt and its second
    submission, and a regrade, for first, best and all attempts: the counts kept and
    brought up to date are exactly those of counting every paper again; only a change to
    an attempt already counted (reopened, regraded) has them counted again."""
    exam, questions, people = sat
    counted = []
    real_count = item_analysis.count
    monkeypatch.setattr(
        item_analysis, "count", lambda *args: counted.append(args[1]) or real_count(*args)
    )

    def kept_as_fresh():
        for which in item_analysis.WHICH:
            kept = item_analysis.analyse_exam(exam, which)
            db.session.commit()
            assert stored_counts(exam, which) == real_count(exam.id, which)
            fresh = item_analysis._analysis(exam.id, which, real_count(exam.id, which))
            assert figures(kept.paper) == figures(fresh.paper)
            assert [row.choices for row in kept.rows] == [row.choices for row in fresh.rows]
        db.session.commit()
        found = list(counted)
        counted.clear()
        return found

    assert kept_as_fresh() == ["first", "best", "all"]
    sit(people["戊"], exam, (1, 1, 1, 1))  # a retake, all right: 戊's best moves to it
    assert kept_as_fresh() == []
    assert item_analysis.analyse_exam(exam, "best").paper.count == 5

    late = make_user(name="己")
    add_batch(exam, [late])
    attempt = sit(late, exam, (0, 1, 0, 1), submit=False)
    frozen_clock.now = attempt.deadline_at + GRACE + timedelta(seconds=1)
    assert attempts.finalize_expired(frozen_clock.now, GRACE) == 1
    db.session.commit()
    assert kept_as_fresh() == []
    assert item_analysis.analyse_exam(exam, "all").paper.count == 7

    reopened = next(a for a in _attempts_of(exam) if a.user_id == people["甲"].id)
    outage = Outage(
        started_at=reopened.deadline_at - timedelta(minutes=1),
        ended_at=reopened.deadline_at + timedelta(minutes=1),
        source="test",
    )
    db.session.add(outage)
    admin = make_user(Role.SYSTEM_ADMIN)
    exam_outages.reopen(
        Actor(id=admin.id, login=admin.login), reopened, outage, 5, frozen_clock.now, GRACE
    )
    db.session.commit()
    assert kept_as_fresh() == ["first", "best", "all"]  # 甲's counted paper may change
    assert item_analysis.analyse_exam(exam, "all").paper.count == 6
    attempts.submit(reopened, frozen_clock.now, "candidate")
    db.session.commit()
    assert kept_as_fresh() == []  # handed in again: added
    assert item_analysis.analyse_exam(exam, "all").paper.count == 7

    correct_key_and_regrade(exam, questions[2])
    assert kept_as_fresh() == ["first", "best", "all"]


def test_after_many_papers_are_scored_again_all_is_counted_at_once(sat, make_user, monkeypatch):
    """A submission is added to the kept counts; a regrade of more papers than counts are
    brought up to date for has all counted again, without first reading which attempts
    changed; either way the kept counts are those of counting afresh."""
    exam, questions, _people = sat
    item_analysis.analyse_exam(exam)
    db.session.commit()
    monkeypatch.setattr(item_analysis, "MOST_ADDED", 0)  # a quarter of 6 attempts: 1
    looked = []
    real = item_analysis.brought_up_to_date
    monkeypatch.setattr(
        item_analysis, "brought_up_to_date", lambda *args: looked.append(args[1]) or real(*args)
    )
    newcomer = make_user(name="己")
    add_batch(exam, [newcomer])
    sit(newcomer, exam, (1, 0, 1, 1))
    item_analysis.analyse_exam(exam)
    db.session.commit()
    assert looked == ["first"]
    assert stored_counts(exam, "first") == item_analysis.count(exam.id, "first")

    correct_key_and_regrade(exam, questions[1])  # six papers scored again
    item_analysis.analyse_exam(exam)
    db.session.commit()
    assert looked == ["first"]
    assert stored_counts(exam, "first") == item_analysis.count(exam.id, "first")


def stored_counts(exam, which) -> item_analysis.Counts:
    """The counts kept for the analysis, with the attempts they count."""
    stored = db.session.get(ItemAnalysisCounts, (exam.id, which), populate_existing=True)
    return item_analysis.Counts.of_json(stored.counts, stored.members)


def _attempts_of(exam):
    return db.session.scalars(select(Attempt).where(Attempt.exam_id == exam.id)).all()


def test_the_page_shows_sample_size_warning_flags_and_edit_links(sat, client, login_as):
    exam, questions, _people = sat
    login_as(Role.TRAINER)
    page = client.get(f"/reports/exams/{exam.id}/items")
    assert page.status_code == 200
    text = page.text
    assert "data-sample>5<" in text and "data-small-sample" in text
    assert "过易（难度系数 &gt; 0.9）" in text
    assert f"/bank/{questions[3].id}/edit" in text
    assert f"/bank/{questions[0].id}/edit" not in text  # nothing to fix there
    assert "0.80" in text  # question one's facility

    refused = client.get(f"/reports/exams/{exam.id}/items?which=everyone")
    assert refused.status_code == 200 and "已按每人第一次作答统计" in refused.text


def test_an_exam_without_attempts_says_so(law, client, login_as):
    add_questions("true_false", 2)
    exam = make_exam(sections=[("true_false", 2, 1)], pass_mark=Decimal(1), grade_bands=[])
    login_as(Role.TRAINER)
    page = client.get(f"/reports/exams/{exam.id}/items")
    assert page.status_code == 200 and "还没有已交卷的答卷" in page.text
    assert client.get("/reports/exams/999/items").status_code == 404


def test_a_question_across_every_exam_that_used_it(sat, make_user, client, login_as):
    exam, questions, _people = sat
    other = make_exam(sections=[("true_false", 4, 1)], pass_mark=Decimal(2), grade_bands=[])
    person = make_user(name="庚")
    add_batch(other, [person])
    sit(person, other, (0, 1, 1, 1))
    unsubmitted = make_exam(sections=[("true_false", 4, 1)], pass_mark=Decimal(2), grade_bands=[])
    add_batch(unsubmitted, [person])
    sit(person, unsubmitted, (1, 1, 1, 1), submit=False)  # still writing: not a use yet
    uses = item_analysis.question_across_exams(questions[0].id)
    assert [(use.exam.id, [row.stats.facility for row in use.rows]) for use in uses] == [
        (other.id, [0.0]),
        (exam.id, [pytest.approx(0.8)]),
    ]
    login_as(Role.TRAINER)
    page = client.get(f"/reports/questions/{questions[0].id}")
    assert page.status_code == 200
    assert page.text.count("data-exam=") == 2 and "样本 1 份" in page.text
    unused = add_questions("single", 1)[0]
    assert "还没有哪场考试" in client.get(f"/reports/questions/{unused.id}").text


def test_an_attempt_awaiting_marks_counts_once_marked(law, make_user):
    """Its total is not known while a written answer waits: it joins the analysis when
    marked; the written question gets no choice table (its answers are text)."""
    add_questions("single", 2)
    add_written()
    person, trainer = make_user(name="辛"), make_user(Role.TRAINER)
    exam = make_exam(
        sections=[("single", 2, 2), ("short_answer", 1, 10)],
        roster=[person],
        pass_mark=Decimal(10),
        grade_bands=[[10, "合格"]],
    )
    attempt = take(person, exam)
    assert attempt.score is None
    assert item_analysis.analyse_exam(exam).paper.count == 0
    item = next(i for i in attempt.items if i.question_version.type == "short_answer")
    task = marking.task(trainer, item.id)
    marking.give_mark(
        Actor(id=trainer.id, login=trainer.login), trainer, item.id, task.round, "6", []
    )
    db.session.commit()
    analysis = item_analysis.analyse_exam(exam)
    assert analysis.paper.count == 1 and analysis.paper.mean == 10
    by_type = {row.type_label: row for row in analysis.rows}
    assert by_type["简答"].choices == [] and by_type["简答"].stats.mean == 6
    assert [c.count for c in by_type["单选"].choices if c.correct] == [1]


def test_a_blank_paper_marked_zero_joins_the_stored_counts(law, make_user):
    """A paper awaiting marks is left out; marked 0 it moves no sum of scores, so the stamp
    must see the scored count (and the newest mark) change, or the stored counts stay."""
    add_questions("single", 2)
    add_written()
    good, blank, trainer = make_user(name="辛"), make_user(name="壬"), make_user(Role.TRAINER)
    exam = make_exam(
        sections=[("single", 2, 2), ("short_answer", 1, 10)],
        roster=[good, blank],
        pass_mark=Decimal(10),
        grade_bands=[[10, "合格"]],
    )
    as_trainer = Actor(id=trainer.id, login=trainer.login)

    def written_item(attempt):
        return next(i for i in attempt.items if i.question_version.type == "short_answer")

    marked = written_item(take(good, exam))
    marking.give_mark(
        as_trainer, trainer, marked.id, marking.task(trainer, marked.id).round, "6", []
    )
    handed_in_blank = attempts.start_attempt(blank, exam, clock.now(), random.Random(0))
    db.session.flush()
    attempts.submit(handed_in_blank, clock.now(), "candidate")
    db.session.commit()
    assert item_analysis.analyse_exam(exam).paper.count == 1  # counted and stored
    db.session.commit()
    waiting = written_item(handed_in_blank)
    marking.give_mark(
        as_trainer, trainer, waiting.id, marking.task(trainer, waiting.id).round, "0", []
    )
    db.session.commit()
    assert item_analysis.analyse_exam(exam).paper.count == 2


def test_a_questions_papers_are_found_by_index(app):
    """Which exams used a question is read from its paper items, found through an index
    led by the version (not by reading every attempt's paper)."""
    indexes = inspect(db.engine).get_indexes("paper_items")
    assert any(index["column_names"][0] == "question_version_id" for index in indexes)


def test_scoring_keeps_the_choices_picked_on_the_paper(law, make_user):
    """Item analysis counts the choices from the papers alone: scoring keeps a choice
    question's answer on its paper item (picked), a text answer is not kept there, and a
    paper handed in again after a reopening keeps its new answer."""
    add_questions("multiple", 1)
    add_questions("fill_blank", 1)
    person = make_user(name="癸")
    exam = make_exam(
        sections=[("multiple", 1, 2), ("fill_blank", 1, 2)],
        roster=[person],
        pass_mark=Decimal(2),
        grade_bands=[],
    )
    attempt = take(person, exam, {"multiple": [0, 2]})
    picked = {item.question_version.type: item.picked for item in attempt.items}
    assert picked == {"multiple": [0, 2], "fill_blank": None}

    attempt.status = "in_progress"  # as a reopening leaves it
    multiple = next(i for i in attempt.items if i.question_version.type == "multiple")
    saved = attempts.save_answer(person.id, attempt.id, multiple.id, [1], 99, clock.now(), GRACE)
    assert saved.saved
    attempts.submit(attempt, clock.now(), "candidate")
    db.session.commit()
    assert multiple.picked == [1]
    counts = item_analysis.count(exam.id, "first")
    assert counts.answers[multiple.question_version_id] == {"[1]": 1}


def test_the_migration_keeps_the_choices_of_papers_already_scored(sat):
    """A database upgraded with papers already scored: 0055 copies their choice answers
    onto the papers, so their analysis counts the same choices as before."""
    exam, _questions, _people = sat
    kept = item_analysis.count(exam.id, "all")
    db.session.commit()
    downgrade(revision="0055_paper_items_picked-1")
    upgrade()
    db.session.expire_all()
    assert item_analysis.count(exam.id, "all") == kept
    assert sum(kept.answers[version_id].total() for version_id in kept.answers) == 20


def test_fill_picked_mends_papers_that_older_workers_scored(sat, runner):
    """During a rolling upgrade a worker still on the code before 0055 scores papers without
    their choices; `flask exams fill-picked` copies them from the answers, once."""
    exam, _questions, _people = sat
    kept = item_analysis.count(exam.id, "all")
    db.session.execute(update(PaperItem).values(picked=null()))  # as the older code left it
    db.session.commit()
    assert item_analysis.count(exam.id, "all") != kept
    result = runner.invoke(args=["exams", "fill-picked"])
    assert result.exit_code == 0 and "已补记 20 道" in result.output
    db.session.expire_all()
    assert item_analysis.count(exam.id, "all") == kept
    again = runner.invoke(args=["exams", "fill-picked"])
    assert "已补记 0 道" in again.output
