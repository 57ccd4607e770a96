"""The mock enforcement-certificate exam through the exam engine, and a learner's own
progress page: mastery per law from FSRS, and the readiness estimate on made-up histories."""

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fsrs import Card, Rating, Scheduler, State
from sqlalchemy import func, select

from core import clock
from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from question_bank import bank
from question_bank.drafts import LawRefDraft, QuestionDraft
from tests.factories import key_of
from training.exams import attempts
from training.exams.models import Exam, ExamKind, ExamStatus
from training.models import Setting
from training.study import memory, mock, notebook, practice, progress
from training.study.models import ReviewRecord

SMALL_FORMAT = {
    "province": "测试省",
    "time_limit_minutes": 45,
    "pass_mark": 6,
    "parts": [
        {"name": "公共法律知识", "topic": "公共法律知识", "sections": [["single", 2, 3]]},
        {"name": "专业法律知识", "topic": "专业法律知识", "sections": [["true_false", 2, 2]]},
    ],
}


def _tagged(kind: str, topic: str, number: int, law: str = "宪法"):
    draft = QuestionDraft(
        kind,
        f"{topic}测试题{number}",
        ["甲", "乙", "丙"] if kind == "single" else ["正确", "错误"],
        [0],
        [],
        law_refs=[LawRefDraft(law, None, number)],
        topics=[topic],
    )
    question = bank.add_question(SYSTEM, draft)
    db.session.commit()
    return question


@pytest.fixture
def mock_bank(law):
    public = [_tagged("single", "公共法律知识", n) for n in range(1, 5)]
    special = [_tagged("true_false", "专业法律知识", n) for n in range(5, 9)]
    return public, special


# --- the mock exam --------------------------------------------------------------------------


def test_the_default_format_is_the_real_one():
    fmt = mock.read_format(mock.DEFAULT_FORMAT)
    assert [part.name for part in fmt.parts] == ["公共法律知识", "专业法律知识"]
    assert fmt.total == 100 and fmt.pass_mark == 60 and fmt.time_limit_minutes > 0
    assert "闭卷" in mock.instructions(fmt) and "随机" in mock.instructions(fmt)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"parts": []}, "至少需要一个部分"),
        ({"pass_mark": 200}, "合格分应大于 0 且不超过满分"),
        ({"full_marks": 100}, "6 \\+ 4 = 10 分，与满分 100 分不符"),
        ({"time_limit_minutes": 5}, "考试时长应为 10–300 分钟"),
        ({"time_limit_minutes": 3000}, "考试时长应为 10–300 分钟"),
        ({"time_limit_minutes": "九十"}, "配置不完整或有误"),
        ({"parts": [{"name": "甲", "sections": [["single", 0, 1]]}]}, "题数应至少 1 题"),
        ({"parts": [{"name": "甲", "sections": [["unknown_type", 1, 1]]}]}, "不认识的题型"),
    ],
)
def test_a_bad_format_is_refused(change, message):
    with pytest.raises(mock.MockError, match=message):
        mock.read_format(SMALL_FORMAT | change)


def test_the_mock_is_drawn_timed_and_scored_by_the_exam_engine(mock_bank, learner, frozen_clock):
    public, special = mock_bank
    exam = mock.publish_mock(
        SYSTEM, mock.read_format(SMALL_FORMAT), frozen_clock.now, random.Random(1)
    )
    db.session.commit()
    assert exam.kind == ExamKind.ENFORCEMENT_MOCK.value and exam.status == "published"
    assert exam.time_limit_minutes == 45 and exam.pass_mark == 6
    assert exam.blueprint.random_per_candidate and exam.retake_after_pass
    attempt = mock.start_mock(learner, frozen_clock.now, random.Random(2))
    db.session.commit()
    assert attempt.deadline_at == frozen_clock.now + timedelta(minutes=45)
    drawn = [item.question_version.question_id for item in attempt.items]
    assert len(drawn) == 4 and attempt.max_score == 10
    assert len(set(drawn) & {q.id for q in public}) == 2
    assert len(set(drawn) & {q.id for q in special}) == 2
    # Resumed, not a second paper.
    assert mock.start_mock(learner, frozen_clock.now, random.Random(3)).id == attempt.id
    for seq, item in enumerate(attempt.items, start=1):
        version = item.question_version
        answer = [1] if version.type == "single" else key_of(version)  # public part all wrong
        assert attempts.save_answer(
            learner.id, attempt.id, item.id, answer, seq, frozen_clock.now, timedelta(0)
        ).saved
    attempts.submit(attempt, frozen_clock.now, "candidate")
    db.session.commit()
    assert attempt.score == Decimal(4) and attempt.passed is False
    # Its wrong answers go to the notebook at once (a mock is practice).
    assert set(notebook.question_ids(learner.id, frozen_clock.now)) == set(drawn) & {
        q.id for q in public
    }
    # Taken again as often as the learner likes, a fresh paper each time.
    again = mock.start_mock(learner, frozen_clock.now, random.Random(4))
    assert again.id != attempt.id and again.number == 2


def test_publishing_a_new_format_closes_the_old_mock(mock_bank, frozen_clock):
    first = mock.publish_mock(
        SYSTEM, mock.read_format(SMALL_FORMAT), frozen_clock.now, random.Random(1)
    )
    second = mock.publish_mock(
        SYSTEM,
        mock.read_format(SMALL_FORMAT | {"time_limit_minutes": 60}),
        frozen_clock.now,
        random.Random(1),
    )
    db.session.commit()
    assert db.session.get(Exam, first.id).status == ExamStatus.CLOSED.value
    assert mock.current_mock(frozen_clock.now).id == second.id


def test_a_format_whose_topic_the_bank_lacks_is_refused(law, frozen_clock):
    with pytest.raises(mock.MockError, match="还没有知识点「公共法律知识」"):
        mock.publish_mock(
            SYSTEM, mock.read_format(SMALL_FORMAT), frozen_clock.now, random.Random(1)
        )


def test_no_mock_published_is_a_chinese_message(client, login_as):
    login_as(Role.LEARNER)
    response = client.post("/practice/mock", follow_redirects=True)
    assert "目前没有开放的执法证模拟考试" in response.text


def test_starting_the_mock_from_the_practice_page(client, login_as, mock_bank, frozen_clock):
    mock.publish_mock(SYSTEM, mock.read_format(SMALL_FORMAT), frozen_clock.now, random.Random(1))
    db.session.commit()
    user = login_as(Role.LEARNER)
    page = client.get("/practice/")
    assert "执法证模拟考试（测试省）" in page.text and "公共法律知识 6 分" in page.text
    started = client.post("/practice/mock")
    assert started.status_code == 302 and "/attempts/" in started.location
    assert mock.open_mock_attempt(user.id) is not None


# --- the format page (a system admin's) ------------------------------------------------------

#: SMALL_FORMAT as the page's form sends it
SMALL_FORM = {
    "province": "测试省",
    "full_marks": "10",
    "pass_mark": "6",
    "time_limit_minutes": "45",
    "part1_name": "公共法律知识",
    "part1_topic": "公共法律知识",
    "part1_single_count": "2",
    "part1_single_points": "3",
    "part2_name": "专业法律知识",
    "part2_topic": "专业法律知识",
    "part2_true_false_count": "2",
    "part2_true_false_points": "2",
}


def test_an_admin_edits_the_format_which_is_published_kept_and_audited(
    client, login_as, mock_bank, app, frozen_clock
):
    login_as(Role.SYSTEM_ADMIN)
    page = client.get("/practice/mock-format")
    assert page.status_code == 200 and "通用格式" in page.text  # the default until saved
    saved = client.post("/practice/mock-format", data=SMALL_FORM, follow_redirects=True)
    assert "已保存并发布" in saved.text
    exam = mock.current_mock(frozen_clock.now)
    assert exam.time_limit_minutes == 45 and exam.pass_mark == 6
    assert exam.blueprint.max_score == 10
    fmt = mock.configured_format(app.config)
    assert (fmt.province, fmt.total, fmt.pass_mark) == ("测试省", 10, 6)
    assert [part.sections for part in fmt.parts] == [
        (("single", 2, Decimal(3)),),
        (("true_false", 2, Decimal(2)),),
    ]
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "practice.mock_format.save")
    )
    assert entry.object_id == str(exam.id) and "测试省" in entry.summary
    before, after = json.loads(entry.detail)["format"]
    assert before.startswith("通用格式") and after.startswith("测试省：满分 10，合格 6，45 分钟")
    assert "单选2题（每题3分）" in after
    # The page shows what is kept; a second format replaces the first mock.
    assert 'value="测试省"' in client.get("/practice/mock-format").text
    client.post("/practice/mock-format", data=SMALL_FORM | {"time_limit_minutes": "60"})
    assert mock.current_mock(frozen_clock.now).time_limit_minutes == 60
    db.session.refresh(exam)
    assert exam.status == ExamStatus.CLOSED.value


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"full_marks": "100"}, "与满分 100 分不符"),
        ({"pass_mark": "12"}, "合格分应大于 0 且不超过满分"),
        ({"time_limit_minutes": "5"}, "考试时长应为 10–300 分钟"),
        ({"part1_topic": ""}, "请填写抽题的知识点"),
        ({"part1_single_count": "-1"}, "题数应为 0–200"),
        ({"part1_single_count": "0"}, "至少一种题型"),
        ({"part1_single_count": "9", "full_marks": "31"}, "题库不足"),
        ({"part2_topic": "没有这个知识点"}, "题库中还没有知识点「没有这个知识点」"),
    ],
)
def test_a_bad_format_on_the_page_says_why_and_changes_nothing(
    client, login_as, mock_bank, app, frozen_clock, change, message
):
    login_as(Role.SYSTEM_ADMIN)
    response = client.post("/practice/mock-format", data=SMALL_FORM | change)
    assert response.status_code == 200 and message in response.text
    assert db.session.get(Setting, mock.FORMAT_KEY) is None
    assert mock.published_mocks() == []
    assert (
        db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "practice.mock_format.save")
        )
        is None
    )


def test_publish_mock_command(runner, mock_bank, app):
    app.config["ENFORCEMENT_MOCK_FORMAT"] = SMALL_FORMAT
    result = runner.invoke(args=["practice", "publish-mock"])
    assert result.exit_code == 0, result.output
    assert "已发布" in result.output
    assert mock.current_mock(clock.now()) is not None


# --- readiness on made-up histories -----------------------------------------------------------


def test_wilson_interval_matches_the_textbook_values():
    low, high = progress.wilson(90, 100)
    assert (round(low, 4), round(high, 4)) == (0.8256, 0.9448)
    low, high = progress.wilson(0, 10)
    assert low == 0 and round(high, 4) == 0.2775


@pytest.mark.parametrize(
    ("right", "total", "verdict"),
    [
        (20, 29, "insufficient"),  # too few to say, however good
        (90, 100, "likely"),
        (30, 100, "unlikely"),
        (30, 50, "uncertain"),  # 60% on 50 questions: the interval straddles the mark
        (75, 100, "likely"),
        (66, 100, "uncertain"),
    ],
)
def test_readiness_on_made_up_histories(right, total, verdict):
    outcomes = [True] * right + [False] * (total - right)
    estimate = progress.readiness(outcomes)
    assert estimate.verdict == verdict
    assert estimate.questions == total and estimate.right == right
    if verdict != "insufficient":
        assert estimate.low <= right / total <= estimate.high


def _practise(user, question, correct, when):
    """Serve the question at `when` and answer it a minute later, as the pages do."""
    practice._serve(user.id, question.id, practice.parse_choice({"mode": "random"}), when)
    given = [0] if correct else [1]
    practice.answer(user.id, question.id, given, "random", when + timedelta(minutes=1))
    db.session.commit()


def test_recent_outcomes_count_each_question_once_and_only_recent(law, learner, frozen_clock):
    now = frozen_clock.now
    questions = [_tagged("single", "公共法律知识", n) for n in range(1, 4)]
    _practise(learner, questions[2], True, now - timedelta(days=90))  # too old
    _practise(learner, questions[0], False, now - timedelta(days=3))
    _practise(learner, questions[1], False, now - timedelta(days=2))
    _practise(learner, questions[0], True, now - timedelta(days=1))  # the latest counts
    assert progress.recent_outcomes(learner.id, now) == [True, False]
    assert db.session.scalar(select(func.count()).select_from(ReviewRecord)) == 4  # all logged


# --- mastery and the page -----------------------------------------------------------------------


def test_mastery_per_law_from_retrievability_against_the_target(law, learner, frozen_clock):
    qs = [_tagged("single", "公共法律知识", n) for n in range(1, 5)]
    other = _tagged("single", "专业法律知识", 9, law="行政处罚法")
    start = frozen_clock.now
    library = Scheduler(desired_retention=0.9, enable_fuzzing=False)
    cards = {}
    for question, seconds, given, rating in (
        (qs[0], 60, [0], Rating.Good),
        (qs[1], 1, [0], Rating.Easy),
        (qs[2], 60, [1], Rating.Again),
    ):
        practice._serve(learner.id, question.id, practice.parse_choice({"mode": "random"}), start)
        practice.answer(
            learner.id, question.id, given, "random", start + timedelta(seconds=seconds)
        )
        db.session.commit()
        card = Card(card_id=1, due=(start + timedelta(seconds=seconds)).replace(tzinfo=UTC))
        cards[question.id] = library.review_card(
            card, rating, review_datetime=(start + timedelta(seconds=seconds)).replace(tzinfo=UTC)
        )[0]
    later = start + timedelta(days=3, minutes=5)  # the library counts whole days
    expected = sum(
        card.state == State.Review
        and library.get_card_retrievability(card, later.replace(tzinfo=UTC)) >= 0.9
        for card in cards.values()
    )
    assert expected == 1  # only the Easy one is learnt, and still above 0.9 after 3 days
    laws = {entry.name: entry for entry in progress.mastery(learner.id, later, 0.9)}
    assert laws["宪法"].questions == 4 and laws["宪法"].practised == 3
    assert laws["宪法"].mastered == expected and laws["宪法"].share == 0.25
    assert laws["行政处罚法"].practised == 0 and laws["行政处罚法"].questions == 1
    # The same day, the wrong answer and the first Good (still learning) are not mastered
    # although the library gives every card reviewed today retrievability 1.
    assert {e.name: e.mastered for e in progress.mastery(learner.id, start, 0.9)}["宪法"] == 1
    assert other


def test_progress_page_shows_mastery_due_mistakes_and_how_readiness_is_computed(
    client, login_as, law, frozen_clock
):
    user = login_as(Role.LEARNER)
    question = _tagged("single", "公共法律知识", 1)
    practice._serve(
        user.id, question.id, practice.parse_choice({"mode": "random"}), frozen_clock.now
    )
    practice.answer(user.id, question.id, [1], "random", frozen_clock.now)
    db.session.commit()
    page = client.get("/practice/progress")
    assert page.status_code == 200
    assert 'data-progress="due">1<' in page.text
    assert 'data-progress="mistakes">1<' in page.text
    assert 'data-law="宪法"' in page.text
    assert 'data-readiness="insufficient"' in page.text
    assert "Wilson" in page.text and "每道题只取最近一次" in page.text


def test_the_progress_page_reads_the_persons_cards_twice(law, learner, frozen_clock, count_queries):
    """Mastery per law, the bank's questions per law, all the cards and those due today are
    one statement, readiness the other; a card of a question retired since counts as a card
    and as due, towards no law."""
    kept, retired = (_tagged("single", "公共法律知识", n) for n in (1, 2))
    for question in (kept, retired):
        _practise(learner, question, False, frozen_clock.now)
    bank.retire(SYSTEM, retired)
    db.session.commit()
    with count_queries() as statements:
        state = progress.progress(learner.id, frozen_clock.now, mock.configured_format({}))
    assert sum("practice_cards" in statement for statement in statements) == 2, statements
    # ... and the bank's totals per law come with the person's cards, not counted apart
    assert sum("FROM questions" in statement for statement in statements) == 1, statements
    assert state.cards == 2 and state.due == 2
    assert [(entry.name, entry.questions, entry.practised) for entry in state.laws] == [
        ("宪法", 1, 1)
    ]


def test_the_person_s_cards_are_read_from_the_index_alone(app, law, learner, frozen_clock):
    """On PostgreSQL the index of a person's cards by due time carries what mastery and
    readiness read (no heap page per card: a person's cards lie scattered over the
    table, answered over months among everyone else's)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("an index with INCLUDE columns is PostgreSQL's")
    for number in range(1, 4):
        _practise(learner, _tagged("single", "公共法律知识", number), number != 2, frozen_clock.now)
    user_id = learner.id
    db.session.remove()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE practice_cards")
    statements = []

    def note(connection, cursor, statement, parameters, *args):
        if "practice_cards" in statement and statement.lstrip().startswith("SELECT"):
            statements.append((statement, parameters))

    from sqlalchemy import event

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        progress.progress(user_id, frozen_clock.now, mock.configured_format({}))
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert len(statements) == 2
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
    for statement, parameters in statements:
        plan = "\n".join(
            row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)
        )
        assert "Index Only Scan using ix_practice_cards_user_due" in plan, plan
    db.session.rollback()


@pytest.mark.parametrize("retention", [0.8, 0.9, 0.97])
def test_recall_days_agree_with_the_librarys_retrievability(retention):
    library = Scheduler(desired_retention=retention, enable_fuzzing=False)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for stability in (0.2, 1.0, 2.3065, 8.3, 40.0, 365.0):
        card = Card(card_id=1, stability=stability, last_review=start)
        for days in range(0, 400, 3):
            by_library = library.get_card_retrievability(card, start + timedelta(days=days))
            assert (by_library >= retention) == (
                days <= stability * memory.recall_days(1.0, retention)
            )


def test_a_question_counts_for_the_law_its_current_version_cites_first(law, learner):
    question = _tagged("single", "公共法律知识", 1)
    assert progress.queries.active_counts_by_law() == {question.law_id: 1}
    draft = bank.current_draft(question)
    draft.law_refs = [LawRefDraft("行政处罚法", None, 3), LawRefDraft("宪法", None, 1)]
    bank.edit_question(SYSTEM, question, draft)
    db.session.commit()
    penalty = question.current_version.citations[0].law_version.law_id
    assert question.law_id == penalty
    assert progress.queries.active_counts_by_law() == {penalty: 1}
    bank.retire(SYSTEM, question)
    db.session.commit()
    assert progress.queries.active_counts_by_law() == {}


def test_readiness_follows_the_deployments_mock_format():
    """A province whose mock is 150 points, 90 to pass: 66% right is 99 of 150."""
    outcomes = [True] * 66 + [False] * 34
    estimate = progress.readiness(outcomes, Decimal(150), Decimal(90))
    assert estimate.score(estimate.share) == "99" and estimate.pass_mark == 90
    assert progress.readiness([True] * 64 + [False] * 36, Decimal(100), Decimal(50)).verdict == (
        "likely"
    )


def test_the_practised_questions_index_leaves_out_every_marked_type():
    """Its predicate is written out (a migration's copy): a new marked type must be added."""
    from question_bank.models import PRACTISED_WITH_LAW
    from question_bank.types import MARKED_TYPES

    assert all(f"'{kind}'" in PRACTISED_WITH_LAW.text for kind in MARKED_TYPES)
