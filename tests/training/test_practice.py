"""Practice over the bank: the modes, immediate feedback, bad input, answers counted once,
no key of an open exam paper, the mistakes notebook, and FSRS memory states against the
library's own results."""

import random
from datetime import UTC, timedelta
from itertools import count

import pytest
from fsrs import Card, Rating, Scheduler
from sqlalchemy import func, select

from core import clock
from core.audit import SYSTEM
from core.extensions import db
from core.roles import Role
from question_bank import bank, queries
from question_bank.drafts import LawRefDraft, QuestionDraft
from question_bank.statutes.library import commit_law_import, plan_law_import
from tests.factories import make_exam, take
from training.exams import attempts
from training.exams.models import Exam, ExamKind, ReviewPolicy
from training.study import memory, notebook, practice
from training.study.models import (
    MemoryCard,
    Mistake,
    ReviewRecord,
    SequencePosition,
)

STATUTE = (
    "第一章　总纲\n第一条　第一条的条文。\n第二条　第二条的条文。\n"
    "第二章　权利\n第三条　第三条的条文。\n第四条　第四条的条文。\n"
).encode()


def _question(article: int, *, topic=None, difficulty=None, law="宪法", key=0, stem=None):
    draft = QuestionDraft(
        "single",
        stem or f"依据第{article}条，下列哪项正确？",
        ["甲项", "乙项", "丙项"],
        [key],
        [],
        explanation=f"解析：见《宪法》第{article}条。",
        difficulty=difficulty,
        law_refs=[LawRefDraft(law, "2018年修正" if law == "宪法" else None, article)],
        topics=[topic] if topic else [],
    )
    question = bank.add_question(SYSTEM, draft)
    db.session.commit()
    return question


@pytest.fixture
def statute(law):
    commit_law_import(SYSTEM, plan_law_import(STATUTE, "宪法.txt", "宪法", "2018年修正"))
    db.session.commit()
    return law


@pytest.fixture
def sequence(statute):
    """Four questions of 宪法, created out of the law's order."""
    return {3: _question(3), 1: _question(1), 4: _question(4), 2: _question(2)}


_seeds = count(1)


def _serve(user, mode="random", now=None, **args):
    """Serve as the view does; each call draws with the next seed (reproducible runs)."""
    choice = practice.parse_choice({"mode": mode, **args})
    served = practice.next_question(user.id, choice, now or _now(), random.Random(next(_seeds)))
    db.session.commit()
    return served


def _answer(user, question_id, given, now=None, mode="random"):
    feedback = practice.answer(user.id, question_id, given, mode, now or _now())
    db.session.commit()
    return feedback


def _now():
    from core import clock

    return clock.now()


def _counts(user):
    return {
        model.__name__: db.session.scalar(
            select(func.count()).select_from(model).where(model.user_id == user.id)
        )
        for model in (MemoryCard, ReviewRecord, Mistake, SequencePosition)
    }


# --- modes -----------------------------------------------------------------------------


def test_sequential_follows_the_chapters_of_the_library_and_resumes(sequence, learner):
    law_id = sequence[1].current_version.citations[0].law_version.law_id
    order = []
    for _ in range(2):
        served = _serve(learner, "sequential", law=law_id)
        order.append(served.question_id)
        _answer(learner, served.question_id, [0], mode="sequential")
    assert served.chapter == "第一章　总纲" and served.total == 4 and served.done == 1
    # A new session resumes after the last answered question: chapter two next.
    served = _serve(learner, "sequential", law=law_id)
    assert served.chapter == "第二章　权利"
    order.append(served.question_id)
    assert order == [sequence[1].id, sequence[2].id, sequence[3].id]
    assert practice.chapters(law_id) == [("第一章　总纲", 2), ("第二章　权利", 2)]
    # A law the library has no text of: one run by article number.
    other = _question(7, law="行政处罚法")
    _question(5, law="行政处罚法")
    other_law = other.current_version.citations[0].law_version.law_id
    assert practice.chapters(other_law) == [("（条文未导入，按条号排列）", 2)]
    assert _serve(learner, "sequential", law=other_law).question_id != other.id


def test_sequential_progress_never_moves_backwards(sequence, learner):
    law_id = sequence[1].current_version.citations[0].law_version.law_id
    first = _serve(learner, "sequential", law=law_id)
    _answer(learner, first.question_id, [0], mode="sequential")
    second = _serve(learner, "sequential", law=law_id)
    third_choice = practice.parse_choice({"mode": "sequential", "law": law_id})
    # Answer the second, then answer an older served question again via a fresh serve of
    # the chapter: the position stays at the furthest point.
    _answer(learner, second.question_id, [0], mode="sequential")
    chapter_one = _serve(learner, "sequential", law=law_id, chapter="第一章　总纲")
    assert chapter_one.question_id == sequence[1].id  # a chapter has its own position
    _answer(learner, chapter_one.question_id, [0], mode="sequential")
    position = db.session.get(SequencePosition, (learner.id, law_id, ""))
    assert position.rank[1] == 2
    served = practice.next_question(learner.id, third_choice, _now(), random.Random(1))
    assert served.question_id == sequence[3].id


def test_each_mode_draws_only_its_questions(law, learner):
    easy = _question(1, difficulty=1, topic="追责时效")
    hard = _question(2, difficulty=5)
    other = _question(3, law="行政处罚法")
    assert {_serve(learner, "topic", topic=easy.topics[0].id).question_id for _ in range(5)} == {
        easy.id
    }
    assert _serve(learner, "difficulty", difficulty=5).question_id == hard.id
    law_id = other.current_version.citations[0].law_version.law_id
    assert _serve(learner, "random", law=law_id).question_id == other.id
    seen = {_serve(learner, "random").question_id for _ in range(40)}
    assert seen == {easy.id, hard.id, other.id}
    with pytest.raises(practice.PracticeError, match="还没有收藏"):
        _serve(learner, "starred")
    practice.set_star(learner.id, hard.id, True, _now())
    assert _serve(learner, "starred").question_id == hard.id
    with pytest.raises(practice.PracticeError, match="错题本是空的"):
        _serve(learner, "mistakes")
    _answer(learner, hard.id, [2])  # served by the starred mode; wrong
    assert _serve(learner, "mistakes").question_id == hard.id
    practice.set_star(learner.id, hard.id, False, _now())
    with pytest.raises(practice.PracticeError):
        _serve(learner, "starred")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"mode": "sideways"}, "没有这种练习方式"),
        ({"mode": ""}, "没有这种练习方式"),
        ({"mode": "sequential"}, "请先选择一部法律"),
        ({"mode": "topic", "topic": "x"}, "请选择一个知识点"),
        ({"mode": "difficulty", "difficulty": "9"}, "难度应为 1–5"),
        ({"mode": "random", "law": "99999"}, "所选法律不存在"),
    ],
)
def test_bad_choices_are_refused_in_chinese(app, args, message):
    with pytest.raises(practice.PracticeError, match=message):
        practice.parse_choice(args)


# --- feedback and bad input ------------------------------------------------------------


def _question_page(client, url="/practice/question?mode=random"):
    page = client.get(url)
    assert page.status_code == 200
    return page, int(page.text.split('name="question_id" value="')[1].split('"')[0])


def _post_answer(client, question_id, **data):
    return client.post(
        "/practice/answer",
        data={"question_id": question_id, "mode": "random", **data},
        headers={"Accept": "application/json"},
    )


def test_feedback_shows_right_or_wrong_the_key_explanation_and_linked_article(
    client, login_as, sequence
):
    login_as(Role.LEARNER)
    page, question_id = _question_page(client)
    assert "解析：" not in page.text  # no explanation (or key) before answering
    assert "js/practice.js" in page.text and "<noscript>" in page.text
    answered = _post_answer(client, question_id, choice="1")
    assert answered.status_code == 200
    feedback = answered.json
    assert feedback["correct"] is False and feedback["notebook"] == "已加入错题本"
    assert feedback["key"] == "A" and feedback["key_choices"] == [0]
    assert feedback["given"] == "B" and feedback["given_choices"] == [1]
    assert feedback["explanation"].startswith("解析：见")
    [law] = feedback["refs"]  # the cited article links to the library
    assert law["name"] == "宪法（2018年修正）" and law["places"][0]["url"].startswith("/laws/cite?")
    assert feedback["due"].endswith("（答错（重来））")


def test_feedback_from_a_worker_that_never_read_the_version_cites_its_article_alone(
    client, login_as, sequence
):
    """The claim brings the version's law references when this process has not read the
    version (the page was served by another worker): its own citations, not the bank's."""
    login_as(Role.LEARNER)
    _, question_id = _question_page(client)
    queries._VERSION_TEXTS.clear()
    feedback = _post_answer(client, question_id, choice="0").json
    [law] = feedback["refs"]
    assert len(law["places"]) == 1


def test_a_malformed_answer_changes_nothing_and_keeps_the_question(client, login_as, sequence):
    user = login_as(Role.LEARNER)
    _, question_id = _question_page(client)
    for data, message in (
        ({"choice": "7"}, "所选选项不是本题的选项"),
        ({"choice": ["0", "1"]}, "只能选一个选项"),
        ({"choice": "x"}, "答案应为所选选项的编号"),
        ({}, "请先作答再提交"),
        ({"mode": "nonsense", "choice": "0"}, "没有这种练习方式"),
    ):
        refused = _post_answer(client, question_id, **data)
        assert refused.status_code == 400 and message in refused.json["message"]
    assert _counts(user) == {
        "MemoryCard": 0,
        "ReviewRecord": 0,
        "Mistake": 0,
        "SequencePosition": 0,
    }
    right = _post_answer(client, question_id, choice="0")  # the question is still open
    assert right.json["correct"] is True and right.json["notebook"] == ""


def test_an_answer_is_the_session_query_the_claim_and_its_writes(app, client, login_as, sequence):
    """Whether the person is writing an exam comes with the session's query; the claim
    brings the version's text (this process has not read it: the page was served by
    another worker); on PostgreSQL the card, its review log and the notebook are written
    in one statement (three on SQLite); nothing is read again after the commit."""
    from sqlalchemy import event

    from question_bank import queries

    login_as(Role.LEARNER)
    _, question_id = _question_page(client)
    queries._VERSION_TEXTS.clear()
    statements = []

    def note(connection, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        answered = _post_answer(client, question_id, choice="1")  # wrong: into the notebook
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert answered.status_code == 200
    assert len(statements) == (3 if db.engine.dialect.name == "postgresql" else 5), statements


def test_an_answer_counts_once(sequence, learner):
    served = _serve(learner)
    _answer(learner, served.question_id, [1])
    with pytest.raises(practice.PracticeError, match="已经作答过"):
        _answer(learner, served.question_id, [1])
    db.session.rollback()
    assert _counts(learner)["ReviewRecord"] == 1


def test_a_question_retired_meanwhile_is_refused_and_nothing_moves(sequence, learner):
    law_id = sequence[1].current_version.citations[0].law_version.law_id
    _answer(learner, _serve(learner, "sequential", law=law_id).question_id, [0], mode="sequential")
    served = _serve(learner, "sequential", law=law_id)
    bank.retire(SYSTEM, db.session.get(type(sequence[1]), served.question_id))
    db.session.commit()
    before = _counts(learner)
    with pytest.raises(practice.PracticeError, match="停用") as refused:
        _answer(learner, served.question_id, [0], mode="sequential")
    assert refused.value.status == 409
    db.session.rollback()
    assert _counts(learner) == before
    assert db.session.get(SequencePosition, (learner.id, law_id, "")).rank[1] == 1
    # The retired question is skipped from now on.
    assert _serve(learner, "sequential", law=law_id).question_id == sequence[3].id


def test_unknown_mode_on_the_page_is_a_chinese_message(client, login_as):
    login_as(Role.LEARNER)
    response = client.get("/practice/question?mode=sideways", follow_redirects=True)
    assert "没有这种练习方式" in response.text


# --- an open exam paper ----------------------------------------------------------------


@pytest.fixture
def open_paper(law, learner):
    """Six questions, one exam of one of them that `learner` is writing now."""
    bank_questions = [_question(n) for n in range(1, 7)]
    exam = make_exam(sections=[("single", 1, 100)], roster=[learner])
    attempt = attempts.start_attempt(learner, exam, _now(), random.Random(1))
    db.session.commit()
    on_paper = attempt.items[0].question_version.question_id
    return bank_questions, on_paper, attempt


def test_practice_never_serves_or_checks_a_question_on_an_open_paper(open_paper, learner):
    _, on_paper, attempt = open_paper
    served = {_serve(learner).question_id for _ in range(60)}
    assert on_paper not in served and len(served) == 5
    # Served before the exam started (a row left from earlier practice): still refused.
    practice._serve(learner.id, on_paper, practice.parse_choice({"mode": "random"}), _now())
    db.session.commit()
    with pytest.raises(practice.PracticeError, match="作答的试卷上") as refused:
        _answer(learner, on_paper, [0])
    db.session.rollback()
    assert _counts(learner)["ReviewRecord"] == 0
    # The notebook hides its key too.
    notebook.note(
        learner.id, on_paper, attempt.items[0].question_version_id, False, "practice", _now(), 3
    )
    assert [e.hidden for e in notebook.entries(learner.id, _now())] == [True]
    assert refused.value.status == 409
    attempts.submit(attempt, _now(), "candidate")
    db.session.commit()
    # Handed in, the exam shows no answers: still hidden (others may be writing it).
    assert [e.hidden for e in notebook.entries(learner.id, _now())] == [True]


@pytest.mark.parametrize("policy", ["score", "nothing", "answers_after_close"])
def test_a_handed_in_paper_stays_out_of_practice_until_the_exam_is_over(
    law, learner, make_user, frozen_clock, policy
):
    bank_questions = [_question(n) for n in range(1, 5)]
    other = make_user(name="乙")
    exam = make_exam(sections=[("single", 2, 50)], roster=[learner, other], review_policy=policy)
    take(learner, exam)
    writing = attempts.start_attempt(other, exam, _now(), random.Random(2))  # 乙 still writing
    db.session.commit()
    paper = {question.id for question in bank_questions} - {
        _serve(learner).question_id for _ in range(40)
    }
    assert len(paper) == 2  # the two questions of 甲's handed-in paper never come up
    frozen_clock.now = exam.closes_at + timedelta(minutes=1)  # closed, but 乙 still writing
    assert {_serve(learner).question_id for _ in range(40)}.isdisjoint(paper)
    attempts.submit(writing, _now(), "candidate")
    db.session.commit()
    # Over: they come back, whatever the review policy (the rest of the bank never left).
    assert paper <= {_serve(learner).question_id for _ in range(60)}


def test_a_mock_or_module_quiz_paper_is_practised_once_handed_in(law, learner):
    bank_questions = [_question(n) for n in range(1, 4)]
    exam = make_exam(sections=[("single", 3, 30)], roster=[learner], kind="enforcement_mock")
    take(learner, exam)
    served = {_serve(learner).question_id for _ in range(40)}
    assert served == {question.id for question in bank_questions}


def test_a_cases_sub_questions_are_not_practised_without_their_material(law, learner):
    from tests.factories import add_case

    add_case(parts=3)
    lone = _question(1)
    served = {_serve(learner).question_id for _ in range(20)}
    assert served == {lone.id}


def test_practice_pages_are_closed_while_writing_an_exam(client, auth, open_paper, learner):
    auth.login(learner)
    response = client.get("/practice/")
    assert response.status_code == 403 and "正在进行的考试" in response.text


# --- the mistakes notebook -------------------------------------------------------------


def test_wrong_answers_land_in_the_notebook_and_leave_after_three_right(sequence, learner):
    question = sequence[1]

    def attempt_once(given):
        practice._serve(learner.id, question.id, practice.parse_choice({"mode": "random"}), _now())
        return _answer(learner, question.id, given).notebook

    assert attempt_once([1]) == "added"
    assert attempt_once([0]) == "streak"
    assert attempt_once([2]) == "again"  # a wrong answer starts the count again
    assert db.session.get(Mistake, (learner.id, question.id)).wrong_count == 2
    assert [attempt_once([0]) for _ in range(3)] == ["streak", "streak", "left"]
    assert db.session.get(Mistake, (learner.id, question.id)) is None


def test_the_count_to_leave_is_the_persons_setting(sequence, learner):
    practice.save_settings(learner.id, 0.9, 1)
    question = sequence[2]
    for given, outcome in (([1], "added"), ([0], "left")):
        practice._serve(learner.id, question.id, practice.parse_choice({"mode": "random"}), _now())
        assert _answer(learner, question.id, given).notebook == outcome


def test_removing_by_hand(client, login_as, sequence):
    user = login_as(Role.LEARNER)
    notebook.note(
        user.id, sequence[1].id, sequence[1].current_version.id, False, "practice", _now(), 3
    )
    db.session.commit()
    page = client.get("/practice/mistakes")
    assert f'data-mistake="{sequence[1].id}"' in page.text
    client.post(f"/practice/mistakes/{sequence[1].id}/remove")
    assert db.session.get(Mistake, (user.id, sequence[1].id)) is None
    again = client.post(f"/practice/mistakes/{sequence[1].id}/remove", follow_redirects=True)
    assert "不在错题本中" in again.text


def test_exam_mistakes_land_once_the_review_shows_answers(law, learner, frozen_clock):
    for n in range(1, 3):
        _question(n)
    exam = make_exam(
        sections=[("single", 2, 50)],
        roster=[learner],
        review_policy=ReviewPolicy.ANSWERS_AFTER_CLOSE.value,
        pass_mark=60,
        grade_bands=[],
    )
    attempt = take(learner, exam, answers={"single": [2]})  # both wrong
    assert notebook.collect_exam_mistakes(learner.id, frozen_clock.now) == 0
    assert notebook.count(learner.id, frozen_clock.now) == 0  # still open: no answers yet
    frozen_clock.now = exam.closes_at + timedelta(minutes=1)
    assert notebook.collect_exam_mistakes(learner.id, frozen_clock.now) == 1
    assert notebook.count(learner.id, frozen_clock.now) == 2
    assert {m.source for m in db.session.scalars(select(Mistake))} == {"exam"}
    # Each attempt once.
    assert notebook.collect_exam_mistakes(learner.id, frozen_clock.now) == 0
    assert {m.version_id for m in db.session.scalars(select(Mistake))} == {
        item.question_version_id for item in attempt.items
    }


def test_exam_mistakes_are_in_the_notebook_wherever_the_person_first_looks(
    client, login_as, law, frozen_clock
):
    """Not only once the practice pages are opened: the home page's count and the
    mistakes mode see them too, from the moment the exam's review shows the answers."""
    user = login_as(Role.LEARNER)
    for n in range(1, 3):
        _question(n)
    exam = make_exam(
        sections=[("single", 2, 50)],
        roster=[user],
        review_policy=ReviewPolicy.ANSWERS_AFTER_CLOSE.value,
        pass_mark=60,
        grade_bands=[],
        closes_at=frozen_clock.now + timedelta(minutes=5),
    )
    attempt = take(user, exam, answers={"single": [2]})
    assert "错题本 0 题" in client.get("/").text
    frozen_clock.now = exam.closes_at + timedelta(minutes=1)
    assert "错题本 2 题" in client.get("/").text
    served = client.get("/practice/question?mode=mistakes")
    assert served.status_code == 200
    drawn = {item.question_version.question_id for item in attempt.items}
    assert any(f'name="question_id" value="{q}"' in served.text for q in drawn)


def test_an_attempt_awaiting_marks_waits_for_them(law, learner, frozen_clock):
    _question(1)
    exam = make_exam(
        sections=[("single", 1, 100)],
        roster=[learner],
        review_policy=ReviewPolicy.ANSWERS_AFTER_CLOSE.value,
        pass_mark=60,
        grade_bands=[],
    )
    attempt = take(learner, exam, answers={"single": [2]})
    attempt.awaiting_marks = True  # as a written answer leaves it
    db.session.commit()
    frozen_clock.now = exam.closes_at + timedelta(minutes=1)
    assert notebook.count(learner.id, frozen_clock.now) == 0
    attempt.awaiting_marks = False  # marked
    db.session.commit()
    assert notebook.count(learner.id, frozen_clock.now) == 1


def test_exam_with_scores_only_never_shows_its_mistakes(law, learner, frozen_clock):
    _question(1)
    exam = make_exam(sections=[("single", 1, 100)], roster=[learner], pass_mark=60, grade_bands=[])
    take(learner, exam, answers={"single": [2]})
    frozen_clock.now = exam.closes_at + timedelta(days=1)
    assert notebook.collect_exam_mistakes(learner.id, frozen_clock.now) == 0
    assert notebook.count(learner.id, frozen_clock.now) == 0


def test_mock_exam_mistakes_land_at_once(law, learner, frozen_clock):
    _question(1)
    exam = make_exam(
        sections=[("single", 1, 100)],
        roster=[learner],
        kind=ExamKind.ENFORCEMENT_MOCK.value,
        pass_mark=60,
        grade_bands=[],
    )
    take(learner, exam, answers={"single": [2]})
    assert notebook.count(learner.id, frozen_clock.now) == 1
    assert [m.source for m in db.session.scalars(select(Mistake))] == ["mock"]
    assert db.session.get(Exam, exam.id).kind == "enforcement_mock"


# --- FSRS --------------------------------------------------------------------------------


def test_memory_states_and_due_dates_match_the_library_for_a_fixed_clock(
    sequence, learner, frozen_clock
):
    question = sequence[1]
    start = frozen_clock.now
    library = Scheduler(desired_retention=0.9, enable_fuzzing=False)
    card = None
    # (seconds after serving, answer, the rating that follows)
    steps = [(60, [1], Rating.Again), (60, [0], Rating.Good), (2, [0], Rating.Easy)]
    when = start
    for offset, (seconds, given, rating) in enumerate(steps):
        when = start + timedelta(days=offset * 3)
        frozen_clock.now = when
        practice._serve(learner.id, question.id, practice.parse_choice({"mode": "random"}), when)
        db.session.commit()
        frozen_clock.now = when + timedelta(seconds=seconds)
        feedback = _answer(learner, question.id, given, now=frozen_clock.now)
        assert feedback.rating == rating.value
        stored = db.session.scalar(select(MemoryCard).where(MemoryCard.user_id == learner.id))
        if card is None:
            card = Card(card_id=stored.id, due=frozen_clock.now.replace(tzinfo=UTC))
        card, _ = library.review_card(
            card, rating, review_datetime=frozen_clock.now.replace(tzinfo=UTC)
        )
        assert stored.due == card.due.replace(tzinfo=None)
        assert stored.stability == pytest.approx(card.stability)
        assert stored.difficulty == pytest.approx(card.difficulty)
        assert stored.state == card.state.value and stored.step == card.step
    logs = db.session.scalars(select(ReviewRecord).order_by(ReviewRecord.id)).all()
    assert [log.rating for log in logs] == [1, 3, 4]
    assert {log.card_id for log in logs} == {stored.id}
    assert [log.duration_ms for log in logs] == [60_000, 60_000, 2_000]
    # Retrievability as the library computes it.
    later = when + timedelta(days=20)
    assert memory.retrievability(stored.stability, stored.last_review, later, 0.9) == pytest.approx(
        library.get_card_retrievability(card, later.replace(tzinfo=UTC))
    )


def test_quick_is_judged_from_the_servers_serve_time(sequence, learner, frozen_clock):
    version = sequence[1].current_version
    within = memory.quick_seconds(version)
    assert within == 5 + (len(version.stem) + sum(map(len, version.choices))) / 10
    practice._serve(
        learner.id, sequence[1].id, practice.parse_choice({"mode": "random"}), frozen_clock.now
    )
    db.session.commit()
    frozen_clock.now += timedelta(seconds=within + 1)
    assert _answer(learner, sequence[1].id, [0], now=frozen_clock.now).rating == Rating.Good


def test_desired_retention_moves_due_dates(sequence, make_user, frozen_clock):
    dues = {}
    for retention in (0.80, 0.97):
        person = make_user()
        practice.save_settings(person.id, retention, 3)
        for step in range(2):
            practice._serve(
                person.id,
                sequence[1].id,
                practice.parse_choice({"mode": "random"}),
                frozen_clock.now,
            )
            db.session.commit()
            at = frozen_clock.now + timedelta(days=step * 5, minutes=5)
            dues[retention] = _answer(person, sequence[1].id, [0], now=at).due
    assert dues[0.97] < dues[0.80]


@pytest.mark.parametrize("retention", [0.79, 0.98])
def test_retention_outside_the_range_is_refused(learner, retention):
    with pytest.raises(practice.PracticeError, match=r"0\.80 到 0\.97"):
        practice.save_settings(learner.id, retention, 3)


def test_settings_page(client, login_as):
    user = login_as(Role.LEARNER)
    assert "0.9" in client.get("/practice/settings").text
    bad = client.post("/practice/settings", data={"retention": "0.5", "streak": "3"})
    assert "0.80 到 0.97" in bad.text
    client.post("/practice/settings", data={"retention": "0.85", "streak": "2"})
    assert practice.settings(user.id).desired_retention == 0.85
    assert practice.settings(user.id).mistake_streak == 2


def test_due_today_card_on_the_home_page(client, login_as, sequence, frozen_clock):
    # Noon in China: a card due again in minutes is due today whenever the suite runs
    # (within minutes of China's midnight, 16:00 UTC, it would be due tomorrow).
    today = clock.china_time(frozen_clock.now).date()
    frozen_clock.now = clock.china_day_bounds(today)[0] + timedelta(hours=12)
    user = login_as(Role.LEARNER)
    assert "今天没有到期的复习题" in client.get("/").text
    _answer(user, _serve(user).question_id, [2])  # wrong: due again in minutes
    home = client.get("/").text
    assert "data-due-today>1<" in home
    due = client.get("/practice/question?mode=due")
    assert due.status_code == 200


@pytest.mark.parametrize("back", ["//evil.example/", "/\\evil.example/", "https://evil.example/"])
def test_the_star_button_goes_back_only_to_a_page_of_this_site(client, login_as, law, back):
    login_as(Role.LEARNER)
    question = _question(1)
    response = client.post(f"/practice/questions/{question.id}/star", data={"back": back})
    assert response.status_code == 302 and response.location == "/practice/"
    kept = client.post(
        f"/practice/questions/{question.id}/star", data={"back": "/practice/mistakes"}
    )
    assert kept.location == "/practice/mistakes"


def test_the_practice_page_lists_the_laws_that_have_questions(client, login_as, law):
    login_as(Role.LEARNER)
    _question(1)
    page = client.get("/practice/").text
    assert "宪法 <span" in page and "1 题" in page
    assert "行政处罚法 <span" not in page  # registered, but no question cites it


def test_an_answer_to_a_question_of_a_handed_in_unreviewed_paper_is_refused(law, learner):
    for n in range(1, 3):
        _question(n)
    exam = make_exam(
        sections=[("single", 1, 100)],
        roster=[learner],
        review_policy="answers_after_close",
        pass_mark=60,
        grade_bands=[],
    )
    attempt = take(learner, exam)
    on_paper = attempt.items[0].question_version.question_id
    # Served from earlier practice, answered after the paper was handed in.
    practice._serve(learner.id, on_paper, practice.parse_choice({"mode": "random"}), _now())
    db.session.commit()
    with pytest.raises(practice.PracticeError, match="作答的试卷上"):
        _answer(learner, on_paper, [0])
    db.session.rollback()
    assert _counts(learner)["ReviewRecord"] == 0


def test_two_pages_opened_at_once_collect_a_mock_once(app, law, learner):
    """The home page and 练习 (or two tabs) both find the handed-in mock uncollected: one
    notes its mistakes, the other nothing (it failed on the key: a 500)."""
    from tests.training.test_attempts import _in_threads

    _question(1)
    exam = make_exam(
        sections=[("single", 1, 100)],
        roster=[learner],
        kind=ExamKind.ENFORCEMENT_MOCK.value,
        pass_mark=60,
        grade_bands=[],
    )
    take(learner, exam, answers={"single": [2]})
    user_id = learner.id

    def open_a_page(index):
        count = notebook.count(user_id, clock.now())
        db.session.commit()
        return count

    assert _in_threads(app, 2, open_a_page) == [1, 1]
    db.session.expire_all()
    assert [m.wrong_count for m in db.session.scalars(select(Mistake))] == [1]
