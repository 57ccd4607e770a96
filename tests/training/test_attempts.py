"""Taking an exam at the service level: start and resume, the frozen paper, deadlines and
grace, ordered saves, submitting once, expiry, extensions, and the same under threads."""

import random
import re
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.audit import SYSTEM
from core.extensions import db
from question_bank import bank, types
from question_bank.drafts import QuestionDraft
from question_bank.models import Topic
from training import scoring
from training.exams import assembly, attempts, candidate, setup
from training.exams.models import Attempt, Exam, PaperItem, Response
from training.models import User

from ..factories import (
    GRACE,
    add_batch,
    add_question,
    correct_answer,
    make_exam,
    member_of,
)


def start(user, exam, now=None, seed=0):
    attempt = attempts.start_attempt(user, exam, now or clock.now(), random.Random(seed))
    db.session.commit()
    return attempt


def items_by_question(attempt) -> dict[int, PaperItem]:
    return {item.question_version.question_id: item for item in attempt.items}


def save(attempt, item, answer, seq, now=None, grace=GRACE):
    result = attempts.save_answer(
        attempt.user_id, attempt.id, item.id, answer, seq, now or clock.now(), grace
    )
    db.session.commit()
    return result


def answer_all(attempt, questions, right=True):
    by_question = items_by_question(attempt)
    for seq, question in enumerate(questions.values(), start=1):
        answer = correct_answer(question) if right else []
        save(attempt, by_question[question.id], answer, seq)


def newest(attempt, item):
    db.session.expire_all()
    return db.session.scalar(
        select(Response).where(Response.attempt_id == attempt.id, Response.item_id == item.id)
    )


# --- start, the frozen paper, resume --------------------------------------------------


def test_start_freezes_versions_order_and_choice_order(questions, learner):
    exam = make_exam(
        roster=[learner], random_per_candidate=True, shuffle_questions=True, shuffle_choices=True
    )
    attempt = start(learner, exam, seed=7)
    assert [item.position for item in attempt.items] == [1, 2, 3, 4, 5]
    assert attempt.max_score == Decimal(12) and attempt.deadline_at > attempt.started_at
    frozen = {
        item.id: (item.question_version_id, item.position, list(item.choice_order))
        for item in attempt.items
    }
    for item in attempt.items:
        choices = item.question_version.choices
        assert sorted(item.choice_order) == list(range(len(choices)))
    single = questions["single1"]
    shown_before = candidate.paper_payload(attempt, clock.now())

    # A trainer edits a question the paper holds: a new version, the paper keeps the old.
    draft = bank.current_draft(single)
    draft.stem = "单选题一（修订）：宪法是什么？"
    draft.choices = ["新选项一", "新选项二"]
    draft.answer = [0]
    bank.edit_question(SYSTEM, single, draft)
    db.session.commit()
    db.session.expire_all()
    assert single.current_number == 2
    attempt = db.session.get(Attempt, attempt.id)
    assert {
        item.id: (item.question_version_id, item.position, list(item.choice_order))
        for item in attempt.items
    } == frozen
    shown_after = candidate.paper_payload(attempt, clock.now())
    assert shown_after["items"] == shown_before["items"]
    assert "修订" not in str(shown_after)


def test_a_start_writes_the_drawn_paper_in_one_statement(questions, learner, count_queries):
    exam = make_exam(
        roster=[learner], random_per_candidate=True, shuffle_questions=True, shuffle_choices=True
    )
    drawn = assembly.draw(exam.blueprint, attempts.exam_pools(exam), random.Random(3))
    with count_queries() as statements:
        attempt = start(learner, exam, seed=3)
    assert sum("INSERT INTO paper_items" in statement for statement in statements) == 1
    assert statements.many == []  # one parameter set, not one per item
    db.session.expire_all()
    written = db.session.scalars(
        select(PaperItem).where(PaperItem.attempt_id == attempt.id).order_by(PaperItem.position)
    ).all()
    assert [
        (item.position, item.question_version_id, item.points, tuple(item.choice_order))
        for item in written
    ] == [
        (position, item.version_id, item.points, tuple(item.choice_order))
        for position, item in enumerate(drawn, start=1)
    ]
    assert all(item.case_version_id is None and item.earned is None for item in written)


def test_the_paper_is_read_without_the_keys(questions, learner, count_queries):
    attempt = start(learner, make_exam(roster=[learner]))
    with count_queries() as statements:
        shown = candidate.paper_payload(attempt, clock.now())
    assert len(shown["items"]) == 5
    read = " ".join(statements)
    for kept_back in ("answer", "explanation", "model_answer", "marking_points"):
        assert not re.search(rf"question_versions(_\d+)?\.{kept_back}\b", read)


def test_shuffled_papers_differ_between_candidates_but_hold_the_blueprint(make_user):
    for number in range(12):
        add_question("single", f"单选题{number}", [f"甲{number}", f"乙{number}"], [0])
    people = [make_user() for _ in range(6)]
    exam = make_exam(
        roster=people,
        sections=(("single", 4, 1),),
        pass_mark=Decimal(2),
        grade_bands=[],
        random_per_candidate=True,
        shuffle_questions=True,
        shuffle_choices=True,
    )
    papers = [
        tuple(item.question_version_id for item in start(person, exam, seed=n).items)
        for n, person in enumerate(people)
    ]
    assert all(len(set(paper)) == 4 for paper in papers)
    assert len(set(papers)) > 1


def test_a_fixed_paper_gives_everyone_the_same_questions(questions, make_user):
    people = [make_user() for _ in range(4)]
    exam = make_exam(roster=people, shuffle_questions=True, shuffle_choices=True)
    papers = [
        sorted(item.question_version_id for item in start(person, exam, seed=n).items)
        for n, person in enumerate(people)
    ]
    assert all(paper == papers[0] for paper in papers)


def test_resume_returns_the_same_attempt(questions, learner):
    exam = make_exam(roster=[learner], random_per_candidate=True, shuffle_questions=True)
    first = start(learner, exam, seed=1)
    again = start(learner, exam, seed=2)
    assert again.id == first.id
    assert db.session.scalar(select(func.count(Attempt.id))) == 1


def test_the_database_allows_one_open_attempt_per_candidate(questions, learner):
    exam = make_exam(roster=[learner])
    first = start(learner, exam)
    twin = Attempt(
        exam_id=exam.id,
        batch_id=first.batch_id,
        user_id=learner.id,
        number=2,
        started_at=first.started_at,
        deadline_at=first.deadline_at,
        max_score=first.max_score,
    )
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_start_racing_another_returns_the_attempt_that_won(questions, learner, monkeypatch):
    exam = make_exam(roster=[learner])
    winner = start(learner, exam)
    # The racing request looked before the winner committed: it saw no open attempt.
    looks = []
    real_open_attempt = attempts.open_attempt

    def blind_first_look(user_id, exam_id):
        looks.append(exam_id)
        return None if len(looks) == 1 else real_open_attempt(user_id, exam_id)

    monkeypatch.setattr(attempts, "open_attempt", blind_first_look)
    loser = attempts.start_attempt(learner, exam, clock.now(), random.Random(3))
    db.session.commit()
    assert loser.id == winner.id
    assert db.session.scalar(select(func.count(Attempt.id))) == 1


# --- who may start ----------------------------------------------------------------------


def test_attempts_allowed(questions, learner):
    exam = make_exam(roster=[learner], attempts_allowed=2)
    for number in (1, 2):
        attempt = start(learner, exam)
        assert attempt.number == number
        assert attempts.submit(attempt, clock.now(), "candidate")
        db.session.commit()
    with pytest.raises(attempts.ExamError, match="最多可参加 2 次"):
        start(learner, exam)


def test_one_attempt_per_batch_means_the_retake_is_in_a_later_batch(questions, learner):
    now = clock.now()
    exam = make_exam(roster=[learner], attempts_allowed=2, one_attempt_per_batch=True, now=now)
    later = add_batch(
        exam, [learner], opens_at=now + timedelta(hours=3), closes_at=now + timedelta(hours=5)
    )
    first = start(learner, exam, now=now)
    attempts.submit(first, now, "candidate")  # nothing answered: failed
    db.session.commit()
    assert first.passed is False
    with pytest.raises(attempts.ExamError, match="补考请在后续场次进行"):
        start(learner, exam, now=now + timedelta(minutes=5))
    standing = candidate.assigned_exam(learner, exam.id, now, GRACE)
    assert standing.state == candidate.ExamState.SUBMITTED
    assert standing.retake_batch.id == later.id
    retake = start(learner, exam, now=now + timedelta(hours=4))
    assert (retake.number, retake.batch_id) == (2, later.id)


def test_no_retake_after_a_pass_unless_the_exam_allows_it(questions, make_user):
    for allowed in (False, True):
        person = make_user()
        exam = make_exam(roster=[person], attempts_allowed=3, retake_after_pass=allowed)
        attempt = start(person, exam)
        answer_all(attempt, questions)
        attempts.submit(attempt, clock.now(), "candidate")
        db.session.commit()
        assert attempt.passed and attempt.score == Decimal(12)
        if allowed:
            assert start(person, exam).number == 2
        else:
            with pytest.raises(attempts.ExamError, match="您已通过本考试"):
                start(person, exam)


def test_someone_off_the_roster_or_outside_the_window_cannot_start(questions, make_user):
    on_roster, stranger = make_user(), make_user()
    now = clock.now()
    exam = make_exam(roster=[on_roster], now=now)
    with pytest.raises(attempts.ExamError, match="名单"):
        start(stranger, exam)
    with pytest.raises(attempts.ExamError, match="名单"):
        start(on_roster, exam, now=now + timedelta(days=2))


# --- the deadline -----------------------------------------------------------------------


def test_deadline_is_the_time_limit_capped_by_the_window_plus_the_extension(questions, make_user):
    now = clock.now()
    plain, short, extended = make_user(), make_user(), make_user()
    exam = make_exam(roster=[plain, extended], now=now, time_limit_minutes=60)
    closing = add_batch(
        exam, [short], opens_at=now - timedelta(minutes=5), closes_at=now + timedelta(minutes=20)
    )
    member_of(exam.batches[0], extended).extra_minutes = 10
    db.session.commit()
    assert start(plain, exam, now=now).deadline_at == now + timedelta(minutes=60)
    assert start(short, exam, now=now).deadline_at == closing.closes_at
    assert start(extended, exam, now=now).deadline_at == now + timedelta(minutes=70)


def test_an_extension_applies_at_once_to_an_attempt_in_progress(questions, learner):
    now = clock.now()
    exam = make_exam(roster=[learner], now=now, time_limit_minutes=30)
    attempt = start(learner, exam, now=now)
    item = attempt.items[0]
    late = now + timedelta(minutes=35)
    assert not save(attempt, item, [0], 1, now=late).saved
    extended = attempts.extend_time(member_of(exam.batches[0], learner), 10, past_close=False)
    db.session.commit()
    assert extended.id == attempt.id
    assert attempt.deadline_at == now + timedelta(minutes=40)
    result = save(attempt, item, [0], 2, now=late)
    assert result.saved and result.deadline == attempt.deadline_at


# --- saving -----------------------------------------------------------------------------


def test_the_newest_sequence_number_wins(questions, learner):
    attempt = start(learner, make_exam(roster=[learner]))
    item = attempt.items[0]
    assert save(attempt, item, [1], 5) == attempts.SaveResult(True, 5, deadline=attempt.deadline_at)
    late = save(attempt, item, [2], 3)  # sent earlier, arrived later
    assert late.saved and late.seq == 5
    assert (newest(attempt, item).answer, newest(attempt, item).seq) == ([1], 5)
    again = save(attempt, item, [1], 5)  # a retry of the same save
    assert again.saved and again.seq == 5
    assert save(attempt, item, [3], 6).seq == 6
    assert newest(attempt, item).answer == [3]
    assert db.session.scalar(select(func.count(Response.id))) == 1


def test_saves_after_the_deadline_and_grace_are_refused_with_a_reason(questions, learner):
    now = clock.now()
    exam = make_exam(roster=[learner], now=now, time_limit_minutes=10)
    attempt = start(learner, exam, now=now)
    item = attempt.items[0]
    deadline = attempt.deadline_at
    assert save(attempt, item, [0], 1, now=deadline - timedelta(seconds=1)).saved
    assert save(attempt, item, [1], 2, now=deadline + timedelta(seconds=20)).saved  # grace
    assert save(attempt, item, [2], 3, now=deadline + GRACE).saved  # the last instant
    # ... when the attempt is not yet expired either
    assert not attempts.finalize_if_expired(attempt, deadline + GRACE, GRACE)
    refused = save(attempt, item, [3], 4, now=deadline + GRACE + timedelta(seconds=1))
    assert not refused.saved and refused.reason == "closed"
    assert refused.message == "考试时间已到，答案未能保存。已保存的答案将自动交卷。"
    assert newest(attempt, item).answer == [2]


def test_saves_to_a_submitted_attempt_another_paper_or_someone_elses_are_refused(
    questions, learner, make_user
):
    other = make_user()
    exam = make_exam(roster=[learner, other])
    attempt, others = start(learner, exam), start(other, exam)
    foreign = attempts.save_answer(
        learner.id, others.id, others.items[0].id, [0], 1, clock.now(), GRACE
    )
    assert (foreign.saved, foreign.reason, foreign.message) == (False, "missing", "答卷不存在。")
    wrong_item = attempts.save_answer(
        learner.id, attempt.id, others.items[0].id, [0], 1, clock.now(), GRACE
    )
    assert (wrong_item.saved, wrong_item.reason) == (False, "bad_item")
    db.session.rollback()
    attempts.submit(attempt, clock.now(), "candidate")
    db.session.commit()
    closed = save(attempt, attempt.items[0], [0], 2)
    assert (closed.saved, closed.reason) == (False, "closed")
    assert closed.message == "本次作答已交卷，不能再修改答案。"
    assert db.session.scalar(select(func.count(Response.id))) == 0


# --- submitting -------------------------------------------------------------------------


def test_submitting_twice_scores_once(questions, learner):
    attempt = start(learner, make_exam(roster=[learner]))
    answer_all(attempt, questions)
    first_time = clock.now()
    assert attempts.submit(attempt, first_time, "candidate")
    db.session.commit()
    score, submitted_at = attempt.score, attempt.submitted_at
    assert score == Decimal(12) and attempt.passed and attempt.grade_label == "优秀"
    assert not attempts.submit(attempt, first_time + timedelta(minutes=1), "deadline")
    db.session.commit()
    db.session.expire_all()
    assert (attempt.score, attempt.submitted_at, attempt.submitted_by) == (
        score,
        submitted_at,
        "candidate",
    )


def test_an_expired_attempt_is_submitted_with_what_was_saved(questions, learner):
    now = clock.now()
    attempt = start(learner, make_exam(roster=[learner], now=now, time_limit_minutes=10), now=now)
    by_question = items_by_question(attempt)
    save(attempt, by_question[questions["single1"].id], correct_answer(questions["single1"]), 1)
    save(attempt, by_question[questions["multiple"].id], correct_answer(questions["multiple"]), 2)
    after = attempt.deadline_at + GRACE + timedelta(seconds=1)
    assert not attempts.finalize_if_expired(attempt, attempt.deadline_at, GRACE)
    assert attempts.finalize_if_expired(attempt, after, GRACE)
    db.session.commit()
    assert (attempt.status, attempt.submitted_by, attempt.submitted_at) == (
        "submitted",
        "deadline",
        after,
    )
    assert attempt.score == Decimal(6) and attempt.passed  # 2 + 4 of 12; pass mark 6
    assert not attempts.finalize_if_expired(attempt, after, GRACE)


def test_finalize_expired_submits_only_attempts_past_deadline_and_grace(questions, make_user):
    now = clock.now()
    early, late = make_user(), make_user()
    exam = make_exam(roster=[early, late], now=now, time_limit_minutes=10)
    first = start(early, exam, now=now)
    second = start(late, exam, now=now + timedelta(minutes=5))
    moment = first.deadline_at + GRACE + timedelta(seconds=1)
    assert attempts.finalize_expired(moment, GRACE) == 1
    db.session.commit()
    db.session.expire_all()
    assert (first.status, second.status) == ("submitted", "in_progress")
    assert attempts.finalize_expired(moment, GRACE) == 0


def test_flask_exams_finalize(questions, learner, runner, monkeypatch):
    now = clock.now()
    attempt = start(learner, make_exam(roster=[learner], now=now, time_limit_minutes=10), now=now)
    result = runner.invoke(args=["exams", "finalize"])
    assert result.exit_code == 0 and "已自动交卷 0 份" in result.output
    later = now + timedelta(minutes=11)
    monkeypatch.setattr(clock, "now", lambda: later)
    result = runner.invoke(args=["exams", "finalize"])
    assert result.exit_code == 0 and "已自动交卷 1 份" in result.output, result.output
    db.session.expire_all()
    assert (attempt.status, attempt.submitted_by, attempt.score) == (
        "submitted",
        "deadline",
        Decimal(0),
    )


@pytest.mark.parametrize(
    "policy, subset_points, total",
    [("partial", Decimal(2), Decimal(2)), ("all_or_nothing", Decimal(0), Decimal(0))],
)
def test_the_multiple_choice_policy_reaches_the_total(
    questions, learner, policy, subset_points, total
):
    exam = make_exam(roster=[learner], multiple_policy=policy)
    attempt = start(learner, exam)
    item = items_by_question(attempt)[questions["multiple"].id]
    save(attempt, item, [correct_answer(questions["multiple"])[0]], 1)  # one of the two
    attempts.submit(attempt, clock.now(), "candidate")
    db.session.commit()
    assert item.earned == subset_points
    assert attempt.score == total and attempt.passed is False
    assert attempt.grade_label == scoring.FAIL_LABEL


def test_blanks_are_scored_per_blank_with_alternatives_and_width(questions, learner):
    attempt = start(learner, make_exam(roster=[learner]))
    item = items_by_question(attempt)[questions["fill_blank"].id]
    save(attempt, item, ["填空秘钥甲。", " 备选秘钥丙 "], 1)
    attempts.submit(attempt, clock.now(), "candidate")
    db.session.commit()
    assert item.earned == Decimal(2)


# --- assembly (bug fixes found while building the candidate side) ------------------------


def test_overlapping_sections_never_leave_a_later_section_short(make_user):
    """Section 1 draws single choice from anywhere, section 2 only from questions tagged
    宪法: a random draw for section 1 must not take what section 2 needs."""
    other = add_question("single", "普通题", ["甲", "乙"], [0])
    tagged = []
    for number in range(2):
        draft = QuestionDraft("single", f"宪法题{number}", ["甲", "乙"], [0], [], topics=["宪法"])
        tagged.append(bank.add_question(SYSTEM, draft))
    db.session.commit()
    topic_id = tagged[0].topics[0].id
    blueprint = setup.save_blueprint(
        SYSTEM,
        setup.BlueprintData(
            "重叠规则",
            [
                setup.SectionData("single", 1, Decimal(1)),
                setup.SectionData("single", 2, Decimal(1), topic_id=topic_id),
            ],
            random_per_candidate=True,
        ),
    )
    pools = assembly.section_pools(blueprint)
    for seed in range(40):
        drawn = assembly.draw(blueprint, pools, random.Random(seed))
        versions = {item.version_id: item.section for item in drawn}
        assert len(versions) == 3
        assert versions[other.current_version.id] == 0
        assert {versions[q.current_version.id] for q in tagged} == {1}


def test_a_fixed_paper_with_overlapping_sections_is_the_same_for_everyone(make_user):
    """Publishing freezes each section's own questions: no question may move to another
    section (worth other points) from one candidate to the next."""
    for number in range(3):
        add_question("single", f"普通题{number}", ["甲", "乙"], [0])
    for number in range(3):
        draft = QuestionDraft("single", f"宪法题{number}", ["甲", "乙"], [0], [], topics=["宪法"])
        bank.add_question(SYSTEM, draft)
    db.session.commit()
    topic_id = db.session.scalar(select(Topic.id))
    people = [make_user() for _ in range(6)]
    for seed in range(6):
        exam = make_exam(
            roster=people,
            sections=(("single", 2, 1), ("single", 2, 3, topic_id)),
            pass_mark=Decimal(1),
            grade_bands=[],
            seed=seed,
        )
        papers = {
            frozenset((i.question_version_id, i.points) for i in start(p, exam, seed=n).items)
            for n, p in enumerate(people)
        }
        assert len(papers) == 1, seed


def test_the_exact_matching_fills_crossing_sections():
    """Pools that cross (no narrowest-first order works every time): the matching still
    fills every section."""

    class Section:
        def __init__(self, count):
            self.count, self.points, self.question_type = count, Decimal(1), "single"

    class Plan:
        shuffle_questions = shuffle_choices = False

    # questions 1..4; section A may take 1,2,3; section B 2,3,4; section C 1,4
    pools = [
        [(1, 11, 2), (2, 12, 2), (3, 13, 2)],
        [(2, 12, 2), (3, 13, 2), (4, 14, 2)],
        [(1, 11, 2), (4, 14, 2)],
    ]
    Plan.sections = [Section(1), Section(2), Section(1)]
    for seed in range(60):
        drawn = assembly.draw(Plan, pools, random.Random(seed))
        assert len({item.version_id for item in drawn}) == 4
        for item in drawn:
            assert any(entry[1] == item.version_id for entry in pools[item.section])


# --- under concurrency ------------------------------------------------------------------


def _in_threads(app, count, work):
    """Run work(index) in `count` threads, each with its own app context (and so its own
    database session), released together; returns their results, re-raising failures."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(index):
        with app.app_context():
            try:
                barrier.wait()
                results[index] = work(index)
            except Exception as error:  # reported to the test below
                errors.append(error)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def concurrent(app):
    """The app, for tests whose threads each take their own app context. They run on
    both databases: PostgreSQL runs the transactions in parallel (row locks decide),
    SQLite lets one writer at a time through its database lock."""
    return app


def test_concurrent_saves_to_one_item_keep_the_highest_seq(questions, learner, concurrent):
    attempt = start(learner, make_exam(roster=[learner]))
    item = items_by_question(attempt)[questions["fill_blank"].id]
    seqs = list(range(1, 161))
    random.Random(5).shuffle(seqs)
    threads = 8
    share = [seqs[n::threads] for n in range(threads)]
    attempt_id, item_id, user_id = attempt.id, item.id, learner.id

    def work(index):
        acknowledged = []
        for seq in share[index]:
            result = attempts.save_answer(
                user_id, attempt_id, item_id, [str(seq), ""], seq, clock.now(), GRACE
            )
            db.session.commit()
            assert result.saved and result.seq >= seq
            acknowledged.append(seq)
        return acknowledged

    acknowledged = _in_threads(concurrent, threads, work)
    assert sorted(seq for batch in acknowledged for seq in batch) == list(range(1, 161))
    response = newest(attempt, item)
    assert (response.seq, response.answer) == (160, ["160", ""])


def test_a_submit_racing_saves_scores_once_and_counts_every_acknowledged_save(
    questions, learner, concurrent
):
    attempt = start(learner, make_exam(roster=[learner]))
    attempt_id, user_id = attempt.id, learner.id
    plan = []  # (item id, right answer, wrong answer)
    for question in questions.values():
        item = items_by_question(attempt)[question.id]
        right = correct_answer(question)
        choices = range(len(question.current_version.choices))
        wrong = (
            ["错"] * len(right)
            if question.type == "fill_blank"
            else [min(set(choices) - set(right))]
        )
        plan.append((item.id, right, wrong))
    savers = 6
    rounds = 40

    def work(index):
        if index == savers:  # the submitting thread, some way into the saves
            threading.Event().wait(0.05)
            submitted = attempts.submit(
                db.session.get(Attempt, attempt_id), clock.now(), "candidate"
            )
            db.session.commit()
            return ("submit", submitted)
        acknowledged = []
        for round_ in range(rounds):
            item_id, right, wrong = plan[(index + round_) % len(plan)]
            seq = round_ * savers + index + 1
            answer = right if (seq // 3) % 2 else wrong
            result = attempts.save_answer(
                user_id, attempt_id, item_id, answer, seq, clock.now(), GRACE
            )
            db.session.commit()
            if result.saved:
                acknowledged.append((item_id, seq))
            else:
                assert result.message == "本次作答已交卷，不能再修改答案。"
        return acknowledged

    results = _in_threads(concurrent, savers + 1, work)
    assert results[savers] == ("submit", True)
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.status == "submitted"
    # Every acknowledged save is held (or outrun by a newer acknowledged one) ...
    held = {
        r.item_id: r
        for r in db.session.scalars(select(Response).where(Response.attempt_id == attempt_id))
    }
    for batch in results[:savers]:
        for item_id, seq in batch:
            assert held[item_id].seq >= seq
    # ... and the score counted exactly what is held: nothing acknowledged after scoring.
    policy = types.MultiplePolicy(attempt.exam.multiple_policy)
    for item in attempt.items:
        response = held.get(item.id)
        expected = types.grade(
            types.Key.of(item.question_version),
            response.answer if response else None,
            item.points,
            policy,
        )
        assert item.earned == expected, item.position
    assert attempt.score == sum(item.earned for item in attempt.items)
    assert not attempts.submit(attempt, clock.now(), "candidate")


def test_two_concurrent_starts_make_one_attempt(questions, learner, concurrent):
    exam = make_exam(roster=[learner], random_per_candidate=True, shuffle_questions=True)
    exam_id, user_id = exam.id, learner.id

    def work(index):
        user = db.session.get(User, user_id)
        mine = db.session.get(Exam, exam_id)
        attempt = attempts.start_attempt(user, mine, clock.now(), random.Random(index))
        db.session.commit()
        return attempt.id

    ids = _in_threads(concurrent, 4, work)
    assert len(set(ids)) == 1
    assert db.session.scalar(select(func.count(Attempt.id))) == 1
    assert db.session.scalar(select(func.count(PaperItem.id))) == 5
